#include "daemon/summary.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace nm {
namespace {

const std::string kDw(kKbpsDwMeasurement);
const std::string kUp(kKbpsUpMeasurement);

TaFlowEntry entry(std::string_view device_ip, std::string_view mac, std::string meta, double dw,
                  double up) {
  TaFlowEntry e;
  e.meta = std::move(meta);
  EXPECT_TRUE(IpAddr::parse(device_ip, e.device));
  if (!mac.empty()) {
    e.has_hw_addr = true;
    unsigned b[6];
    EXPECT_EQ(std::sscanf(std::string(mac).c_str(), "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3],
                          &b[4], &b[5]),
              6);
    for (size_t i = 0; i < 6; ++i) {
      e.hw_addr.bytes[i] = static_cast<uint8_t>(b[i]);
    }
  }
  e.kbps_dw = dw;
  e.kbps_up = up;
  return e;
}

TaRecord record(int64_t ts_end, std::vector<TaFlowEntry> data) {
  TaRecord r;
  r.ts_start = ts_end - 5;
  r.ts_end = ts_end;
  r.data = std::move(data);
  return r;
}

SummaryPoint point(const std::string& m, std::string device, std::string app, double v,
                   int64_t ts_s) {
  return {m, std::move(device), std::move(app), v, ts_s * 1'000'000'000, {}};
}

std::string show(const SummaryPoint& p) {
  return p.measurement + " " + p.device + " " + p.application + " " + std::to_string(p.value) +
         " " + std::to_string(p.ts_ns);
}

// Bit-exact comparison, in order.
void expectPoints(const std::vector<SummaryPoint>& got, const std::vector<SummaryPoint>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(got[i].measurement, want[i].measurement);
    EXPECT_EQ(got[i].device, want[i].device);
    EXPECT_EQ(got[i].application, want[i].application);
    EXPECT_EQ(std::bit_cast<uint64_t>(got[i].value), std::bit_cast<uint64_t>(want[i].value))
        << show(got[i]) << " vs " << show(want[i]);
    EXPECT_EQ(got[i].ts_ns, want[i].ts_ns);
  }
}

// --- hand-written cases from the rule ---------------------------------------------------------

TEST(ApplicationSummarizerTest, FirstRecordHasNoZeroFill) {
  ApplicationSummarizer s;
  const auto points = s.add(record(100, {entry("10.0.0.1", "aa:bb:cc:dd:ee:01", "Netflix", 2, 1),
                                         entry("10.0.0.2", "", "Zoom", 4, 3),
                                         entry("10.0.0.1", "aa:bb:cc:dd:ee:01", "Netflix", 5, 6)}));
  expectPoints(points,
               {point(kDw, "aa:bb:cc:dd:ee:01", "Netflix", 7, 100),
                point(kUp, "aa:bb:cc:dd:ee:01", "Netflix", 7, 100),
                point(kDw, "10.0.0.2", "Zoom", 4, 100), point(kUp, "10.0.0.2", "Zoom", 3, 100)});
}

TEST(ApplicationSummarizerTest, ZeroFillsVanishedPairsAtNowAndNewPairsAtThePreviousRecord) {
  ApplicationSummarizer s;
  s.add(record(100, {entry("10.0.0.1", "", "A", 1, 1), entry("10.0.0.1", "", "Kept", 1, 1)}));
  const auto points =
      s.add(record(105, {entry("10.0.0.1", "", "Kept", 2, 3), entry("10.0.0.1", "", "B", 4, 5)}));
  expectPoints(points, {
                           point(kDw, "10.0.0.1", "Kept", 2, 105),
                           point(kUp, "10.0.0.1", "Kept", 3, 105),
                           point(kDw, "10.0.0.1", "B", 4, 105),
                           point(kUp, "10.0.0.1", "B", 5, 105),
                           point(kDw, "10.0.0.1", "A", 0, 105),  // N-1 had it, N lacks it: T_N
                           point(kUp, "10.0.0.1", "A", 0, 105),
                           point(kDw, "10.0.0.1", "B", 0, 100),  // N has it, N-1 lacked it: T_N-1
                           point(kUp, "10.0.0.1", "B", 0, 100),
                       });
}

TEST(ApplicationSummarizerTest, AnEmptyRecordIsPartOfTheSequence) {
  ApplicationSummarizer s;
  s.add(record(100, {entry("10.0.0.1", "", "A", 1, 2)}));
  expectPoints(s.add(record(105, {})),
               {point(kDw, "10.0.0.1", "A", 0, 105), point(kUp, "10.0.0.1", "A", 0, 105)});
  EXPECT_TRUE(s.lastSums().empty());
  expectPoints(s.add(record(110, {entry("10.0.0.1", "", "A", 1, 2)})),
               {point(kDw, "10.0.0.1", "A", 1, 110), point(kUp, "10.0.0.1", "A", 2, 110),
                point(kDw, "10.0.0.1", "A", 0, 105), point(kUp, "10.0.0.1", "A", 0, 105)});
  // Only the record before counts, not older ones.
  expectPoints(s.add(record(115, {entry("10.0.0.1", "", "A", 3, 4)})),
               {point(kDw, "10.0.0.1", "A", 3, 115), point(kUp, "10.0.0.1", "A", 4, 115)});
}

TEST(ApplicationSummarizerTest, ZeroFillCanBeTurnedOff) {
  ApplicationSummarizer s(SummaryOptions{.zero_fill = false});
  s.add(record(100, {entry("10.0.0.1", "", "A", 1, 1)}));
  expectPoints(s.add(record(105, {entry("10.0.0.1", "", "B", 1, 2)})),
               {point(kDw, "10.0.0.1", "B", 1, 105), point(kUp, "10.0.0.1", "B", 2, 105)});
}

TEST(ApplicationSummarizerTest, DeviceIsTheMacWhenThereIsOneElseTheIp) {
  ApplicationSummarizer s;
  const auto points = s.add(record(
      100,
      {entry("192.168.0.3", "74:d0:2b:00:00:01", "Web", 1, 0),
       entry("2601:240:C401:0a70:0:0:0:1", "74:D0:2B:00:00:01", "Web", 2, 0),  // same MAC
       entry("192.168.0.3", "", "Web", 4, 0), entry("2601:240:c401:a70::1", "", "Web", 8, 0)}));
  expectPoints(
      points,
      {point(kDw, "74:d0:2b:00:00:01", "Web", 3, 100),
       point(kUp, "74:d0:2b:00:00:01", "Web", 0, 100), point(kDw, "192.168.0.3", "Web", 4, 100),
       point(kUp, "192.168.0.3", "Web", 0, 100), point(kDw, "2601:240:c401:a70::1", "Web", 8, 100),
       point(kUp, "2601:240:c401:a70::1", "Web", 0, 100)});
  ASSERT_EQ(s.lastSums().size(), 3u);
  EXPECT_EQ(s.lastSums()[0].device, "74:d0:2b:00:00:01");
  EXPECT_EQ(s.lastSums()[0].kbps_dw, 3);
  EXPECT_EQ(s.lastTsEnd(), 100);
}

TEST(ApplicationSummarizerTest, ApplicationAndDeviceTextsDoNotRunTogether) {
  ApplicationSummarizer s;
  const auto points = s.add(record(
      100, {entry("10.0.0.1", "", "A", 1, 0), entry("10.0.0.1", "", std::string("A\0", 2), 2, 0),
            entry("10.0.0.1", "", "", 4, 0)}));
  EXPECT_EQ(points.size(), 6u);
}

TEST(ApplicationSummarizerTest, SumsInDataOrderWithPlainAdditions) {
  // (1e16 + 1) + 1 rounds back to 1e16 twice; (1 + 1) + 1e16 does not.
  ApplicationSummarizer s;
  s.add(record(100, {entry("10.0.0.1", "", "A", 1e16, 0.1), entry("10.0.0.1", "", "A", 1, 0.2),
                     entry("10.0.0.1", "", "A", 1, 0.3)}));
  EXPECT_EQ(s.lastSums()[0].kbps_dw, 1e16);
  EXPECT_EQ(s.lastSums()[0].kbps_up, 0.6000000000000001);  // Python: 0.1 + 0.2 + 0.3
  s.add(record(105, {entry("10.0.0.1", "", "A", 1, 0.3), entry("10.0.0.1", "", "A", 1, 0.2),
                     entry("10.0.0.1", "", "A", 1e16, 0.1)}));
  EXPECT_EQ(s.lastSums()[0].kbps_dw, 1.0000000000000002e16);
  EXPECT_EQ(s.lastSums()[0].kbps_up, 0.6);  // Python: 0.3 + 0.2 + 0.1
}

// --- against an independent reference over random sequences ------------------------------------

// The rule restated as directly as possible: sums in a std::map, order from a list of first
// appearances, zero-fill by set difference.
struct Reference {
  using Pair = std::pair<std::string, std::string>;
  bool first = true;
  std::vector<Pair> previous_order;
  int64_t previous_ts = 0;

