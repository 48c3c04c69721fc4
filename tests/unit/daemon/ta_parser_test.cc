#include "daemon/ta_parser.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <ostream>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace nm {

// gtest prints the counter name on failure (found by ADL, so outside the anonymous namespace).
void PrintTo(TaParseError error, std::ostream* os) {
  *os << taParseErrorName(error);
}

namespace {

using Json = nlohmann::json;

// A record as the original Go core wrote it (real capture, one line).
constexpr std::string_view kOriginalRecord =
    R"({"Info":{"Version":"2.0","Conf":"--","Type":"Traffic","TsStart":1607925041,"TsEnd":1607925046,"PktsRcvd":12,"PktsDrop":0},"CacheStats":{"GenFlows":455,"VideoFlows":16,"TCPVideoFlows":0,"TCPFlows":0,"GeneralCounters":471,"VideoSegments":17},"TrafficData":{"Avg":0,"Var":0,"Q50":0,"Q75":0,"Q90":0,"Q95":0,"Data":[{"Meta":"Facebook","Device":"2601:240:c401:a70:b075:d5c9:bb08:d8b3","HwAddr":"74:d0:2b:00:00:01","Flow":"70698955ee3635bd336fe16083643bce","Domain":"facebook.com","Proto":"tcp","LPort":"55167","SIP":"2a03:2880:f0ff:13:face:b00c:0:8e","SPort":"443","KbpsUp":0.1109375,"KbpsDw":0.1109375,"PpsUp":0.4,"PpsDw":0.4,"VideoInfo":{"UpstreamChunks":[{"Len":51,"Seq":1634434560,"TsStart":1607925015977195937,"TsEnd":1607925016070601165,"LastPkt":1607925016070601165,"DownPkts":1,"DonwBytes":31,"MaxDSeq":3490217201}]},"VoIPInfo":null},{"Meta":"Other","Device":"192.168.0.103","HwAddr":"74:d0:2b:00:00:01","Flow":"2f73bcd515116fecf832035994e67920","Domain":"bn1305.storage.live.com","Proto":"tcp","LPort":"55241","SIP":"13.107.42.12","SPort":"443","KbpsUp":0,"KbpsDw":0.03125,"PpsUp":0,"PpsDw":0.2,"VideoInfo":null,"VoIPInfo":null}]}})";

IpAddr ip(std::string_view text) {
  IpAddr a;
  EXPECT_TRUE(IpAddr::parse(text, a)) << text;
  return a;
}

Json original() {
  return Json::parse(kOriginalRecord);
}

// Parses a modified copy of the original record.
TaParseError parseJson(const Json& j) {
  TaRecord r;
  return parseTaLine(j.dump(), r);
}

TEST(TaParserTest, ReadsTheOriginalCoresRecord) {
  TaRecord r;
  ASSERT_EQ(parseTaLine(kOriginalRecord, r), TaParseError::kNone);
  EXPECT_EQ(r.version, "2.0");
  EXPECT_EQ(r.conf, "--");
  EXPECT_EQ(r.type, "Traffic");
  EXPECT_EQ(r.ts_start, 1607925041);
  EXPECT_EQ(r.ts_end, 1607925046);
  EXPECT_EQ(r.pkts_rcvd, 12u);
  EXPECT_EQ(r.pkts_drop, 0u);
  EXPECT_EQ(r.gen_flows, 455u);
  EXPECT_EQ(r.video_flows, 16u);
  EXPECT_EQ(r.tcp_video_flows, 0u);
  EXPECT_EQ(r.tcp_flows, 0u);
  EXPECT_EQ(r.general_counters, 471u);
  EXPECT_EQ(r.video_segments, 17u);
  EXPECT_EQ(r.evicted_flows, 0u);  // absent in the original
  EXPECT_EQ(r.avg, 0.0);
  ASSERT_EQ(r.data.size(), 2u);

  const TaFlowEntry& a = r.data[0];
  EXPECT_EQ(a.meta, "Facebook");
  EXPECT_EQ(a.device, ip("2601:240:c401:a70:b075:d5c9:bb08:d8b3"));
  EXPECT_TRUE(a.has_hw_addr);
  EXPECT_EQ(a.hw_addr.toString(), "74:d0:2b:00:00:01");
  EXPECT_EQ(a.flow_hi, 0x70698955ee3635bdULL);
  EXPECT_EQ(a.flow_lo, 0x336fe16083643bceULL);
  EXPECT_EQ(a.domain, "facebook.com");
  EXPECT_EQ(a.proto, ipproto::kTcp);
  EXPECT_EQ(a.lport, 55167);
  EXPECT_EQ(a.sip, ip("2a03:2880:f0ff:13:face:b00c:0:8e"));
  EXPECT_EQ(a.sport, 443);
  EXPECT_EQ(a.kbps_up, 0.1109375);
  EXPECT_EQ(a.kbps_dw, 0.1109375);
  EXPECT_EQ(a.pps_up, 0.4);
  EXPECT_EQ(a.pps_dw, 0.4);
  EXPECT_EQ(a.bytes_up, 0u);  // absent in the original
  EXPECT_EQ(a.pkts_dw, 0u);
  EXPECT_EQ(a.ndpi, "");
  ASSERT_TRUE(a.has_video_info);
  ASSERT_EQ(a.upstream_chunks.size(), 1u);
  const UpstreamChunk& c = a.upstream_chunks[0];
  EXPECT_EQ(c.len, 51u);
  EXPECT_EQ(c.seq, 1634434560u);
  EXPECT_EQ(c.ts_start, 1607925015977195937);
  EXPECT_EQ(c.ts_end, 1607925016070601165);
  EXPECT_EQ(c.last_pkt, 1607925016070601165);
  EXPECT_EQ(c.down_pkts, 1u);
  EXPECT_EQ(c.down_bytes, 31u);
  EXPECT_EQ(c.max_dseq, 3490217201u);

  const TaFlowEntry& b = r.data[1];
  EXPECT_EQ(b.meta, "Other");
  EXPECT_EQ(b.device.toString(), "192.168.0.103");
  EXPECT_EQ(b.flow_hi, 0x2f73bcd515116fecULL);
  EXPECT_EQ(b.flow_lo, 0xf832035994e67920ULL);
  EXPECT_EQ(b.domain, "bn1305.storage.live.com");
  EXPECT_EQ(b.lport, 55241);
  EXPECT_EQ(b.sip.toString(), "13.107.42.12");
  EXPECT_EQ(b.kbps_up, 0.0);
  EXPECT_EQ(b.kbps_dw, 0.03125);
  EXPECT_EQ(b.pps_dw, 0.2);
  EXPECT_FALSE(b.has_video_info);
  EXPECT_TRUE(b.upstream_chunks.empty());
}

// --- round trip -------------------------------------------------------------------------------

std::string randomText(std::mt19937_64& rng) {
  static const std::vector<std::string> kPieces = {"a",
                                                   "Z",
                                                   "0",
                                                   " ",
                                                   "-",
                                                   ".",
                                                   "\"",
                                                   "\\",
                                                   "/",
                                                   "\n",
                                                   "\t",
                                                   std::string(1, '\x01'),
                                                   "\xc3\xa9",  // é
                                                   "\xe6\x97\xa5",
                                                   "\xf0\x9f\x98\x80",
                                                   ",",
                                                   "=",
                                                   "{}"};
  std::string s;
  const size_t n = rng() % 12;
  for (size_t i = 0; i < n; ++i) {
    s += kPieces[rng() % kPieces.size()];
  }
  return s;
}

double randomRate(std::mt19937_64& rng) {
  switch (rng() % 6) {
    case 0:
      return 0.0;
    case 1:
      return static_cast<double>(rng() % 100000) * 8 / 5000;  // the probe's own rates
    case 2:
      return std::ldexp(static_cast<double>(rng() % (uint64_t{1} << 53)),
                        static_cast<int>(rng() % 80) - 60);
    case 3:
      return 0.1 + 0.2;
    case 4:
      return std::numeric_limits<double>::min() * static_cast<double>(rng() % 7 + 1);
    default:
      return 1e300 * static_cast<double>(rng() % 100);
  }
}

IpAddr randomIp(std::mt19937_64& rng) {
  uint8_t bytes[16];
  for (uint8_t& b : bytes) {
    b = static_cast<uint8_t>(rng() % 3 == 0 ? 0 : rng());
  }
  return rng() % 2 == 0 ? IpAddr::v4(bytes) : IpAddr::v6(bytes);
}

TaRecord randomRecord(std::mt19937_64& rng) {
  TaRecord r;
  r.version = rng() % 4 == 0 ? randomText(rng) : "2.0";
  r.ts_start = static_cast<int64_t>(rng() % 9223372036);
  r.ts_end = static_cast<int64_t>(rng() % 9223372036);
  r.pkts_rcvd = rng();
  r.pkts_drop = rng() % 10;
  r.gen_flows = rng();
  r.video_flows = rng() % 5;
  r.tcp_video_flows = rng() % 5;
  r.tcp_flows = rng() % 100;
  r.general_counters = rng() % 100;
  r.video_segments = rng() % 100;
  r.evicted_flows = rng() % 3;
  r.expired_flows = rng() % 3;
  r.avg = randomRate(rng);
  r.var = randomRate(rng);
  r.q50 = randomRate(rng);
  r.q75 = randomRate(rng);
  r.q90 = randomRate(rng);
  r.q95 = randomRate(rng);
  const size_t n = rng() % 6;
  for (size_t i = 0; i < n; ++i) {
    TaFlowEntry e;
    e.meta = randomText(rng);
    e.domain = randomText(rng);
    e.ndpi = rng() % 2 == 0 ? "" : "TLS." + randomText(rng);
    e.device = randomIp(rng);
    e.has_hw_addr = rng() % 3 != 0;
    if (e.has_hw_addr) {
      for (uint8_t& b : e.hw_addr.bytes) {
        b = static_cast<uint8_t>(rng());
      }
    }
    e.flow_hi = rng();
    e.flow_lo = rng();
    e.proto = static_cast<uint8_t>(rng() % 2 == 0 ? (rng() % 2 == 0 ? 6 : 17) : rng());
    e.lport = static_cast<uint16_t>(rng());
    e.sip = randomIp(rng);
    e.sport = static_cast<uint16_t>(rng());
    e.kbps_up = randomRate(rng);
    e.kbps_dw = randomRate(rng);
    e.pps_up = randomRate(rng);
    e.pps_dw = randomRate(rng);
    e.bytes_up = rng();
    e.bytes_dw = rng() % 1000;
    e.pkts_up = rng();
    e.pkts_dw = rng() % 1000;
    e.has_video_info = rng() % 2 == 0;
    if (e.has_video_info) {
      const size_t chunks = rng() % 3;
      for (size_t k = 0; k < chunks; ++k) {
        UpstreamChunk c;
        c.len = static_cast<uint32_t>(rng());
        c.seq = static_cast<uint32_t>(rng());
        c.ts_start = static_cast<Timestamp>(rng() >> 1);
        c.ts_end = static_cast<Timestamp>(rng() >> 1);
        c.last_pkt = static_cast<Timestamp>(rng() >> 1);
        c.down_pkts = static_cast<uint32_t>(rng());
        c.down_bytes = rng();
        c.max_dseq = static_cast<uint32_t>(rng());
        e.upstream_chunks.push_back(c);
      }
    }
    r.data.push_back(std::move(e));
  }
  return r;
}

// Field by field, so a failure names the field; doubles compared bit for bit.
void expectSameRecord(const TaRecord& a, const TaRecord& b) {
  EXPECT_EQ(a.version, b.version);
  EXPECT_EQ(a.conf, b.conf);
  EXPECT_EQ(a.type, b.type);
  EXPECT_EQ(a.ts_start, b.ts_start);
  EXPECT_EQ(a.ts_end, b.ts_end);
  EXPECT_EQ(a.pkts_rcvd, b.pkts_rcvd);
  EXPECT_EQ(a.pkts_drop, b.pkts_drop);
  EXPECT_EQ(a.gen_flows, b.gen_flows);
  EXPECT_EQ(a.video_flows, b.video_flows);
  EXPECT_EQ(a.tcp_video_flows, b.tcp_video_flows);
  EXPECT_EQ(a.tcp_flows, b.tcp_flows);
  EXPECT_EQ(a.general_counters, b.general_counters);
  EXPECT_EQ(a.video_segments, b.video_segments);
  EXPECT_EQ(a.evicted_flows, b.evicted_flows);
  EXPECT_EQ(a.expired_flows, b.expired_flows);
  EXPECT_EQ(a.avg, b.avg);
  EXPECT_EQ(a.var, b.var);
  EXPECT_EQ(a.q50, b.q50);
  EXPECT_EQ(a.q75, b.q75);
  EXPECT_EQ(a.q90, b.q90);
  EXPECT_EQ(a.q95, b.q95);
  ASSERT_EQ(a.data.size(), b.data.size());
  for (size_t i = 0; i < a.data.size(); ++i) {
    const TaFlowEntry& x = a.data[i];
    const TaFlowEntry& y = b.data[i];
    SCOPED_TRACE(i);
    EXPECT_EQ(x.meta, y.meta);
    EXPECT_EQ(x.domain, y.domain);
    EXPECT_EQ(x.ndpi, y.ndpi);
    EXPECT_EQ(x.device, y.device);
    EXPECT_EQ(x.has_hw_addr, y.has_hw_addr);
    EXPECT_EQ(x.hw_addr, y.hw_addr);
    EXPECT_EQ(x.flow_hi, y.flow_hi);
    EXPECT_EQ(x.flow_lo, y.flow_lo);
    EXPECT_EQ(x.proto, y.proto);
    EXPECT_EQ(x.lport, y.lport);
    EXPECT_EQ(x.sip, y.sip);
    EXPECT_EQ(x.sport, y.sport);
    EXPECT_EQ(x.kbps_up, y.kbps_up);
    EXPECT_EQ(x.kbps_dw, y.kbps_dw);
    EXPECT_EQ(x.pps_up, y.pps_up);
    EXPECT_EQ(x.pps_dw, y.pps_dw);
    EXPECT_EQ(x.bytes_up, y.bytes_up);
    EXPECT_EQ(x.bytes_dw, y.bytes_dw);
    EXPECT_EQ(x.pkts_up, y.pkts_up);
    EXPECT_EQ(x.pkts_dw, y.pkts_dw);
    EXPECT_EQ(x.has_video_info, y.has_video_info);
    ASSERT_EQ(x.upstream_chunks.size(), y.upstream_chunks.size());
    for (size_t k = 0; k < x.upstream_chunks.size(); ++k) {
      const UpstreamChunk& c = x.upstream_chunks[k];
      const UpstreamChunk& d = y.upstream_chunks[k];
      EXPECT_EQ(c.len, d.len);
      EXPECT_EQ(c.seq, d.seq);
      EXPECT_EQ(c.ts_start, d.ts_start);
      EXPECT_EQ(c.ts_end, d.ts_end);
      EXPECT_EQ(c.last_pkt, d.last_pkt);
      EXPECT_EQ(c.down_pkts, d.down_pkts);
      EXPECT_EQ(c.down_bytes, d.down_bytes);
      EXPECT_EQ(c.max_dseq, d.max_dseq);
    }
  }
}

TEST(TaParserTest, ReadsBackEveryFieldTheEncoderWrites) {
  std::mt19937_64 rng(20260417);
  for (int i = 0; i < 500; ++i) {
    const TaRecord written = randomRecord(rng);
    const std::string line = toJsonLine(written);
    TaRecord read;
    ASSERT_EQ(parseTaLine(line, read), TaParseError::kNone) << line;
    SCOPED_TRACE(line);
    expectSameRecord(written, read);
    if (HasFatalFailure() || HasNonfatalFailure()) {
      return;
    }
  }
}

TEST(TaParserTest, AcceptsTheTrailingNewlineOfAppendJsonLine) {
  std::mt19937_64 rng(7);
  const TaRecord written = randomRecord(rng);
  std::string line;
  appendJsonLine(written, line);
  ASSERT_EQ(line.back(), '\n');
  TaRecord read;
  ASSERT_EQ(parseTaLine(line, read), TaParseError::kNone);
  expectSameRecord(written, read);
  line.insert(line.size() - 1, "\r");
  ASSERT_EQ(parseTaLine(line, read), TaParseError::kNone);
  expectSameRecord(written, read);
}

TEST(TaParserTest, OverwritesThePreviousContentsOfOut) {
  std::mt19937_64 rng(8);
  TaRecord read = randomRecord(rng);
  read.data.resize(7);
  TaRecord empty;
  ASSERT_EQ(parseTaLine(toJsonLine(empty), read), TaParseError::kNone);
  expectSameRecord(empty, read);
}

// --- accepted variants ------------------------------------------------------------------------

TEST(TaParserTest, AcceptsPortsAndProtocolsAsNumbersOrDigits) {
  Json j = original();
  Json& e = j["TrafficData"]["Data"][0];
  e["LPort"] = 65535;
  e["SPort"] = "0";
  e["Proto"] = "47";
  TaRecord r;
  ASSERT_EQ(parseTaLine(j.dump(), r), TaParseError::kNone);
  EXPECT_EQ(r.data[0].lport, 65535);
  EXPECT_EQ(r.data[0].sport, 0);
  EXPECT_EQ(r.data[0].proto, 47);
  for (auto [name, number] : {std::pair{"udp", 17}, {"icmp", 1}, {"icmpv6", 58}, {"tcp", 6}}) {
    e["Proto"] = name;
    ASSERT_EQ(parseTaLine(j.dump(), r), TaParseError::kNone);
    EXPECT_EQ(r.data[0].proto, number);
  }
  e["Proto"] = 255;
  ASSERT_EQ(parseTaLine(j.dump(), r), TaParseError::kNone);
  EXPECT_EQ(r.data[0].proto, 255);
}

TEST(TaParserTest, AcceptsAnEmptyHwAddrAndUpperCaseHex) {
  Json j = original();
  Json& e = j["TrafficData"]["Data"][0];
  e["HwAddr"] = "";
  e["Flow"] = "70698955EE3635BD336FE16083643BCE";
  j["TrafficData"]["Data"][1]["HwAddr"] = "AA:BB:CC:DD:EE:0F";
  TaRecord r;
  ASSERT_EQ(parseTaLine(j.dump(), r), TaParseError::kNone);
  EXPECT_FALSE(r.data[0].has_hw_addr);
  EXPECT_EQ(r.data[0].flow_hi, 0x70698955ee3635bdULL);
  EXPECT_EQ(r.data[0].flow_lo, 0x336fe16083643bceULL);
  EXPECT_EQ(r.data[1].hw_addr.toString(), "aa:bb:cc:dd:ee:0f");
}

TEST(TaParserTest, HashesFlowIdsThatAreNotHex) {
  // FNV-1a 128 reference values (computed independently in Python).
  uint64_t hi = 0;
  uint64_t lo = 0;
  taFlowHash("", hi, lo);
  EXPECT_EQ(hi, 0x6c62272e07bb0142ULL);
  EXPECT_EQ(lo, 0x62b821756295c58dULL);
  taFlowHash("a", hi, lo);
  EXPECT_EQ(hi, 0xd228cb696f1a8cafULL);
  EXPECT_EQ(lo, 0x78912b704e4a8964ULL);

  Json j = original();
  TaRecord r;
  for (const char* flow : {"not-a-flow", "70698955ee3635bd336fe16083643bc", "", "12345"}) {
    j["TrafficData"]["Data"][0]["Flow"] = flow;
    ASSERT_EQ(parseTaLine(j.dump(), r), TaParseError::kNone);
    taFlowHash(flow, hi, lo);
    EXPECT_EQ(r.data[0].flow_hi, hi) << flow;
    EXPECT_EQ(r.data[0].flow_lo, lo) << flow;
  }
  taFlowHash("not-a-flow", hi, lo);
  EXPECT_EQ(hi, 0x3275a49cc03a5303ULL);
  EXPECT_EQ(lo, 0x92fbc66de340f897ULL);
}

TEST(TaParserTest, IgnoresUnknownKeysAndAnyVoipInfo) {
  Json j = original();
  j["Extra"] = {{"deep", {1, 2, {{"x", nullptr}}}}};
  j["Info"]["Future"] = "yes";
  j["TrafficData"]["Data"][0]["VoIPInfo"] = {{"Calls", {1, 2, 3}}};
  j["TrafficData"]["Data"][1]["VoIPInfo"] = "anything";
  j["TrafficData"]["Data"][1]["NewKey"] = 1.5;
  TaRecord r;
  EXPECT_EQ(parseTaLine(j.dump(), r), TaParseError::kNone);
  EXPECT_EQ(r.data.size(), 2u);
}

TEST(TaParserTest, OptionalKeysMayBeAbsent) {
  Json j = original();
  j.erase("CacheStats");
  j["Info"].erase("Version");
  j["Info"].erase("PktsRcvd");
  j["TrafficData"].erase("Avg");
  j["TrafficData"]["Data"][0].erase("VideoInfo");
  j["TrafficData"]["Data"][0].erase("VoIPInfo");
  TaRecord r;
  ASSERT_EQ(parseTaLine(j.dump(), r), TaParseError::kNone);
  EXPECT_EQ(r.version, "2.0");
  EXPECT_EQ(r.gen_flows, 0u);
  EXPECT_FALSE(r.data[0].has_video_info);
}

TEST(TaParserTest, KeepsUnicodeText) {
  Json j = original();
  j["TrafficData"]["Data"][0]["Meta"] = "Vid\u00e9o \u65e5\u672c \U0001F600 \"q\" \\ tab\t";
  j["TrafficData"]["Data"][0]["Domain"] = "xn--bcher-kva.example";
  TaRecord r;
  ASSERT_EQ(parseTaLine(j.dump(), r), TaParseError::kNone);
  EXPECT_EQ(r.data[0].meta, "Vid\u00e9o \u65e5\u672c \U0001F600 \"q\" \\ tab\t");
  // \u escapes, including a surrogate pair, decode to UTF-8.
  std::string line(kOriginalRecord);
  line.replace(line.find("\"Facebook\""), 10, R"("F\u00e9\ud83d\ude00")");
  ASSERT_EQ(parseTaLine(line, r), TaParseError::kNone);
  EXPECT_EQ(r.data[0].meta, "F\u00e9\U0001F600");
}

// --- errors -----------------------------------------------------------------------------------

TEST(TaParserTest, NamesEveryErrorStably) {
  const std::vector<std::pair<TaParseError, std::string>> names = {
      {TaParseError::kNone, "ingest.ok"},
      {TaParseError::kTooLong, "ingest.too_long"},
      {TaParseError::kTooDeep, "ingest.too_deep"},
      {TaParseError::kNotJson, "ingest.not_json"},
      {TaParseError::kNotObject, "ingest.not_object"},
      {TaParseError::kMissingTrafficData, "ingest.missing_traffic_data"},
      {TaParseError::kMissingField, "ingest.missing_field"},
      {TaParseError::kWrongType, "ingest.wrong_type"},
      {TaParseError::kBadValue, "ingest.bad_value"},
      {TaParseError::kBadAddress, "ingest.bad_address"},
  };
  for (const auto& [error, name] : names) {
    EXPECT_EQ(taParseErrorName(error), name);
  }
}

TEST(TaParserTest, RejectsLinesThatAreNotJson) {
  TaRecord r;
  for (std::string_view line : {"", "\n", "garbage", "{", "{\"Info\":}", "{'a': 1}",
                                "{\"TrafficData\":{}} trailing", "\x80\x81", "[1,2,"}) {
    EXPECT_EQ(parseTaLine(line, r), TaParseError::kNotJson) << line;
  }
  std::string truncated(kOriginalRecord);
  truncated.resize(truncated.size() / 2);
  EXPECT_EQ(parseTaLine(truncated, r), TaParseError::kNotJson);
  // Invalid UTF-8 inside a string, and a lone surrogate escape.
  std::string bad_utf8(kOriginalRecord);
  bad_utf8.replace(bad_utf8.find("Facebook"), 1, "\xff");
  EXPECT_EQ(parseTaLine(bad_utf8, r), TaParseError::kNotJson);
  std::string lone(kOriginalRecord);
  lone.replace(lone.find("Facebook"), 1, "\\ud800");
  EXPECT_EQ(parseTaLine(lone, r), TaParseError::kNotJson);
}

TEST(TaParserTest, RejectsJsonThatIsNotAnObject) {
  TaRecord r;
  for (std::string_view line : {"[]", "1", "\"TrafficData\"", "null", "true", "[{}]"}) {
    EXPECT_EQ(parseTaLine(line, r), TaParseError::kNotObject) << line;
  }
}

TEST(TaParserTest, RejectsObjectsWithoutTrafficData) {
  Json j = original();
  j.erase("TrafficData");
  EXPECT_EQ(parseJson(j), TaParseError::kMissingTrafficData);
  TaRecord r;
  EXPECT_EQ(parseTaLine("{}", r), TaParseError::kMissingTrafficData);
  EXPECT_EQ(parseTaLine(R"({"trafficdata":{}})", r), TaParseError::kMissingTrafficData);
}

TEST(TaParserTest, RejectsMissingRequiredKeys) {
  {
    Json j = original();
    j.erase("Info");
    EXPECT_EQ(parseJson(j), TaParseError::kMissingField);
  }
  for (const char* key : {"TsStart", "TsEnd"}) {
    Json j = original();
    j["Info"].erase(key);
    EXPECT_EQ(parseJson(j), TaParseError::kMissingField) << key;
  }
  {
    Json j = original();
    j["TrafficData"].erase("Data");
    EXPECT_EQ(parseJson(j), TaParseError::kMissingField);
  }
  for (const char* key : {"Meta", "Device", "HwAddr", "Flow", "Domain", "Proto", "LPort", "SIP",
                          "SPort", "KbpsUp", "KbpsDw", "PpsUp", "PpsDw"}) {
    Json j = original();
    j["TrafficData"]["Data"][1].erase(key);
    EXPECT_EQ(parseJson(j), TaParseError::kMissingField) << key;
  }
  Json j = original();
  j["TrafficData"]["Data"][0]["VideoInfo"] = Json::object();
  EXPECT_EQ(parseJson(j), TaParseError::kMissingField);
}

TEST(TaParserTest, RejectsWrongTypes) {
  struct Case {
    Json::json_pointer where;
    Json value;
  };
  const std::vector<Case> cases = {
      {Json::json_pointer("/Info"), "x"},
      {Json::json_pointer("/Info/TsEnd"), "1607925046"},
      {Json::json_pointer("/Info/TsEnd"), 1607925046.5},
      {Json::json_pointer("/Info/TsStart"), 1.6e9},
      {Json::json_pointer("/Info/TsStart"), nullptr},
      {Json::json_pointer("/Info/Version"), 2.0},
      {Json::json_pointer("/Info/PktsRcvd"), "12"},
      {Json::json_pointer("/CacheStats"), Json::array()},
      {Json::json_pointer("/CacheStats/GenFlows"), true},
      {Json::json_pointer("/TrafficData"), Json::array()},
      {Json::json_pointer("/TrafficData/Avg"), "0"},
      {Json::json_pointer("/TrafficData/Data"), Json::object()},
      {Json::json_pointer("/TrafficData/Data/1"), "entry"},
      {Json::json_pointer("/TrafficData/Data/1/Meta"), 1},
      {Json::json_pointer("/TrafficData/Data/1/Meta"), nullptr},
      {Json::json_pointer("/TrafficData/Data/1/Device"), 3232235623},
      {Json::json_pointer("/TrafficData/Data/1/HwAddr"), nullptr},
      {Json::json_pointer("/TrafficData/Data/1/Flow"), 12},
      {Json::json_pointer("/TrafficData/Data/1/Domain"), Json::array()},
      {Json::json_pointer("/TrafficData/Data/1/Proto"), 6.5},
      {Json::json_pointer("/TrafficData/Data/1/LPort"), 443.0},
      {Json::json_pointer("/TrafficData/Data/1/SPort"), nullptr},
      {Json::json_pointer("/TrafficData/Data/1/SIP"), false},
      {Json::json_pointer("/TrafficData/Data/1/KbpsUp"), "0.5"},
      {Json::json_pointer("/TrafficData/Data/1/KbpsDw"), nullptr},
      {Json::json_pointer("/TrafficData/Data/1/PpsUp"), true},
      {Json::json_pointer("/TrafficData/Data/1/PpsDw"), Json::object()},
      {Json::json_pointer("/TrafficData/Data/1/BytesUp"), 1.5},
      {Json::json_pointer("/TrafficData/Data/1/PktsDw"), "3"},
      {Json::json_pointer("/TrafficData/Data/1/Ndpi"), 1},
      {Json::json_pointer("/TrafficData/Data/1/VideoInfo"), "chunks"},
      {Json::json_pointer("/TrafficData/Data/1/VideoInfo"), Json::array()},
      {Json::json_pointer("/TrafficData/Data/0/VideoInfo/UpstreamChunks"), Json::object()},
      {Json::json_pointer("/TrafficData/Data/0/VideoInfo/UpstreamChunks/0"), 5},
      {Json::json_pointer("/TrafficData/Data/0/VideoInfo/UpstreamChunks/0/Len"), "51"},
      {Json::json_pointer("/TrafficData/Data/0/VideoInfo/UpstreamChunks/0/TsEnd"), 1.0},
  };
  for (const Case& c : cases) {
    Json j = original();
    j[c.where] = c.value;
    EXPECT_EQ(parseJson(j), TaParseError::kWrongType) << c.where.to_string() << " = " << c.value;
  }
}

TEST(TaParserTest, RejectsImpossibleValues) {
  struct Case {
    Json::json_pointer where;
    Json value;
  };
  const std::vector<Case> cases = {
      {Json::json_pointer("/Info/TsEnd"), -1},
      {Json::json_pointer("/Info/TsStart"), 9223372037},  // TsEnd in ns would overflow
      {Json::json_pointer("/Info/PktsDrop"), -3},
      {Json::json_pointer("/TrafficData/Data/1/LPort"), "65536"},
      {Json::json_pointer("/TrafficData/Data/1/LPort"), 65536},
      {Json::json_pointer("/TrafficData/Data/1/LPort"), -1},
      {Json::json_pointer("/TrafficData/Data/1/SPort"), ""},
      {Json::json_pointer("/TrafficData/Data/1/SPort"), "+443"},
      {Json::json_pointer("/TrafficData/Data/1/SPort"), " 443"},
      {Json::json_pointer("/TrafficData/Data/1/SPort"), "99999999999999999999999"},
      {Json::json_pointer("/TrafficData/Data/1/Proto"), "TCP"},
      {Json::json_pointer("/TrafficData/Data/1/Proto"), "sctp"},
      {Json::json_pointer("/TrafficData/Data/1/Proto"), "256"},
      {Json::json_pointer("/TrafficData/Data/1/Proto"), 256},
      {Json::json_pointer("/TrafficData/Data/1/BytesUp"), -1},
      {Json::json_pointer("/TrafficData/Data/0/VideoInfo/UpstreamChunks/0/Seq"), 4294967296},
  };
  for (const Case& c : cases) {
    Json j = original();
    j[c.where] = c.value;
    EXPECT_EQ(parseJson(j), TaParseError::kBadValue) << c.where.to_string() << " = " << c.value;
  }
}

TEST(TaParserTest, RejectsNanAndInfinityInAnySpelling) {
  TaRecord r;
  for (std::string_view bad : {"NaN", "nan", "Infinity", "-Infinity", "inf"}) {
    std::string line(kOriginalRecord);
    line.replace(line.find("0.03125"), 7, bad);
    EXPECT_EQ(parseTaLine(line, r), TaParseError::kNotJson) << bad;
  }
  // Numbers out of double range: nlohmann refuses them as malformed, so no rate is infinite.
  for (std::string_view big : {"1e400", "-1e400"}) {
    std::string line(kOriginalRecord);
    line.replace(line.find("0.03125"), 7, big);
    EXPECT_EQ(parseTaLine(line, r), TaParseError::kNotJson) << big;
  }
  // The string "NaN" is a string.
  std::string line(kOriginalRecord);
  line.replace(line.find("0.03125"), 7, "\"NaN\"");
  EXPECT_EQ(parseTaLine(line, r), TaParseError::kWrongType);
  // Underflow to zero and denormals are fine.
  line = std::string(kOriginalRecord);
  line.replace(line.find("0.03125"), 7, "1e-400");
  ASSERT_EQ(parseTaLine(line, r), TaParseError::kNone);
  EXPECT_EQ(r.data[1].kbps_dw, 0.0);
}

TEST(TaParserTest, RejectsAddressesThatDoNotParse) {
  struct Case {
    const char* key;
    const char* value;
  };
  for (const Case& c :
       {Case{"Device", ""}, Case{"Device", "192.168.0.256"}, Case{"Device", "laptop"},
        Case{"SIP", "13.107.42"}, Case{"SIP", "2a03::g"}, Case{"HwAddr", "74:d0:2b:00:00"},
        Case{"HwAddr", "74-d0-2b-00-00-01"}, Case{"HwAddr", "74:d0:2b:00:00:0g"},
        Case{"HwAddr", "74:d0:2b:00:00:011"}}) {
    Json j = original();
    j["TrafficData"]["Data"][1][c.key] = c.value;
    EXPECT_EQ(parseJson(j), TaParseError::kBadAddress) << c.key << " = " << c.value;
  }
}

TEST(TaParserTest, RejectsLinesOverTheLimitBeforeParsing) {
  TaRecord r;
  EXPECT_EQ(parseTaLine(kOriginalRecord, r, kOriginalRecord.size() - 1), TaParseError::kTooLong);
  EXPECT_EQ(parseTaLine(kOriginalRecord, r, kOriginalRecord.size()), TaParseError::kNone);
  // 5 MiB of otherwise valid JSON against the default 4 MiB.
  Json j = original();
  j["TrafficData"]["Data"][0]["Domain"] = std::string(5 << 20, 'x');
  EXPECT_EQ(parseTaLine(j.dump(), r), TaParseError::kTooLong);
  // Just under the default: accepted.
  j["TrafficData"]["Data"][0]["Domain"] = std::string(3 << 20, 'x');
  ASSERT_EQ(parseTaLine(j.dump(), r), TaParseError::kNone);
  EXPECT_EQ(r.data[0].domain.size(), size_t{3} << 20);
}

TEST(TaParserTest, RejectsDeepNestingWithoutRecursing) {
  TaRecord r;
  const std::string deep = std::string(1'000'000, '[') + std::string(1'000'000, ']');
  EXPECT_EQ(parseTaLine(deep, r), TaParseError::kTooDeep);
  // Inside an otherwise valid record, under an unknown key.
  Json j = original();
  std::string line = j.dump();
  line.insert(1, "\"X\":" + std::string(40, '[') + std::string(40, ']') + ",");
  EXPECT_EQ(parseTaLine(line, r), TaParseError::kTooDeep);
  // Brackets inside strings do not count, escaped quotes included.
  j["TrafficData"]["Data"][0]["Domain"] = "\"[[[[" + std::string(100, '{') + "\\\"";
  ASSERT_EQ(parseTaLine(j.dump(), r), TaParseError::kNone);
  // Nesting up to the limit is fine.
  line = j.dump();
  line.insert(1, "\"X\":" + std::string(kMaxTaNesting - 1, '[') +
                     std::string(kMaxTaNesting - 1, ']') + ",");
  EXPECT_EQ(parseTaLine(line, r), TaParseError::kNone);
}

// Crash corpus in miniature: every truncation and many byte flips of a real record end in some
// verdict, never an exception or a crash.
TEST(TaParserTest, SurvivesMutatedRecords) {
  const std::string base(kOriginalRecord);
  TaRecord r;
  std::set<TaParseError> seen;
  for (size_t n = 0; n <= base.size(); n += 7) {
    seen.insert(parseTaLine(std::string_view(base).substr(0, n), r));
  }
  std::mt19937_64 rng(99);
  static constexpr char kBytes[] = "{}[]\",:0123456789.-eE \\ntrufalsx\x80\xff";
  for (int i = 0; i < 3000; ++i) {
    std::string line = base;
    const size_t flips = rng() % 4 + 1;
    for (size_t f = 0; f < flips; ++f) {
      line[rng() % line.size()] = kBytes[rng() % (sizeof(kBytes) - 1)];
    }
    seen.insert(parseTaLine(line, r));
  }
  EXPECT_TRUE(seen.count(TaParseError::kNotJson));
  EXPECT_TRUE(seen.count(TaParseError::kNone));
}

}  // namespace
}  // namespace nm
