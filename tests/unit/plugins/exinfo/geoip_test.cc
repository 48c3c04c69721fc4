#include "plugins/exinfo/geoip.h"

#include <gtest/gtest.h>
#include <maxminddb.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <limits>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "mmdb_fixture.h"

namespace nm {
namespace {

namespace fs = std::filesystem;

IpAddr ip(const char* text) {
  IpAddr a;
  EXPECT_TRUE(IpAddr::parse(text, a)) << text;
  return a;
}

uint64_t counterValue(MetricsRegistry& m, const char* name, const char* key, const char* value) {
  return m.counter(name, "", {{key, value}}).value();
}
uint64_t errors(MetricsRegistry& m, const char* kind) {
  return counterValue(m, "netmicroscope_exinfo_geoip_errors_total", "kind", kind);
}
uint64_t lookups(MetricsRegistry& m, const char* result) {
  return counterValue(m, "netmicroscope_exinfo_geoip_lookups_total", "result", result);
}

void writeFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Files written by write_test_mmdb.pl once per test binary run.
class GeoIpTest : public test::GeneratedMmdbTest {
 protected:
  std::unique_ptr<GeoIpDatabases> openOk(const GeoIpPaths& paths) {
    std::string error;
    auto db = GeoIpDatabases::open(paths, metrics_, error);
    EXPECT_NE(db, nullptr) << error;
    EXPECT_EQ(error, "");
    return db;
  }
  std::unique_ptr<GeoIpDatabases> openBoth() {
    return openOk({file("city.mmdb"), file("asn.mmdb")});
  }

  static void expectLondon(const GeoInfo& g) {
    EXPECT_EQ(g.city, "London");
    EXPECT_EQ(g.region, "England");
    EXPECT_EQ(g.country_iso, "GB");
    EXPECT_EQ(g.country_name, "United Kingdom");
    EXPECT_EQ(g.continent_code, "EU");
    ASSERT_TRUE(g.hasLocation());
    EXPECT_DOUBLE_EQ(*g.latitude, 51.5142);
    EXPECT_DOUBLE_EQ(*g.longitude, -0.0931);
    EXPECT_EQ(g.accuracy_radius_km, std::optional<uint16_t>(10));
  }

