#include "plugins/exinfo/exinfo_plugin.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "daemon/sink.h"
#include "plugins/registry.h"
#include "support/dnsmasq.h"
#include "support/map_plugin_state.h"

#include "mmdb_fixture.h"

namespace nm {
namespace {

namespace fs = std::filesystem;

using Tags = std::vector<std::pair<std::string, std::string>>;
using Settings = std::map<std::string, std::string>;

IpAddr ip(const char* text) {
  IpAddr a;
  EXPECT_TRUE(IpAddr::parse(text, a)) << text;
  return a;
}

MacAddr mac(std::initializer_list<uint8_t> bytes) {
  MacAddr m;
  std::copy(bytes.begin(), bytes.end(), m.bytes.begin());
  return m;
}

const MacAddr kLaptop = mac({0xaa, 0xbb, 0xcc, 0x00, 0x00, 0x01});
const MacAddr kPhone = mac({0xaa, 0xbb, 0xcc, 0x00, 0x00, 0x02});

TaFlowEntry entry(const MacAddr* hw, const char* device, const char* remote, uint64_t hi,
                  uint64_t lo) {
  TaFlowEntry e;
  if (hw != nullptr) {
    e.hw_addr = *hw;
    e.has_hw_addr = true;
  }
  e.device = ip(device);
  e.sip = ip(remote);
  e.sport = 443;
  e.proto = 6;
  e.flow_hi = hi;
  e.flow_lo = lo;
  return e;
}

// The record of the brief: London from the laptop, a private peer, a public address the
// database lacks, and IPv6 Japan from a device without a MAC.
TaRecord record(int64_t ts_end) {
  TaRecord r;
  r.ts_start = ts_end - 5;
  r.ts_end = ts_end;
  r.data.push_back(entry(&kLaptop, "192.168.1.10", "81.2.69.160", 0x1, 0xa));
  r.data.push_back(entry(&kLaptop, "192.168.1.10", "192.168.1.1", 0x2, 0xb));
  r.data.push_back(entry(&kPhone, "192.168.1.11", "8.8.8.8", 0x3, 0xc));
  r.data.push_back(entry(nullptr, "2001:db8::5", "2001:218::1", 0x4, 0xd));
  return r;
}

RecordSummary summaryOf(const TaRecord& r) {
  RecordSummary s;
  s.deployment = "home";
  s.ts_start = r.ts_start;
  s.ts_end = r.ts_end;
  s.record = &r;
  return s;
}

Tags tags(const char* lat, const char* lng, const char* country, const char* connid,
          const char* device, const char* hits) {
  return {{"deployment", "home"}, {"lat", lat},       {"lng", lng},  {"country", country},
          {"connid", connid},     {"device", device}, {"hits", hits}};
}

constexpr const char* kLondonFlow = "0000000000000001000000000000000a";
constexpr const char* kJapanFlow = "0000000000000004000000000000000d";

using Fields = std::vector<std::pair<std::string, ExtraPoint::FieldValue>>;

// London's AS in asn.mmdb; the Japanese block has none.
const Fields kLondonFields = {
    {"metric", 1.0}, {"asn", int64_t{20712}}, {"as_org", std::string("Andrews & Arnold Ltd")}};
const Fields kJapanFields = {{"metric", 1.0}};

Fields withHost(Fields f, const char* host) {
  f.emplace_back("host", std::string(host));
  return f;
}

void expectPoint(const ExtraPoint& p, const Tags& expected_tags, const Fields& fields,
                 int64_t ts_ns) {
  EXPECT_EQ(p.measurement, "geometric");
  EXPECT_EQ(p.tags, expected_tags);
  EXPECT_EQ(p.fields, fields);
  EXPECT_EQ(p.ts_ns, ts_ns);
}

// The `host` field of a point, "" without one.
std::string hostOf(const ExtraPoint& p) {
  for (const auto& [k, v] : p.fields) {
    if (k == "host") {
      return std::get<std::string>(v);
    }
  }
  return "";
}

// Databases written by write_test_mmdb.pl once per test binary run (as geoip_test.cc does).
class ExinfoPluginTest : public test::GeneratedMmdbTest {
 protected:
  Settings baseSettings() const {
    // No reverse DNS unless a test gives it its own server: unit tests send no queries out.
    return {{"MMGEOIP_CITY_DB", file("city.mmdb")},
            {"MMGEOIP_ASN_DB", file("asn.mmdb")},
            {"EXINFO_RDNS", "off"}};
  }