  std::vector<SummaryPoint> add(const TaRecord& r) {
    std::map<Pair, std::pair<double, double>> sums;
    std::vector<Pair> order;
    for (const TaFlowEntry& e : r.data) {
      const Pair key{e.has_hw_addr ? e.hw_addr.toString() : e.device.toString(), e.meta};
      if (!sums.contains(key)) {
        order.push_back(key);
        sums[key] = {0.0, 0.0};
      }
      sums[key].first = sums[key].first + e.kbps_dw;
      sums[key].second = sums[key].second + e.kbps_up;
    }
    std::vector<SummaryPoint> out;
    for (const Pair& k : order) {
      out.push_back(point(kDw, k.first, k.second, sums[k].first, r.ts_end));
      out.push_back(point(kUp, k.first, k.second, sums[k].second, r.ts_end));
    }
    if (!first) {
      const std::set<Pair> now(order.begin(), order.end());
      const std::set<Pair> before(previous_order.begin(), previous_order.end());
      for (const Pair& k : previous_order) {
        if (!now.contains(k)) {
          out.push_back(point(kDw, k.first, k.second, 0, r.ts_end));
          out.push_back(point(kUp, k.first, k.second, 0, r.ts_end));
        }
      }
      for (const Pair& k : order) {
        if (!before.contains(k)) {
          out.push_back(point(kDw, k.first, k.second, 0, previous_ts));
          out.push_back(point(kUp, k.first, k.second, 0, previous_ts));
        }
      }
    }
    first = false;
    previous_order = order;
    previous_ts = r.ts_end;
    return out;
  }
};

TEST(ApplicationSummarizerTest, MatchesTheReferenceOnRandomSequences) {
  const std::vector<std::pair<std::string, std::string>> devices = {
      {"192.168.0.3", ""},
      {"192.168.0.4", ""},
      {"192.168.0.3", "74:d0:2b:00:00:01"},
      {"192.168.0.9", "74:d0:2b:00:00:01"},
      {"fe80::1", ""},
      {"fe80::2", "00:11:22:33:44:55"}};
  const std::vector<std::string> apps = {"Unknown", "Other",     "Netflix", "YouTube",
                                         "Zoom",    "a b,c=d\\", "\u00e9"};
  std::mt19937_64 rng(4242);
  size_t zero_fills = 0;
  for (int sequence = 0; sequence < 200; ++sequence) {
    ApplicationSummarizer summarizer;
    Reference reference;
    int64_t ts = 1598050000 + static_cast<int64_t>(rng() % 1000);
    const int records = static_cast<int>(rng() % 30) + 1;
    for (int n = 0; n < records; ++n) {
      ts += static_cast<int64_t>(rng() % 3) * 5 + 1;
      std::vector<TaFlowEntry> data;
      // A few active pairs per record, so pairs keep appearing and disappearing.
      const size_t active_devices = rng() % 3;
      const size_t entries = rng() % 4 == 0 ? 0 : rng() % 12;
      for (size_t i = 0; i < entries; ++i) {
        const auto& [ip, mac] = devices[(rng() % (active_devices + 1) + n) % devices.size()];
        const double dw = static_cast<double>(rng() % 1000) / 10.0;  // 0.1 steps: not exact
        const double up = rng() % 5 == 0 ? 1e16 : static_cast<double>(rng() % 97) / 3.0;
        data.push_back(entry(ip, mac, apps[rng() % apps.size()], dw, up));
      }
      const TaRecord r = record(ts, std::move(data));
      const auto want = reference.add(r);
      const auto got = summarizer.add(r);
      SCOPED_TRACE(::testing::Message() << "sequence " << sequence << " record " << n);
      expectPoints(got, want);
      if (HasFailure()) {
        return;
      }
      zero_fills += want.size() - summarizer.lastSums().size() * 2;
      ASSERT_EQ(summarizer.lastTsEnd(), ts);
    }
  }
  EXPECT_GT(zero_fills, 1000u);  // the sequences did exercise the zero-fill
}

// --- the original's log line ------------------------------------------------------------------

TEST(OriginalLogLineTest, MatchesTheOriginalsFormat) {
  EXPECT_EQ(originalLogLine("192.168.0.3", "Unknown", 0.6875, 0.65625, 1598050385),
            "Unknown-192.168.0.3 {'KbpsDw': 0.6875, 'KbpsUp': 0.65625, 'TsEnd': 1598050385}");
  EXPECT_EQ(originalLogLine("74:d0:2b:00:00:01", "Netflix", 11.86875, 0, 1607925046),
            "Netflix-74:d0:2b:00:00:01 {'KbpsDw': 11.86875, 'KbpsUp': 0.0, 'TsEnd': 1607925046}");
}

TEST(OriginalLogLineTest, FormatsFloatsAsPythonsRepr) {
  // Left: the double (hex, exact); right: Python 3's repr() of it.
  const std::vector<std::pair<double, std::string>> cases = {
      {0.0, "0.0"},
      {-0.0, "-0.0"},
      {1.0, "1.0"},
      {0.1 + 0.2, "0.30000000000000004"},
      {1e-05, "1e-05"},
      {123456789012345678.0, "1.2345678901234568e+17"},
      {0.6875, "0.6875"},
      {0.65625, "0.65625"},
      {11.86875, "11.86875"},
      {1e16, "1e+16"},
      {1e15, "1000000000000000.0"},
      {9999999999999998.0, "9999999999999998.0"},
      {0.0001, "0.0001"},
      {0.00012345, "0.00012345"},
      {1e22, "1e+22"},
      {5e-324, "5e-324"},
      {1.7976931348623157e308, "1.7976931348623157e+308"},
      {100.0, "100.0"},
      {123.456, "123.456"},
      {-2.5, "-2.5"},
      {1.5e-5, "1.5e-05"},
      {9007199254740992.0, "9007199254740992.0"},
      {0.1, "0.1"},
      {1.0 / 3, "0.3333333333333333"},
      {std::numeric_limits<double>::infinity(), "inf"},
      {-std::numeric_limits<double>::infinity(), "-inf"},
      {std::numeric_limits<double>::quiet_NaN(), "nan"},
  };
  for (const auto& [value, repr] : cases) {
    EXPECT_EQ(pythonFloatRepr(value), repr) << std::hexfloat << value;
  }
}

}  // namespace
}  // namespace nm