  MetricsRegistry metrics_;
};

TEST_F(GeoIpTest, CityRecordInsideBlock) {
  auto db = openOk({file("city.mmdb"), ""});
  ASSERT_NE(db, nullptr);
  auto g = db->lookup(ip("81.2.69.170"));
  ASSERT_TRUE(g.has_value());
  expectLondon(*g);
  EXPECT_FALSE(g->asn.has_value());
  EXPECT_EQ(g->as_org, "");
  EXPECT_EQ(errors(metrics_, "bad_field"), 0u);
}

TEST_F(GeoIpTest, BlockEdges) {
  auto db = openOk({file("city.mmdb"), ""});
  ASSERT_NE(db, nullptr);
  for (const char* inside : {"81.2.69.160", "81.2.69.191"}) {
    auto g = db->lookup(ip(inside));
    ASSERT_TRUE(g.has_value()) << inside;
    EXPECT_EQ(g->city, "London") << inside;
  }
  for (const char* inside : {"89.160.20.112", "89.160.20.127"}) {
    auto g = db->lookup(ip(inside));
    ASSERT_TRUE(g.has_value()) << inside;
    EXPECT_EQ(g->country_iso, "SE") << inside;
  }
  for (const char* inside : {"2001:218::", "2001:218:ffff:ffff:ffff:ffff:ffff:ffff"}) {
    auto g = db->lookup(ip(inside));
    ASSERT_TRUE(g.has_value()) << inside;
    EXPECT_EQ(g->country_iso, "JP") << inside;
  }
  for (const char* outside :
       {"81.2.69.159", "81.2.69.192", "89.160.20.111", "89.160.20.128",
        "2001:217:ffff:ffff:ffff:ffff:ffff:ffff", "2001:219::", "8.8.8.8", "2606:4700::1"}) {
    EXPECT_FALSE(db->lookup(ip(outside)).has_value()) << outside;
  }
}

TEST_F(GeoIpTest, NonAsciiNamesAreUtf8AndEnglish) {
  auto db = openOk({file("city.mmdb"), ""});
  ASSERT_NE(db, nullptr);
  auto g = db->lookup(ip("89.160.20.120"));
  ASSERT_TRUE(g.has_value());
  EXPECT_EQ(g->city, "Link\xc3\xb6ping");
  EXPECT_EQ(g->region, "\xc3\x96sterg\xc3\xb6tland County");
  EXPECT_EQ(g->country_name, "Sweden");  // not the record's "Sverige"
  EXPECT_EQ(g->country_iso, "SE");
  EXPECT_EQ(g->continent_code, "EU");
  ASSERT_TRUE(g->hasLocation());
  EXPECT_DOUBLE_EQ(*g->latitude, 58.4167);
  EXPECT_DOUBLE_EQ(*g->longitude, 15.6167);
  EXPECT_EQ(g->accuracy_radius_km, std::optional<uint16_t>(76));
}

TEST_F(GeoIpTest, CountryLevelBlockWithEmptySubdivisions) {
  auto db = openOk({file("city.mmdb"), ""});
  ASSERT_NE(db, nullptr);
  auto g = db->lookup(ip("2001:218:1234::1"));
  ASSERT_TRUE(g.has_value());
  EXPECT_EQ(g->city, "");
  EXPECT_EQ(g->region, "");
  EXPECT_EQ(g->country_iso, "JP");
  EXPECT_EQ(g->country_name, "Japan");
  EXPECT_EQ(g->continent_code, "AS");
  ASSERT_TRUE(g->hasLocation());
  EXPECT_DOUBLE_EQ(*g->latitude, 35.69);
  EXPECT_DOUBLE_EQ(*g->longitude, 139.69);
  EXPECT_EQ(g->accuracy_radius_km, std::optional<uint16_t>(100));
  // An empty list is "no region", not a malformed record.
  EXPECT_EQ(errors(metrics_, "bad_field"), 0u);
}

TEST_F(GeoIpTest, RegisteredCountryWhenNoCountry) {
  auto db = openOk({file("city.mmdb"), ""});
  ASSERT_NE(db, nullptr);
  auto g = db->lookup(ip("67.43.156.7"));
  ASSERT_TRUE(g.has_value());
  EXPECT_EQ(g->country_iso, "BT");
  EXPECT_EQ(g->country_name, "Bhutan");
  EXPECT_EQ(g->continent_code, "AS");
  EXPECT_EQ(g->accuracy_radius_km, std::optional<uint16_t>(534));
}

TEST_F(GeoIpTest, Ipv4InIpv6Database) {
  auto db = openOk({file("city.mmdb"), ""});
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(db->cityInfo().ip_version, 6);
  // Plain IPv4, IPv4-mapped, and the IPv4 subtree (::/96) itself all reach the same record.
  for (const char* text : {"81.2.69.170", "::ffff:81.2.69.170", "::81.2.69.170"}) {
    auto g = db->lookup(ip(text));
    ASSERT_TRUE(g.has_value()) << text;
    expectLondon(*g);
  }
  EXPECT_FALSE(db->lookup(ip("::ffff:81.2.69.192")).has_value());
}

TEST_F(GeoIpTest, Ipv4OnlyDatabase) {
  auto db = openOk({file("city_v4.mmdb"), ""});
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(db->cityInfo().ip_version, 4);
  for (const char* text : {"81.2.69.170", "::ffff:81.2.69.170"}) {
    auto g = db->lookup(ip(text));
    ASSERT_TRUE(g.has_value()) << text;
    expectLondon(*g);
  }
  EXPECT_FALSE(db->lookup(ip("81.2.69.192")).has_value());
  EXPECT_EQ(errors(metrics_, "ipv6_in_ipv4_database"), 0u);
  EXPECT_FALSE(db->lookup(ip("2001:218::1")).has_value());
  EXPECT_EQ(errors(metrics_, "ipv6_in_ipv4_database"), 1u);
}

TEST_F(GeoIpTest, CityAndAsnCombined) {
  auto db = openBoth();
  ASSERT_NE(db, nullptr);
  auto g = db->lookup(ip("81.2.69.170"));
  ASSERT_TRUE(g.has_value());
  expectLondon(*g);
  EXPECT_EQ(g->asn, std::optional<uint32_t>(20712));
  EXPECT_EQ(g->as_org, "Andrews & Arnold Ltd");
  auto se = db->lookup(ip("89.160.20.113"));
  ASSERT_TRUE(se.has_value());
  EXPECT_EQ(se->city, "Link\xc3\xb6ping");
  EXPECT_EQ(se->asn, std::optional<uint32_t>(29518));
  EXPECT_EQ(se->as_org, "Bredband2 AB");
}

TEST_F(GeoIpTest, AsnOnlyAnswers) {
  auto db = openBoth();
  ASSERT_NE(db, nullptr);
  // 1.128.0.0/11 = 1.128.0.0 - 1.159.255.255
  for (const char* inside : {"1.128.0.0", "1.140.1.2", "1.159.255.255", "::ffff:1.128.0.1"}) {
    auto g = db->lookup(ip(inside));
    ASSERT_TRUE(g.has_value()) << inside;
    EXPECT_EQ(g->asn, std::optional<uint32_t>(1221)) << inside;
    EXPECT_EQ(g->as_org, "Telstra Pty Ltd") << inside;
    EXPECT_EQ(g->city, "") << inside;
    EXPECT_EQ(g->country_iso, "") << inside;
    EXPECT_FALSE(g->hasLocation()) << inside;
    EXPECT_FALSE(g->accuracy_radius_km.has_value()) << inside;
  }
  // 2600:6000::/20 = 2600:6000:: - 2600:6fff:ffff:...
  for (const char* inside :
       {"2600:6000::", "2600:6abc::1", "2600:6fff:ffff:ffff:ffff:ffff:ffff:ffff"}) {
    auto g = db->lookup(ip(inside));
    ASSERT_TRUE(g.has_value()) << inside;
    EXPECT_EQ(g->asn, std::optional<uint32_t>(20001)) << inside;
    EXPECT_EQ(g->as_org, "Charter Communications Inc") << inside;
  }
  for (const char* outside :
       {"1.127.255.255", "1.160.0.0", "2600:5fff:ffff:ffff:ffff:ffff:ffff:ffff", "2600:7000::"}) {
    EXPECT_FALSE(db->lookup(ip(outside)).has_value()) << outside;
  }
}

TEST_F(GeoIpTest, WithoutAsnDatabase) {
  auto db = openOk({file("city.mmdb"), ""});
  ASSERT_NE(db, nullptr);
  EXPECT_FALSE(db->asnInfo().has_value());
  EXPECT_FALSE(db->lookup(ip("1.128.0.1")).has_value());  // only the ASN db knows it
  auto g = db->lookup(ip("81.2.69.170"));
  ASSERT_TRUE(g.has_value());
  EXPECT_FALSE(g->asn.has_value());
}

TEST_F(GeoIpTest, Metadata) {
  auto db = openBoth();
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(db->cityInfo().path, file("city.mmdb"));
  EXPECT_EQ(db->cityInfo().database_type, "GeoLite2-City");
  ASSERT_TRUE(db->asnInfo().has_value());
  EXPECT_EQ(db->asnInfo()->path, file("asn.mmdb"));
  EXPECT_EQ(db->asnInfo()->database_type, "GeoLite2-ASN");
  EXPECT_EQ(db->asnInfo()->ip_version, 6);
  // Written by SetUpTestSuite, moments ago.
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  EXPECT_LE(db->cityInfo().build_epoch, static_cast<uint64_t>(now));
  EXPECT_GE(db->cityInfo().build_epoch, static_cast<uint64_t>(now - 3600));
}

TEST_F(GeoIpTest, CountsLookupsAndUnsetAddresses) {
  auto db = openBoth();
  ASSERT_NE(db, nullptr);
  EXPECT_TRUE(db->lookup(ip("81.2.69.170")).has_value());
  EXPECT_TRUE(db->lookup(ip("1.128.0.1")).has_value());
  EXPECT_FALSE(db->lookup(ip("8.8.8.8")).has_value());
  EXPECT_FALSE(db->lookup(IpAddr{}).has_value());
  EXPECT_EQ(lookups(metrics_, "found"), 2u);
  EXPECT_EQ(lookups(metrics_, "not_found"), 1u);
  EXPECT_EQ(errors(metrics_, "unset_address"), 1u);
  EXPECT_EQ(errors(metrics_, "lookup_failed"), 0u);
}

TEST_F(GeoIpTest, WrongFieldTypesAreCountedNotTrusted) {
  auto db = openOk({file("weird.mmdb"), ""});
  ASSERT_NE(db, nullptr);
  auto g = db->lookup(ip("5.5.5.5"));
  ASSERT_TRUE(g.has_value());              // the record exists; its fields are unusable
  EXPECT_EQ(g->city, "");                  // a uint32 name
  EXPECT_EQ(g->region, "");                // subdivisions is a string, not a list
  EXPECT_FALSE(g->latitude.has_value());   // text latitude...
  EXPECT_FALSE(g->longitude.has_value());  // ...so the valid longitude alone is dropped too
  EXPECT_FALSE(g->accuracy_radius_km.has_value());  // 70000 does not fit uint16
  EXPECT_EQ(errors(metrics_, "bad_field"), 5u);
}

TEST_F(GeoIpTest, ConcurrentLookupsAgreeWithSerialOnes) {
  auto db = openBoth();
  ASSERT_NE(db, nullptr);
  const std::vector<IpAddr> addrs = {ip("81.2.69.170"), ip("89.160.20.120"),     ip("2001:218::1"),
                                     ip("1.150.0.1"),   ip("2600:6000::5"),      ip("8.8.8.8"),
                                     ip("67.43.156.1"), ip("::ffff:81.2.69.161")};
  std::vector<std::optional<GeoInfo>> expected;
  for (const auto& a : addrs) {
    expected.push_back(db->lookup(a));
  }
  constexpr int kThreads = 4;
  constexpr int kRounds = 5000;
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRounds; ++i) {
        const size_t k = static_cast<size_t>(i + t) % addrs.size();
        auto g = db->lookup(addrs[k]);
        const auto& e = expected[k];
        const bool same = g.has_value() == e.has_value() &&
                          (!g || (g->city == e->city && g->country_iso == e->country_iso &&
                                  g->asn == e->asn && g->as_org == e->as_org &&
                                  g->latitude == e->latitude && g->region == e->region));
        if (!same) {
          mismatches.fetch_add(1);
        }
      }
    });
  }
  for (auto& th : threads) {
    th.join();
  }
  EXPECT_EQ(mismatches.load(), 0);
  // Every lookup is counted exactly once, serial and concurrent ones alike.
  const uint64_t total = addrs.size() + static_cast<uint64_t>(kThreads) * kRounds;
  EXPECT_EQ(lookups(metrics_, "found") + lookups(metrics_, "not_found"), total);
}