  // init() with `settings`; returns the error ("" on success).
  std::string init(ExinfoPlugin& plugin, const Settings& settings, PluginState* state = nullptr) {
    settings_ = settings;
    std::string error;
    const bool ok = plugin.init(PluginContext{settings_, metrics_, state, "ctx"}, error);
    EXPECT_EQ(ok, error.empty()) << error;
    return error;
  }

  uint64_t counter(const char* name, const char* key = nullptr, const char* value = nullptr) {
    if (key == nullptr) {
      return metrics_.counter(name, "").value();
    }
    return metrics_.counter(name, "", {{key, value}}).value();
  }
  uint64_t skipped(const char* reason) {
    return counter("netmicroscope_exinfo_skipped_total", "reason", reason);
  }

  MetricsRegistry metrics_;
  Settings settings_;
};

TEST_F(ExinfoPluginTest, EmitsGeometricPointsForPublicLocatedPeers) {
  ExinfoPlugin plugin;
  ASSERT_EQ(init(plugin, baseSettings()), "");
  EXPECT_TRUE(plugin.active());
  EXPECT_EQ(plugin.priority(), 20);
  EXPECT_EQ(plugin.name(), "exinfo");

  const TaRecord r = record(1700000000);
  RecordSummary s = summaryOf(r);
  plugin.process(s);
  ASSERT_EQ(s.extra_points.size(), 2u);
  const int64_t ts = 1700000000LL * 1'000'000'000LL;
  expectPoint(s.extra_points[0],
              tags("51.5142", "-0.0931", "GB", kLondonFlow, "aa:bb:cc:00:00:01", "1"),
              kLondonFields, ts);
  expectPoint(s.extra_points[1], tags("35.6900", "139.6900", "JP", kJapanFlow, "2001:db8::5", "1"),
              kJapanFields, ts);

  EXPECT_EQ(counter("netmicroscope_exinfo_points_total"), 2u);
  EXPECT_EQ(skipped("not_public"), 1u);
  EXPECT_EQ(skipped("no_location"), 1u);
  EXPECT_EQ(skipped("device_list"), 0u);
  EXPECT_EQ(counter("netmicroscope_exinfo_cache_total", "result", "miss"), 3u);
  EXPECT_EQ(counter("netmicroscope_exinfo_cache_total", "result", "hit"), 0u);
}

TEST_F(ExinfoPluginTest, HitsCountRecordsPerFlowAndCacheAnswersRepeats) {
  ExinfoPlugin plugin;
  ASSERT_EQ(init(plugin, baseSettings()), "");
  const TaRecord first = record(100);
  RecordSummary s1 = summaryOf(first);
  plugin.process(s1);

  // The London flow continues, the Japan flow is gone, a new flow to London starts.
  TaRecord second;
  second.ts_end = 105;
  second.data.push_back(entry(&kLaptop, "192.168.1.10", "81.2.69.160", 0x1, 0xa));
  second.data.push_back(entry(&kLaptop, "192.168.1.10", "81.2.69.161", 0x5, 0xe));
  RecordSummary s2 = summaryOf(second);
  plugin.process(s2);
  RecordSummary s3 = summaryOf(second);
  s3.ts_end = 110;
  plugin.process(s3);

  ASSERT_EQ(s2.extra_points.size(), 2u);
  EXPECT_EQ(s2.extra_points[0].tags,
            tags("51.5142", "-0.0931", "GB", kLondonFlow, "aa:bb:cc:00:00:01", "2"));
  EXPECT_EQ(s2.extra_points[1].tags,
            tags("51.5142", "-0.0931", "GB", "0000000000000005000000000000000e",
                 "aa:bb:cc:00:00:01", "1"));
  ASSERT_EQ(s3.extra_points.size(), 2u);
  EXPECT_EQ(s3.extra_points[0].tags[6], (std::pair<std::string, std::string>("hits", "3")));
  EXPECT_EQ(s3.extra_points[1].tags[6], (std::pair<std::string, std::string>("hits", "2")));
  EXPECT_EQ(s3.extra_points[0].ts_ns, 110LL * 1'000'000'000LL);
  // 81.2.69.160, 8.8.8.8, 2001:218::1, 81.2.69.161 looked up once each; the rest from cache.
  EXPECT_EQ(counter("netmicroscope_exinfo_cache_total", "result", "miss"), 4u);
  EXPECT_EQ(counter("netmicroscope_exinfo_cache_total", "result", "hit"), 3u);
}

TEST_F(ExinfoPluginTest, AllowListKeepsOnlyListedDevices) {
  ExinfoPlugin plugin;
  Settings settings = baseSettings();
  settings["EXINFO_ALLOW"] = " AA-BB-CC-00-00-01 , aabbcc000002";
  ASSERT_EQ(init(plugin, settings), "");
  const TaRecord r = record(100);
  RecordSummary s = summaryOf(r);
  plugin.process(s);
  ASSERT_EQ(s.extra_points.size(), 1u);
  EXPECT_EQ(s.extra_points[0].tags,
            tags("51.5142", "-0.0931", "GB", kLondonFlow, "aa:bb:cc:00:00:01", "1"));
  EXPECT_EQ(skipped("device_list"), 1u);  // the IPv6 device without a MAC
  EXPECT_EQ(skipped("no_location"), 1u);  // the phone's 8.8.8.8
}

TEST_F(ExinfoPluginTest, DenyListWinsOverAllowListAndTakesIpKeys) {
  ExinfoPlugin plugin;
  Settings settings = baseSettings();
  settings["EXINFO_ALLOW"] = "aa:bb:cc:00:00:01,2001:db8::5";
  settings["EXINFO_DENY"] = "aa:bb:cc:00:00:01";
  ASSERT_EQ(init(plugin, settings), "");
  const TaRecord r = record(100);
  RecordSummary s = summaryOf(r);
  plugin.process(s);
  ASSERT_EQ(s.extra_points.size(), 1u);
  EXPECT_EQ(s.extra_points[0].tags,
            tags("35.6900", "139.6900", "JP", kJapanFlow, "2001:db8::5", "1"));
  EXPECT_EQ(skipped("device_list"), 2u);  // the laptop (denied) and the phone (not allowed)

  ExinfoPlugin deny_only;
  settings.erase("EXINFO_ALLOW");
  settings["EXINFO_DENY"] = "2001:0db8:0::5";  // any spelling of the address
  ASSERT_EQ(init(deny_only, settings), "");
  RecordSummary s2 = summaryOf(r);
  deny_only.process(s2);
  ASSERT_EQ(s2.extra_points.size(), 1u);
  EXPECT_EQ(s2.extra_points[0].tags[4].second, kLondonFlow);
}

TEST_F(ExinfoPluginTest, BadDeviceListRefusesToStartNamingTheSetting) {
  ExinfoPlugin plugin;
  Settings settings = baseSettings();
  settings["EXINFO_DENY"] = "aa:bb:cc:00:00:01, laptop, 10.0.0.300";
  const std::string error = init(plugin, settings);
  EXPECT_EQ(error,
            "EXINFO_DENY: 'laptop', '10.0.0.300' are neither a MAC (aa:bb:cc:dd:ee:ff) nor an IP "
            "address");
}

TEST_F(ExinfoPluginTest, UsesTheDisplayNameAnEarlierPluginSet) {
  ExinfoPlugin plugin;
  ASSERT_EQ(init(plugin, baseSettings()), "");
  const TaRecord r = record(100);
  RecordSummary s = summaryOf(r);
  DeviceApplicationSample sample;
  sample.device = "aa:bb:cc:00:00:01";
  sample.application = "Unknown";
  s.samples.push_back(sample);
  setDeviceName(s, "aa:bb:cc:00:00:01", "Living_room_laptop");
  plugin.process(s);
  ASSERT_EQ(s.extra_points.size(), 2u);
  EXPECT_EQ(s.extra_points[0].tags,
            tags("51.5142", "-0.0931", "GB", kLondonFlow, "Living_room_laptop", "1"));
  EXPECT_EQ(s.extra_points[1].tags[5].second, "2001:db8::5");  // unnamed: its key
}

TEST_F(ExinfoPluginTest, WebServiceCredentialsOnlyWarn) {
  ExinfoPlugin plugin;
  Settings settings = baseSettings();
  settings["MMGEOIP_ID"] = "12345";
  settings["MMGEOIP_KEY"] = "secret";
  ASSERT_EQ(init(plugin, settings), "");
  EXPECT_TRUE(plugin.active());
}

TEST_F(ExinfoPluginTest, UsesSummaryDeploymentElseContexts) {
  ExinfoPlugin plugin;
  ASSERT_EQ(init(plugin, baseSettings()), "");
  const TaRecord r = record(100);
  RecordSummary s = summaryOf(r);
  s.deployment.clear();
  plugin.process(s);
  ASSERT_FALSE(s.extra_points.empty());
  EXPECT_EQ(s.extra_points[0].tags[0], (std::pair<std::string, std::string>("deployment", "ctx")));
}

TEST_F(ExinfoPluginTest, SummaryWithoutRecordIsCountedAndLeftAlone) {
  ExinfoPlugin plugin;
  ASSERT_EQ(init(plugin, baseSettings()), "");
  RecordSummary s;
  s.ts_end = 100;
  plugin.process(s);
  EXPECT_TRUE(s.extra_points.empty());
  EXPECT_EQ(counter("netmicroscope_exinfo_summaries_without_record_total"), 1u);
}

TEST_F(ExinfoPluginTest, MissingCityDatabaseFailsWhenEnabledExplicitly) {
  const std::string missing = file("nope/GeoLite2-City.mmdb");
  for (const auto& [key, value] : std::vector<std::pair<std::string, std::string>>{
           {"NMD_PLUGINS", "ouimap, exinfo"}, {"MMGEOIP_ENABLE", "true"}}) {
    ExinfoPlugin plugin;
    Settings settings = baseSettings();
    settings["MMGEOIP_CITY_DB"] = missing;
    settings[key] = value;
    const std::string error = init(plugin, settings);
    EXPECT_NE(error.find("MMGEOIP_CITY_DB"), std::string::npos) << key << ": " << error;
    EXPECT_EQ(error.rfind("MMGEOIP_CITY_DB: GeoIP City database '" + missing + "'", 0), 0u)
        << key << ": " << error;
    EXPECT_FALSE(plugin.active());
  }
}

TEST_F(ExinfoPluginTest, MissingCityDatabaseInTheDefaultSetLeavesThePluginInactive) {
  ExinfoPlugin plugin;
  Settings settings = baseSettings();
  settings["MMGEOIP_CITY_DB"] = file("nope/GeoLite2-City.mmdb");
  settings["NMD_PLUGINS"] = "ouimap,exinfo_extra";  // not exinfo
  ASSERT_EQ(init(plugin, settings), "");
  EXPECT_FALSE(plugin.active());
  const TaRecord r = record(100);
  RecordSummary s = summaryOf(r);
  plugin.process(s);
  EXPECT_TRUE(s.extra_points.empty());
}

TEST_F(ExinfoPluginTest, CorruptCityDatabaseFailsEvenInTheDefaultSet) {
  // A file that is there but unreadable as a database is an operator mistake, not an absence.
  ExinfoPlugin plugin;
  Settings settings = baseSettings();
  settings["MMGEOIP_CITY_DB"] = file("asn.mmdb");  // swapped settings
  const std::string error = init(plugin, settings);
  EXPECT_EQ(error.rfind("MMGEOIP_CITY_DB: ", 0), 0u) << error;
  EXPECT_NE(error.find("swapped"), std::string::npos) << error;
}

TEST_F(ExinfoPluginTest, UnreadableAsnDatabaseTheOperatorSetNamesIt) {
  ExinfoPlugin plugin;
  Settings settings = baseSettings();
  settings["MMGEOIP_ASN_DB"] = file("nope/GeoLite2-ASN.mmdb");
  const std::string error = init(plugin, settings);
  EXPECT_EQ(error.rfind("MMGEOIP_ASN_DB: ", 0), 0u) << error;
}

// Reverse DNS against a real server: dnsmasq on loopback knows London's PTR; the Japanese
// address gets NXDOMAIN.
class ExinfoRdnsTest : public ExinfoPluginTest {
 protected:
  void SetUp() override {
    ExinfoPluginTest::SetUp();
    if (IsSkipped()) {
      return;
    }
    if (!test::Dnsmasq::available()) {
      GTEST_SKIP() << "dnsmasq (Debian dnsmasq-base) is not installed: no reverse DNS tests";
    }
    std::string error;
    ASSERT_TRUE(dns_.start({"--ptr-record=160.69.2.81.in-addr.arpa,lon.example.net"}, 300, error))
        << error;
  }

  Settings rdnsSettings() const {
    Settings s = baseSettings();
    s["EXINFO_RDNS"] = "on";
    s["EXINFO_RDNS_SERVERS"] = dns_.server();
    return s;
  }

  // Processes copies of `r` (TsEnd advancing) until the London point has a host, or 10 s pass;
  // returns the summaries processed.
  std::vector<RecordSummary> processUntilHost(ExinfoPlugin& plugin, const TaRecord& r) {
    std::vector<RecordSummary> out;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      out.push_back(summaryOf(r));
      out.back().ts_end = r.ts_end + 5 * static_cast<int64_t>(out.size() - 1);
      plugin.process(out.back());
      if (!out.back().extra_points.empty() && !hostOf(out.back().extra_points[0]).empty()) {
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return out;
  }

  test::Dnsmasq dns_;
};

TEST_F(ExinfoRdnsTest, NamesJoinLaterPointsAndAreSavedWithTheirTtl) {
  int64_t now = 1'000'000;
  ExinfoPlugin plugin([&] { return now; });
  test::MapPluginState state;
  ASSERT_EQ(init(plugin, rdnsSettings(), &state), "");
  const TaRecord r = record(100);
  const std::vector<RecordSummary> runs = processUntilHost(plugin, r);
  ASSERT_GE(runs.size(), 2u) << "the first record cannot have waited for DNS";
  // The first record went out without names; once the answer arrived, points carry it.
  EXPECT_EQ(runs.front().extra_points[0].fields, kLondonFields);
  const RecordSummary& last = runs.back();
  ASSERT_EQ(last.extra_points.size(), 2u);
  expectPoint(last.extra_points[0],
              tags("51.5142", "-0.0931", "GB", kLondonFlow, "aa:bb:cc:00:00:01",
                   std::to_string(runs.size()).c_str()),
              withHost(kLondonFields, "lon.example.net"), last.ts_end * 1'000'000'000LL);
  // One query per public address (London, 8.8.8.8 without a location, Japan), however many
  // records showed it while it was in flight.
  EXPECT_EQ(counter("netmicroscope_exinfo_rdns_requests_total", "result", "queued"), 3u);
  EXPECT_EQ(state.kv.at("rdns/81.2.69.160"), "1000300 lon.example.net");
  // NXDOMAIN without an SOA: no name, kept for the resolver's default negative TTL (1 h); the
  // answer may still be on its way.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!state.kv.contains("rdns/2001:218::1") && std::chrono::steady_clock::now() < deadline) {
    RecordSummary s = summaryOf(r);
    plugin.process(s);
    EXPECT_EQ(hostOf(s.extra_points[1]), "");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(state.kv["rdns/2001:218::1"], "1003600 ");
}

TEST_F(ExinfoRdnsTest, SavedAnswersAndHitsSurviveARestart) {
  int64_t now = 1'000'000;
  test::MapPluginState state;
  const TaRecord r = record(100);
  {
    ExinfoPlugin plugin([&] { return now; });
    ASSERT_EQ(init(plugin, rdnsSettings(), &state), "");
    processUntilHost(plugin, r);
    plugin.finish();
  }
  ASSERT_TRUE(state.kv.contains("hits"));
  const uint64_t queued = counter("netmicroscope_exinfo_rdns_requests_total", "result", "queued");
  // The restarted plugin names London at once and continues the flows' hits, without asking
  // DNS for London again; the server is gone, so an answer could only come from the state.
  dns_.stop();
  ExinfoPlugin restarted([&] { return now + 10; });
  ASSERT_EQ(init(restarted, rdnsSettings(), &state), "");
  TaRecord next = record(400);  // within kHitsKeepSeconds of the last record
  RecordSummary s = summaryOf(next);
  restarted.process(s);
  ASSERT_EQ(s.extra_points.size(), 2u);
  EXPECT_EQ(hostOf(s.extra_points[0]), "lon.example.net");
  const std::string london_hits = s.extra_points[0].tags[6].second;
  EXPECT_GT(std::stoi(london_hits), 2) << "hits restarted instead of continuing";
  EXPECT_EQ(s.extra_points[1].tags[6].second, london_hits);  // both flows were in every record
  // London is not asked again; the Japanese address only when its negative answer had not
  // arrived before finish().
  EXPECT_LE(counter("netmicroscope_exinfo_rdns_requests_total", "result", "queued"), queued + 1);
  EXPECT_EQ(counter("netmicroscope_exinfo_state_errors_total"), 0u);
}

TEST_F(ExinfoRdnsTest, ExpiredAnswerIsServedUntilItsRefreshArrives) {
  int64_t now = 5'000'000;
  test::MapPluginState state;
  state.kv["rdns/81.2.69.160"] = "4999000 old.example.net";  // expired 1000 s ago
  state.kv["rdns/192.0.2.99"] = "100 gone.example.net";      // expired weeks ago: forgotten
  state.kv["rdns/not-an-ip"] = "1 x";                        // unreadable: counted, removed
  state.kv["hits"] = "1 a 41 100\nbad line\n";
  ExinfoPlugin plugin([&] { return now; });
  ASSERT_EQ(init(plugin, rdnsSettings(), &state), "");
  EXPECT_FALSE(state.kv.contains("rdns/192.0.2.99"));
  EXPECT_FALSE(state.kv.contains("rdns/not-an-ip"));
  EXPECT_EQ(counter("netmicroscope_exinfo_state_errors_total"), 2u);
  const TaRecord r = record(105);
  RecordSummary first = summaryOf(r);
  plugin.process(first);
  EXPECT_EQ(hostOf(first.extra_points[0]), "old.example.net");
  EXPECT_EQ(first.extra_points[0].tags[6].second, "42");
  // The refresh was asked for at once; the old name is served until it arrives.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  std::string host = hostOf(first.extra_points[0]);
  while (host != "lon.example.net" && std::chrono::steady_clock::now() < deadline) {
    RecordSummary s = summaryOf(r);
    plugin.process(s);
    host = hostOf(s.extra_points[0]);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(host, "lon.example.net");
  EXPECT_EQ(state.kv.at("rdns/81.2.69.160"), "5000300 lon.example.net");
}

TEST_F(ExinfoPluginTest, BadReverseDnsSettingsNameTheSetting) {
  for (const auto& [key, value] :
       std::vector<std::pair<std::string, std::string>>{{"EXINFO_RDNS", "sometimes"},
                                                        {"EXINFO_RDNS_QPS", "0"},
                                                        {"EXINFO_RDNS_QPS", "fast"},
                                                        {"EXINFO_RDNS_SERVERS", "not a server"}}) {
    ExinfoPlugin plugin;
    Settings settings = baseSettings();
    settings["EXINFO_RDNS"] = "on";
    settings[key] = value;
    const std::string error = init(plugin, settings);
    EXPECT_EQ(error.rfind(key + ": ", 0), 0u) << key << "=" << value << ": " << error;
    EXPECT_FALSE(plugin.active());
  }
}

TEST(ExinfoRegistryTest, IsABuiltinPlugin) {
  bool found = false;
  for (const BuiltinPlugin& b : builtinPlugins()) {
    if (b.name == "exinfo") {
      found = true;
      std::unique_ptr<Plugin> p = b.create();
      ASSERT_NE(p, nullptr);
      EXPECT_EQ(p->name(), "exinfo");
      EXPECT_EQ(p->priority(), 20);
    }
  }
  EXPECT_TRUE(found);
}

TEST(ExinfoDeviceListTest, ParsesMacsAndIps) {
  std::unordered_set<std::string> out;
  std::string error;
  ASSERT_TRUE(
      parseDeviceList("AA:BB:CC:DD:EE:FF,aa-bb-cc-dd-ee-01, 001122334455,,10.0.0.5 ,"
                      "2001:DB8::1",
                      out, error))
      << error;
  EXPECT_EQ(out, (std::unordered_set<std::string>{"aa:bb:cc:dd:ee:ff", "aa:bb:cc:dd:ee:01",
                                                  "00:11:22:33:44:55", "10.0.0.5", "2001:db8::1"}));
  out.clear();
  EXPECT_FALSE(parseDeviceList("aa:bb:cc-dd:ee:ff", out, error));
  EXPECT_EQ(error, "'aa:bb:cc-dd:ee:ff' is neither a MAC (aa:bb:cc:dd:ee:ff) nor an IP address");
  EXPECT_TRUE(parseDeviceList("", out, error));
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace nm
