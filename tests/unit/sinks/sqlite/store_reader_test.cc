// StoreReader's range queries (devices, applications, series, totals, tier choice) against a
// real store, compared with sums computed here from the raw inputs alone.

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <thread>

#include "../store/store_test_util.h"
#include "sinks/sqlite/sqlite_sink.h"
#include "sinks/sqlite/store_reader.h"
#include "sinks/sqlite/store_state.h"

namespace nm::store_test {
namespace {

constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

bool near(double a, double b) {
  return std::abs(a - b) <= 1e-9 * (1 + std::abs(a));
}

struct RawRow {
  std::string dep, dev, app;
  int64_t ts = 0;
  int64_t seconds = 0;
  DeviceApplicationSample s;
};

SqliteStoreOptions optionsFor(const std::string& path) {
  SqliteStoreOptions o;
  o.path = path;
  o.retention_interval = std::chrono::milliseconds(0);
  return o;
}

std::unique_ptr<StoreReader> openReader(const std::string& path) {
  std::string error;
  auto r = StoreReader::open(path, error);
  EXPECT_NE(r, nullptr) << error;
  return r;
}

bool matches(const StoreQuery& q, const RawRow& r, int64_t end) {
  return end > q.from && end <= q.to && (!q.deployment || *q.deployment == r.dep) &&
         (!q.device || *q.device == r.dev) && (!q.application || *q.application == r.app);
}

// The period end a raw row falls in at `step` (0: raw).
int64_t endAt(const RawRow& r, int64_t step) {
  return step == 0 ? r.ts : ceilTo(r.ts, step);
}

// applications(q) from raw rows: per pair, sums of the rows whose period end is in range.
void expectApplications(const std::vector<RawRow>& raw, const StoreQuery& q, int64_t step,
                        const std::vector<StoredApplication>& got, const std::string& what) {
  struct Want {
    StoredApplication a;
    double wdw = 0;
    double wup = 0;
  };
  std::map<std::tuple<std::string, std::string, std::string>, Want> want;
  for (const RawRow& r : raw) {
    const int64_t end = endAt(r, step);
    if (!matches(q, r, end)) {
      continue;
    }
    auto [it, fresh] = want.try_emplace({r.dep, r.dev, r.app});
    StoredApplication& a = it->second.a;
    if (fresh) {
      a.first = end;
      a.last = end;
    }
    a.bytes_dw += r.s.bytes_dw;
    a.bytes_up += r.s.bytes_up;
    a.pkts_dw += r.s.pkts_dw;
    a.pkts_up += r.s.pkts_up;
    a.flows += r.s.flows;
    a.active_seconds += r.seconds;
    a.first = std::min(a.first, end);
    a.last = std::max(a.last, end);
    it->second.wdw += r.s.kbps_dw * static_cast<double>(r.seconds);
    it->second.wup += r.s.kbps_up * static_cast<double>(r.seconds);
  }
  ASSERT_EQ(got.size(), want.size()) << what;
  uint64_t previous = UINT64_MAX;
  for (const StoredApplication& g : got) {
    auto it = want.find({g.deployment, g.device, g.application});
    ASSERT_NE(it, want.end()) << what << ": unexpected " << g.device << "/" << g.application;
    const StoredApplication& w = it->second.a;
    const double secs = static_cast<double>(std::max<int64_t>(w.active_seconds, 1));
    EXPECT_EQ(g.bytes_dw, w.bytes_dw) << what;
    EXPECT_EQ(g.bytes_up, w.bytes_up) << what;
    EXPECT_EQ(g.pkts_dw, w.pkts_dw) << what;
    EXPECT_EQ(g.pkts_up, w.pkts_up) << what;
    EXPECT_EQ(g.flows, w.flows) << what;
    EXPECT_EQ(g.active_seconds, w.active_seconds) << what;
    EXPECT_TRUE(near(it->second.wdw / secs, g.mean_kbps_dw)) << what << " " << g.mean_kbps_dw;
    EXPECT_TRUE(near(it->second.wup / secs, g.mean_kbps_up)) << what << " " << g.mean_kbps_up;
    EXPECT_EQ(g.first, w.first) << what;
    EXPECT_EQ(g.last, w.last) << what;
    EXPECT_EQ(g.device_name, g.device) << what;
    EXPECT_LE(g.bytes_dw + g.bytes_up, previous) << what << ": most bytes first";
    previous = g.bytes_dw + g.bytes_up;
  }
}

// series(q) from raw rows: per period end, sums over rows; rates as the tier holds them (raw:
// the window's; rollups: sum(rate * seconds) / step); seconds the longest pair coverage.
void expectSeries(const std::vector<RawRow>& raw, const StoreQuery& q, int64_t step,
                  const StoredSeries& got, const std::string& what) {
  std::map<int64_t, SeriesPoint> want;
  std::map<std::tuple<int64_t, std::string, std::string, std::string>, int64_t> pair_seconds;
  for (const RawRow& r : raw) {
    const int64_t end = endAt(r, step);
    if (!matches(q, r, end)) {
      continue;
    }
    SeriesPoint& p = want[end];
    p.ts = end;
    const double w = step == 0 ? 1.0 : static_cast<double>(r.seconds) / static_cast<double>(step);
    p.kbps_dw += r.s.kbps_dw * w;
    p.kbps_up += r.s.kbps_up * w;
    p.bytes_dw += r.s.bytes_dw;
    p.bytes_up += r.s.bytes_up;
    p.pkts_dw += r.s.pkts_dw;
    p.pkts_up += r.s.pkts_up;
    p.flows += r.s.flows;
    int64_t& secs = pair_seconds[{end, r.dep, r.dev, r.app}];
    secs += r.seconds;
    p.seconds = std::max(p.seconds, secs);
  }
  EXPECT_EQ(got.step_s, step) << what;
  ASSERT_EQ(got.points.size(), want.size()) << what;
  size_t i = 0;
  for (const auto& [ts, w] : want) {
    const SeriesPoint& g = got.points[i++];
    ASSERT_EQ(g.ts, ts) << what;
    EXPECT_EQ(g.seconds, w.seconds) << what << " @" << ts;
    EXPECT_TRUE(near(w.kbps_dw, g.kbps_dw)) << what << " @" << ts;
    EXPECT_TRUE(near(w.kbps_up, g.kbps_up)) << what << " @" << ts;
    EXPECT_EQ(g.bytes_dw, w.bytes_dw) << what << " @" << ts;
    EXPECT_EQ(g.bytes_up, w.bytes_up) << what << " @" << ts;
    EXPECT_EQ(g.pkts_dw, w.pkts_dw) << what << " @" << ts;
    EXPECT_EQ(g.pkts_up, w.pkts_up) << what << " @" << ts;
    EXPECT_EQ(g.flows, w.flows) << what << " @" << ts;
  }
}

void expectTotals(const std::vector<RawRow>& raw, const StoreQuery& q, int64_t step,
                  const StoredTotals& got, const std::string& what) {
  StoredTotals w;
  std::set<std::pair<std::string, std::string>> devices;
  std::set<std::string> apps;
  bool any = false;
  for (const RawRow& r : raw) {
    const int64_t end = endAt(r, step);
    if (!matches(q, r, end)) {
      continue;
    }
    w.bytes_dw += r.s.bytes_dw;
    w.bytes_up += r.s.bytes_up;
    w.pkts_dw += r.s.pkts_dw;
    w.pkts_up += r.s.pkts_up;
    w.flows += r.s.flows;
    devices.emplace(r.dep, r.dev);
    apps.insert(r.app);
    w.first = any ? std::min(w.first, end) : end;
    w.last = any ? std::max(w.last, end) : end;
    any = true;
  }
  EXPECT_EQ(got.bytes_dw, w.bytes_dw) << what;
  EXPECT_EQ(got.bytes_up, w.bytes_up) << what;
  EXPECT_EQ(got.pkts_dw, w.pkts_dw) << what;
  EXPECT_EQ(got.pkts_up, w.pkts_up) << what;
  EXPECT_EQ(got.flows, w.flows) << what;
  EXPECT_EQ(got.devices, devices.size()) << what;
  EXPECT_EQ(got.applications, apps.size()) << what;
  EXPECT_EQ(got.first, w.first) << what;
  EXPECT_EQ(got.last, w.last) << what;
}

// Three hours of 5 s windows from two deployments sharing a device key, pairs switching on and
// off, some windows empty, some missing; every query in every tier against the raw inputs.
TEST(StoreReaderQueries, EveryTierMatchesSumsOfRawInputs) {
  TempDir dir;
  const std::string path = dir.file("store.db");
  MetricsRegistry metrics;
  auto sink = openSink(optionsFor(path), metrics);
  ASSERT_NE(sink, nullptr);
  std::mt19937_64 rng(777);
  const auto uniform = [&](double lo, double hi) {
    return std::uniform_real_distribution<double>(lo, hi)(rng);
  };
  const std::vector<std::string> deps = {"lab", "home"};
  const std::vector<std::string> devs = {"aa:bb:cc:00:00:01", "10.0.0.2", "10.0.0.3"};
  const std::vector<std::string> apps = {"YouTube", "Zoom", "Netflix", "Unknown"};
  std::vector<RawRow> raw;
  constexpr int64_t kFirstEnd = 1'700'000'005;  // 5 s aligned, not on a minute
  int written = 0;
  for (int64_t i = 0; i < 3 * 720; ++i) {
    const int64_t end = kFirstEnd + 5 * i;
    for (const std::string& dep : deps) {
      if (uniform(0, 1) < 0.05) {
        continue;  // window missing
      }
      RecordSummary s = summary(dep, end - 5, end, {});
      for (const std::string& dev : devs) {
        for (const std::string& app : apps) {
          if (uniform(0, 1) < 0.3) {
            DeviceApplicationSample a = sample(
                dev, app, uniform(0, 5000), uniform(0, 300), static_cast<uint64_t>(uniform(0, 3e6)),
                static_cast<uint64_t>(uniform(0, 2e5)), static_cast<uint64_t>(uniform(0, 2000)),
                static_cast<uint64_t>(uniform(0, 900)), static_cast<uint32_t>(uniform(1, 5)));
            raw.push_back({dep, dev, app, end, 5, a});
            s.samples.push_back(std::move(a));
          }
        }
      }
      sink->write(s);
      if (++written % 97 == 0) {
        ASSERT_TRUE(sink->commit());
      }
    }
  }
  ASSERT_TRUE(sink->commit());

  auto reader = openReader(path);
  ASSERT_NE(reader, nullptr);
  const int64_t steps[] = {0, 60, 3600};
  std::vector<StoreQuery> queries(6);
  queries[1].deployment = "lab";
  queries[2].device = "aa:bb:cc:00:00:01";  // in both deployments
  queries[3].deployment = "home";
  queries[3].device = "10.0.0.2";
  queries[3].application = "Zoom";
  queries[4].application = "Netflix";
  queries[4].from = kFirstEnd + 1000;  // unaligned in every tier
  queries[4].to = kFirstEnd + 7777;
  queries[5].from = kFirstEnd + 3600;
  queries[5].to = kFirstEnd + 3600 + 5;  // one raw period, at most one rollup period
  for (size_t qi = 0; qi < queries.size(); ++qi) {
    for (int tier = 0; tier < 3; ++tier) {
      StoreQuery q = queries[qi];
      q.tier = tier;
      const std::string what = "query " + std::to_string(qi) + " tier " + std::to_string(tier);
      std::string error;
      const auto got_apps = reader->applications(q, error);
      ASSERT_EQ(error, "") << what;
      expectApplications(raw, q, steps[tier], got_apps, what);
      const StoredSeries series = reader->series(q, 0, error);
      ASSERT_EQ(error, "") << what;
      EXPECT_EQ(series.tier, tier) << what;
      expectSeries(raw, q, steps[tier], series, what);
      const StoredTotals totals = reader->totals(q, error);
      ASSERT_EQ(error, "") << what;
      EXPECT_EQ(totals.tier, tier);
      expectTotals(raw, q, steps[tier], totals, what);
    }
  }
  // Nothing was cut: the automatic choice is raw, and matches it.
  std::string error;
  StoreQuery all;
  EXPECT_EQ(reader->chooseTier(all, 0, error), 0);
  expectTotals(raw, all, 0, reader->totals(all, error), "auto");
  EXPECT_EQ(error, "");
  // An empty range and an unknown name give nothing, without an error.
  StoreQuery none;
  none.application = "NoSuchApp";
  EXPECT_TRUE(reader->applications(none, error).empty());
  EXPECT_TRUE(reader->series(none, 0, error).points.empty());
  EXPECT_EQ(reader->totals(none, error).bytes_dw, 0u);
  EXPECT_EQ(error, "");
}

TEST(StoreReaderQueries, DevicesWithNamesSeenAndTotalBytes) {
  TempDir dir;
  const std::string path = dir.file("store.db");
  MetricsRegistry metrics;
  auto sink = openSink(optionsFor(path), metrics);
  ASSERT_NE(sink, nullptr);
  sink->write(summary("lab", 95, 100,
                      {sample("mac1", "YouTube", 1000, 20, 600000, 10000, 500, 200, 2),
                       sample("ip2", "Zoom", 100, 100, 60000, 60000, 80, 80, 1)}));
  sink->write(summary("lab", 100, 105, {sample("mac1", "Zoom", 10, 10, 5000, 4000, 5, 4, 1)}));
  sink->write(summary("home", 200, 205, {sample("mac1", "Zoom", 10, 10, 700, 300, 5, 4, 1)}));
  ASSERT_TRUE(sink->commit());
  std::string error;
  auto state = StoreState::open(path, 1000, error);
  ASSERT_NE(state, nullptr) << error;
  ASSERT_TRUE(state->setDeviceName("lab", "ip2", "Kitchen TV", error)) << error;
  ASSERT_TRUE(state->setDeviceName("lab", "unseen", "Printer", error)) << error;

  auto reader = openReader(path);
  ASSERT_NE(reader, nullptr);
  const auto devices = reader->devices(error);
  EXPECT_EQ(error, "");
  ASSERT_EQ(devices.size(), 4u);
  EXPECT_EQ(devices[0].deployment, "lab");
  EXPECT_EQ(devices[0].key, "mac1");
  EXPECT_EQ(devices[0].name, "mac1");
  EXPECT_EQ(devices[0].first_seen, 100);
  EXPECT_EQ(devices[0].last_seen, 105);
  EXPECT_EQ(devices[0].bytes_dw, 605000u);
  EXPECT_EQ(devices[0].bytes_up, 14000u);
  EXPECT_EQ(devices[1].key, "ip2");
  EXPECT_EQ(devices[1].name, "Kitchen TV");
  EXPECT_EQ(devices[1].bytes_dw + devices[1].bytes_up, 120000u);
  EXPECT_EQ(devices[2].deployment, "home");
  EXPECT_EQ(devices[2].key, "mac1");
  EXPECT_EQ(devices[2].first_seen, 205);
  EXPECT_EQ(devices[2].bytes_dw, 700u);
  EXPECT_EQ(devices[3].name, "Printer");
  EXPECT_EQ(devices[3].bytes_dw, 0u);
  EXPECT_GT(devices[3].first_seen, devices[3].last_seen);  // named, never seen
}

// Tiers as configured and cut; the automatic choice follows retention and the point budget.
TEST(StoreReaderQueries, AutoTierFollowsRetentionAndPointBudget) {
  TempDir dir;
  const std::string path = dir.file("store.db");
  MetricsRegistry metrics;
  SqliteStoreOptions o = optionsFor(path);
  o.tiers = {{0, 2 * 3600}, {60, 4 * 3600}, {3600, 730 * 86400}};
  auto sink = openSink(o, metrics);
  ASSERT_NE(sink, nullptr);
  constexpr int64_t kBase = 1'700'002'800;  // on an hour
  constexpr int64_t kHours = 6;
  for (int64_t h = 0; h < kHours; ++h) {
    for (int64_t i = 1; i <= 720; ++i) {
      const int64_t end = kBase + h * 3600 + i * 5;
      sink->write(summary("lab", end - 5, end, {sample("d", "a", 8, 1, 1000, 10, 2, 1, 1)}));
    }
    ASSERT_TRUE(sink->commit());  // retention after each hour
  }
  constexpr int64_t kNewest = kBase + kHours * 3600;
  auto reader = openReader(path);
  ASSERT_NE(reader, nullptr);
  std::string error;
  const auto tiers = reader->tiers(error);
  ASSERT_EQ(error, "");
  ASSERT_EQ(tiers.size(), 3u);
  const int64_t steps[] = {0, 60, 3600};
  for (int t = 0; t < 3; ++t) {
    SCOPED_TRACE(t);
    EXPECT_EQ(tiers[t].tier, t);
    EXPECT_EQ(tiers[t].step_s, steps[t]);
    EXPECT_EQ(tiers[t].keep_s, o.tiers[t].keep_s);
    EXPECT_EQ(tiers[t].deleted_before, kNewest - o.tiers[t].keep_s);
    EXPECT_TRUE(tiers[t].has_rows);
    EXPECT_EQ(tiers[t].newest, kNewest);
  }
  EXPECT_EQ(tiers[0].oldest, kNewest - 2 * 3600);
  EXPECT_EQ(tiers[1].oldest, kNewest - 4 * 3600);
  EXPECT_EQ(tiers[2].oldest, kBase + 3600);

  const auto choose = [&](int64_t from, size_t max_points) {
    StoreQuery q;
    q.from = from;
    return reader->chooseTier(q, max_points, error);
  };
  EXPECT_EQ(choose(kNewest - 3600, 0), 0);
  EXPECT_EQ(choose(kNewest - 2 * 3600 - 1, 0), 0);  // first row needed ends at the cutoff
  EXPECT_EQ(choose(kNewest - 2 * 3600 - 2, 0), 1);
  EXPECT_EQ(choose(kNewest - 4 * 3600, 0), 1);
  EXPECT_EQ(choose(kNewest - 5 * 3600, 0), 2);
  EXPECT_EQ(choose(kMin, 0), 2);  // all of it: only the hours go back to the start
  // The last hour: 720 raw windows, 60 minutes, one hour.
  EXPECT_EQ(choose(kNewest - 3600, 720), 0);
  EXPECT_EQ(choose(kNewest - 3600, 719), 1);
  EXPECT_EQ(choose(kNewest - 3600, 60), 1);
  EXPECT_EQ(choose(kNewest - 3600, 59), 2);
  EXPECT_EQ(choose(kNewest - 3600, 1), 2);
  EXPECT_EQ(error, "");
  StoreQuery last_hour;
  last_hour.from = kNewest - 3600;
  const StoredSeries s = reader->series(last_hour, 100, error);
  EXPECT_EQ(s.tier, 1);
  EXPECT_EQ(s.step_s, 60);
  ASSERT_EQ(s.points.size(), 60u);
  for (const SeriesPoint& p : s.points) {
    EXPECT_EQ(p.bytes_dw, 12000u);
    EXPECT_EQ(p.seconds, 60);
    EXPECT_DOUBLE_EQ(p.kbps_dw, 8);
  }
  // Totals of everything come from the hours and count all six of them.
  const StoredTotals all = reader->totals(StoreQuery{}, error);
  EXPECT_EQ(all.tier, 2);
  EXPECT_EQ(all.bytes_dw, static_cast<uint64_t>(kHours * 720 * 1000));
  const auto devices = reader->devices(error);
  ASSERT_EQ(devices.size(), 1u);
  EXPECT_EQ(devices[0].bytes_dw, static_cast<uint64_t>(kHours * 720 * 1000));
  EXPECT_EQ(error, "");

  StoreQuery bad;
  bad.tier = 3;
  EXPECT_EQ(reader->chooseTier(bad, 0, error), -1);
  EXPECT_NE(error, "");
  error.clear();
  EXPECT_TRUE(reader->series(bad, 0, error).points.empty());
  EXPECT_NE(error, "");
}

// A rollup row covers (ts - step, ts]: an hour that ends after the raw cutoff still holds traffic
// from before it, so "everything" must come from the hours.
TEST(StoreReaderQueries, AutoTierSeesCoarseRowsStartingBeforeTheCutoff) {
  TempDir dir;
  const std::string path = dir.file("store.db");
  MetricsRegistry metrics;
  SqliteStoreOptions o = optionsFor(path);
  o.tiers = {{0, 3600}, {3600, 730 * 86400}};
  auto sink = openSink(o, metrics);
  ASSERT_NE(sink, nullptr);
  constexpr int64_t kBase = 1'700'002'800;  // on an hour
  for (int64_t i = 1; i <= 80 * 12; ++i) {
    const int64_t end = kBase + i * 5;
    sink->write(summary("lab", end - 5, end, {sample("d", "a", 8, 1, 1000, 10, 2, 1, 1)}));
    if (i % 120 == 0) {
      ASSERT_TRUE(sink->commit());  // every 10 minutes, with retention
    }
  }
  auto reader = openReader(path);
  ASSERT_NE(reader, nullptr);
  std::string error;
  const auto tiers = reader->tiers(error);
  ASSERT_EQ(tiers.size(), 2u) << error;
  EXPECT_EQ(tiers[0].oldest, kBase + 1200);  // 20 minutes cut
  EXPECT_EQ(tiers[1].oldest, kBase + 3600);  // the first hour ends after the cut
  EXPECT_EQ(reader->chooseTier(StoreQuery{}, 0, error), 1);
  const StoredTotals all = reader->totals(StoreQuery{}, error);
  EXPECT_EQ(all.tier, 1);
  EXPECT_EQ(all.bytes_dw, 80u * 12 * 1000);
  StoreQuery recent;
  recent.from = kBase + 1199;
  EXPECT_EQ(reader->chooseTier(recent, 0, error), 0);
  EXPECT_EQ(reader->totals(recent, error).bytes_dw, (60u * 12 + 1) * 1000);  // ends 1200..4800
  EXPECT_EQ(error, "");
}

// The tier configuration a sink recorded follows the sink's options; a store without it reads
// as the default steps.
TEST(StoreReaderQueries, TiersFollowTheSinkConfiguration) {
  TempDir dir;
  const std::string path = dir.file("store.db");
  MetricsRegistry metrics;
  {
    auto sink = openSink(optionsFor(path), metrics);
    ASSERT_NE(sink, nullptr);
  }
  std::string error;
  {
    auto reader = openReader(path);
    ASSERT_NE(reader, nullptr);
    const auto t = reader->tiers(error);
    ASSERT_EQ(t.size(), 3u) << error;
    EXPECT_EQ(t[2].step_s, 3600);
    EXPECT_EQ(t[2].keep_s, 730 * 86400);
    EXPECT_FALSE(t[0].has_rows);
    EXPECT_EQ(t[0].deleted_before, kMin);
    EXPECT_EQ(reader->chooseTier(StoreQuery{}, 10, error), 0);  // nothing stored: finest
  }
  SqliteStoreOptions o = optionsFor(path);
  o.tiers = {{0, 86400}, {300, 10 * 86400}};
  {
    auto sink = openSink(o, metrics);
    ASSERT_NE(sink, nullptr);
  }
  {
    auto reader = openReader(path);
    ASSERT_NE(reader, nullptr);
    const auto t = reader->tiers(error);
    ASSERT_EQ(t.size(), 2u) << error;
    EXPECT_EQ(t[1].step_s, 300);
    EXPECT_EQ(t[1].keep_s, 10 * 86400);
  }
  {
    Conn c(path);
    ASSERT_EQ(c.exec("DELETE FROM kv WHERE namespace = 'store' AND key = 'tiers'"), SQLITE_OK);
  }
  auto reader = openReader(path);
  ASSERT_NE(reader, nullptr);
  const auto t = reader->tiers(error);
  ASSERT_EQ(t.size(), 3u) << error;
  EXPECT_EQ(t[1].step_s, 60);
  EXPECT_EQ(t[1].keep_s, 0);  // unknown
}

// Each query is one read transaction: it sees whole commits while the sink keeps writing.
TEST(StoreReaderQueries, TotalsAndSeriesWhileTheSinkCommits) {
  TempDir dir;
  const std::string path = dir.file("store.db");
  MetricsRegistry metrics;
  auto sink = openSink(optionsFor(path), metrics);
  ASSERT_NE(sink, nullptr);
  sink->write(summary("lab", 0, 5, {sample("d", "a", 1, 1, 3, 0, 1, 0, 1)}));
  ASSERT_TRUE(sink->commit());
  auto reader = openReader(path);
  ASSERT_NE(reader, nullptr);
  constexpr int kCommits = 200;
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (int i = 1; i <= kCommits; ++i) {
      // Two pairs per commit, 3 + 4 bytes: a half-seen commit would break the ratio below.
      sink->write(
          summary("lab", i * 5, i * 5 + 5,
                  {sample("d", "a", 1, 1, 3, 0, 1, 0, 1), sample("e", "b", 1, 1, 4, 0, 1, 0, 1)}));
      if (!sink->commit()) {
        ADD_FAILURE() << "commit " << i;
      }
    }
    done = true;
  });
  uint64_t last = 0;
  int reads = 0;
  while (!done || reads == 0) {
    std::string error;
    StoreQuery q;
    q.tier = 0;
    const StoredTotals t = reader->totals(q, error);
    ASSERT_EQ(error, "");
    ASSERT_GE(t.pkts_dw, 1u);
    EXPECT_EQ(t.bytes_dw, 3 + (t.pkts_dw - 1) / 2 * 7);
    EXPECT_GE(t.bytes_dw, last);
    last = t.bytes_dw;
    const StoredSeries s = reader->series(q, 0, error);
    ASSERT_EQ(error, "");
    EXPECT_GE(s.points.size(), (t.pkts_dw + 1) / 2);
    ++reads;
  }
  writer.join();
  std::string error;
  EXPECT_EQ(reader->totals(StoreQuery{}, error).bytes_dw, 3u + kCommits * 7u);
  EXPECT_EQ(reader->series(StoreQuery{}, 0, error).points.size(), kCommits + 1u);
  std::printf("reader: %d totals+series reads during %d commits\n", reads, kCommits);
}

TEST(StoreReaderQueries, NotAStoreReportsErrors) {
  TempDir dir;
  const std::string path = dir.file("other.db");
  {
    Conn c(path);
    ASSERT_EQ(c.exec("CREATE TABLE other(x)"), SQLITE_OK);
  }
  auto reader = openReader(path);
  ASSERT_NE(reader, nullptr);
  std::string error;
  EXPECT_TRUE(reader->devices(error).empty());
  EXPECT_NE(error, "");
  error.clear();
  EXPECT_TRUE(reader->tiers(error).empty());
  EXPECT_NE(error, "");
  error.clear();
  EXPECT_EQ(reader->totals(StoreQuery{}, error).devices, 0u);
  EXPECT_NE(error, "");
}

}  // namespace
}  // namespace nm::store_test