TEST_F(GeoIpTest, MissingAsnFileFailsTheOpenAndNamesIt) {
  const std::string missing = dir_->path() + "/no-such-asn.mmdb";
  std::string error;
  auto db = GeoIpDatabases::open({file("city.mmdb"), missing}, metrics_, error);
  EXPECT_EQ(db, nullptr);
  EXPECT_NE(error.find("ASN database '" + missing + "'"), std::string::npos) << error;
  EXPECT_NE(error.find(MMDB_strerror(MMDB_FILE_OPEN_ERROR)), std::string::npos) << error;
  EXPECT_NE(error.find("No such file or directory"), std::string::npos) << error;
  EXPECT_EQ(error.find("City"), std::string::npos) << error;  // the City file was fine
}

TEST_F(GeoIpTest, SwappedPathsAreRejected) {
  std::string error;
  auto db = GeoIpDatabases::open({file("asn.mmdb"), file("city.mmdb")}, metrics_, error);
  EXPECT_EQ(db, nullptr);
  EXPECT_NE(error.find("City database '" + file("asn.mmdb") + "' is a GeoLite2-ASN database"),
            std::string::npos)
      << error;
  EXPECT_NE(error.find("ASN database '" + file("city.mmdb") + "' is a GeoLite2-City database"),
            std::string::npos)
      << error;
}

TEST_F(GeoIpTest, TruncatedDatabaseIsAnError) {
  const std::string whole = readFile(file("city.mmdb"));
  ASSERT_GT(whole.size(), 1000u);
  const std::string cut = dir_->path() + "/cut.mmdb";
  writeFile(cut, whole.substr(0, whole.size() / 2));  // the metadata lives at the end
  std::string error;
  EXPECT_EQ(GeoIpDatabases::open({cut, ""}, metrics_, error), nullptr);
  EXPECT_NE(error.find("'" + cut + "'"), std::string::npos) << error;
  EXPECT_NE(error.find(MMDB_strerror(MMDB_INVALID_METADATA_ERROR)), std::string::npos) << error;
}

TEST_F(GeoIpTest, CorruptSearchTreeFailsLookupsNotTheProcess) {
  std::string bytes = readFile(file("city.mmdb"));
  ASSERT_GT(bytes.size(), 512u);
  // Every record in the first nodes now points far past the tree and the data section.
  for (size_t i = 0; i < 512; ++i) {
    bytes[i] = static_cast<char>(0xff);
  }
  const std::string bad = dir_->path() + "/bad-tree.mmdb";
  writeFile(bad, bytes);
  std::string error;
  auto db = GeoIpDatabases::open({bad, ""}, metrics_, error);
  ASSERT_NE(db, nullptr) << error;  // metadata intact: the damage shows only on lookup
  EXPECT_FALSE(db->lookup(ip("81.2.69.170")).has_value());
  EXPECT_FALSE(db->lookup(ip("2001:218::1")).has_value());
  EXPECT_EQ(errors(metrics_, "lookup_failed"), 2u);
}

// These need no generated database.

TEST(GeoIpOpen, MissingCityFileNamesPathAndReason) {
  test::TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string missing = dir.path() + "/GeoLite2-City.mmdb";
  MetricsRegistry metrics;
  std::string error;
  EXPECT_EQ(GeoIpDatabases::open({missing, ""}, metrics, error), nullptr);
  EXPECT_NE(error.find("City database '" + missing + "'"), std::string::npos) << error;
  EXPECT_NE(error.find(MMDB_strerror(MMDB_FILE_OPEN_ERROR)), std::string::npos) << error;
  EXPECT_NE(error.find("No such file or directory"), std::string::npos) << error;
}

TEST(GeoIpOpen, BothMissingReportsBoth) {
  test::TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  MetricsRegistry metrics;
  std::string error;
  const std::string city = dir.path() + "/c.mmdb";
  const std::string asn = dir.path() + "/a.mmdb";
  EXPECT_EQ(GeoIpDatabases::open({city, asn}, metrics, error), nullptr);
  EXPECT_NE(error.find("'" + city + "'"), std::string::npos) << error;
  EXPECT_NE(error.find("'" + asn + "'"), std::string::npos) << error;
}

TEST(GeoIpOpen, RandomBytesAreRejectedWithPath) {
  test::TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string path = dir.path() + "/random.mmdb";
  std::mt19937 rng(20240501);
  std::string bytes(64 * 1024, '\0');
  for (auto& c : bytes) {
    c = static_cast<char>(rng() & 0xff);
  }
  writeFile(path, bytes);
  MetricsRegistry metrics;
  std::string error;
  EXPECT_EQ(GeoIpDatabases::open({path, ""}, metrics, error), nullptr);
  EXPECT_NE(error.find("City database '" + path + "'"), std::string::npos) << error;
  EXPECT_NE(error.find(MMDB_strerror(MMDB_INVALID_METADATA_ERROR)), std::string::npos) << error;
}

TEST(GeoIpOpen, EmptyFileIsRejectedWithPath) {
  test::TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string path = dir.path() + "/empty.mmdb";
  writeFile(path, "");
  MetricsRegistry metrics;
  std::string error;
  EXPECT_EQ(GeoIpDatabases::open({path, ""}, metrics, error), nullptr);
  EXPECT_NE(error.find("'" + path + "'"), std::string::npos) << error;
}

TEST(GeoIpOpen, CityPathIsRequired) {
  MetricsRegistry metrics;
  std::string error;
  EXPECT_EQ(GeoIpDatabases::open({"", ""}, metrics, error), nullptr);
  EXPECT_NE(error.find("no path configured"), std::string::npos) << error;
}

TEST(FormatCoordinate, FixedFourDecimals) {
  EXPECT_EQ(formatCoordinate(51.5142), "51.5142");
  EXPECT_EQ(formatCoordinate(-0.0931), "-0.0931");
  EXPECT_EQ(formatCoordinate(35.69), "35.6900");
  EXPECT_EQ(formatCoordinate(139.69), "139.6900");
  EXPECT_EQ(formatCoordinate(-180.0), "-180.0000");
  EXPECT_EQ(formatCoordinate(0.0), "0.0000");
  EXPECT_EQ(formatCoordinate(58.41674), "58.4167");
  EXPECT_EQ(formatCoordinate(58.41676), "58.4168");
  // No negative zero: the same spot must give the same tag.
  EXPECT_EQ(formatCoordinate(-0.0), "0.0000");
  EXPECT_EQ(formatCoordinate(-0.00001), "0.0000");
  EXPECT_EQ(formatCoordinate(-0.00005), "-0.0001");
  EXPECT_EQ(formatCoordinate(std::numeric_limits<double>::quiet_NaN()), "");
  EXPECT_EQ(formatCoordinate(std::numeric_limits<double>::infinity()), "");
}

}  // namespace
}  // namespace nm
