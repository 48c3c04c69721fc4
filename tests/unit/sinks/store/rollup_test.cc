// Rollups and retention of the SQLite store, compared bucket by bucket with values computed here
// from the raw inputs alone.

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "sinks/sqlite/sqlite_sink.h"
#include "store_test_util.h"

namespace nm::store_test {
namespace {

// Random 5 s records: pairs switch on and off, some windows are missing entirely, some are
// longer or shorter than 5 s, some carry no samples at all.
class RandomFeed {
 public:
  RandomFeed(uint64_t seed, std::vector<std::string> deployments)
      : rng_(seed), deployments_(std::move(deployments)) {
    for (const std::string& dep : deployments_) {
      for (int d = 0; d < 4; ++d) {
        for (int a = 0; a < 5; ++a) {
          pairs_.push_back({dep, (d % 2 == 0 ? "aa:bb:cc:00:00:0" : "10.0.0.") + std::to_string(d),
                            "app" + std::to_string(a), uniform(0, 1) < 0.4});
        }
      }
    }
  }

  // Records of windows ending at first_end, first_end + 5, ... (count windows per deployment).
  std::vector<RecordSummary> windows(int64_t first_end, int64_t count) {
    std::vector<RecordSummary> out;
    for (int64_t i = 0; i < count; ++i) {
      const int64_t end = first_end + 5 * i;
      for (Pair& p : pairs_) {
        if (uniform(0, 1) < (p.on ? 0.04 : 0.03)) {
          p.on = !p.on;
        }
      }
      for (const std::string& dep : deployments_) {
        if (uniform(0, 1) < 0.05) {
          continue;  // window missing
        }
        const int64_t len = uniform(0, 1) < 0.1 ? static_cast<int64_t>(uniform(2, 9)) : 5;
        RecordSummary s = summary(dep, end - len, end, {});
        for (const Pair& p : pairs_) {
          if (p.on && p.dep == dep) {
            s.samples.push_back(randomSample(p.device, p.app));
          }
        }
        out.push_back(std::move(s));
      }
    }
    return out;
  }

  DeviceApplicationSample randomSample(const std::string& device, const std::string& app) {
    return sample(device, app, uniform(0, 5000), uniform(0, 300),
                  static_cast<uint64_t>(uniform(0, 3e6)), static_cast<uint64_t>(uniform(0, 2e5)),
                  static_cast<uint64_t>(uniform(0, 3000)), static_cast<uint64_t>(uniform(0, 900)),
                  static_cast<uint32_t>(uniform(1, 6)));
  }

  double uniform(double lo, double hi) { return std::uniform_real_distribution<>(lo, hi)(rng_); }
  std::mt19937_64& rng() { return rng_; }

 private:
  struct Pair {
    std::string dep;
    std::string device;
    std::string app;
    bool on;
  };
  std::mt19937_64 rng_;
  std::vector<std::string> deployments_;
  std::vector<Pair> pairs_;
};

// What tier 0 must hold: the last write under each key wins.
void addRaw(std::map<Key, SampleRow>& raw, const RecordSummary& s) {
  for (const DeviceApplicationSample& a : s.samples) {
    raw[{s.deployment, a.device, a.application, s.ts_end}] = {
        std::max<int64_t>(s.ts_end - s.ts_start, 0),
        a.kbps_dw,
        a.kbps_up,
        static_cast<int64_t>(a.bytes_dw),
        static_cast<int64_t>(a.bytes_up),
        static_cast<int64_t>(a.pkts_dw),
        static_cast<int64_t>(a.pkts_up),
        static_cast<int64_t>(a.flows)};
  }
}

std::map<Key, SampleRow> since(const std::map<Key, SampleRow>& rows, int64_t cutoff) {
  std::map<Key, SampleRow> out;
  for (const auto& [k, r] : rows) {
    if (std::get<3>(k) >= cutoff) {
      out.emplace(k, r);
    }
  }
  return out;
}

// Writes `records` in commits of random sizes (1..max_batch).
void writeInBatches(Sink& sink, const std::vector<RecordSummary>& records, std::mt19937_64& rng,
                    size_t max_batch) {
  size_t i = 0;
  while (i < records.size()) {
    const size_t n = std::uniform_int_distribution<size_t>(1, max_batch)(rng);
    for (size_t j = 0; j < n && i < records.size(); ++j, ++i) {
      sink.write(records[i]);
    }
    ASSERT_TRUE(sink.commit());
  }
}

void expectAllTiers(const std::string& path, const std::map<Key, SampleRow>& raw,
                    const std::string& when) {
  Conn c(path);
  expectSameRows(raw, readTier(c, 0), when + ", tier 0");
  expectSameRows(expectedRollup(raw, 60), readTier(c, 1), when + ", tier 1 (60 s)");
  expectSameRows(expectedRollup(raw, 3600), readTier(c, 2), when + ", tier 2 (3600 s)");
}

SqliteStoreOptions optionsFor(const std::string& path, std::vector<StoreTier> tiers = {}) {
  SqliteStoreOptions o;
  o.path = path;
  if (!tiers.empty()) {
    o.tiers = std::move(tiers);
  }
  o.retention_interval = std::chrono::milliseconds(0);
  return o;
}

TEST(SqliteRollup, RandomHoursMatchIndependentRollups) {
  TempDir dir;
  const std::string path = dir.file("store.db");
  MetricsRegistry metrics;
  auto sink = openSink(optionsFor(path), metrics);
  ASSERT_NE(sink, nullptr);
  RandomFeed feed(20240601, {"lab", "home"});
  constexpr int64_t kFirstEnd = 1'700'000'003;  // on no bucket boundary
  std::vector<RecordSummary> all = feed.windows(kFirstEnd, 3 * 720);
  std::map<Key, SampleRow> raw;
  for (const RecordSummary& s : all) {
    addRaw(raw, s);
  }
  writeInBatches(*sink, all, feed.rng(), 300);
  expectAllTiers(path, raw, "in order");

  // Late and out-of-order records mixed with new ones: old windows rewritten with other values,
  // a new pair in old windows, records in gaps between windows, and the next minutes.
  std::vector<RecordSummary> late;
  for (int i = 0; i < 40; ++i) {
    const size_t pick = std::uniform_int_distribution<size_t>(0, all.size() - 1)(feed.rng());
    RecordSummary s = all[pick];
    for (DeviceApplicationSample& a : s.samples) {
      a = feed.randomSample(a.device, a.application);
    }
    s.samples.push_back(feed.randomSample("late-device", "late-app"));
    late.push_back(s);
    late.push_back(
        summary("home", s.ts_end - 1, s.ts_end + 2, {feed.randomSample("gap-device", "app1")}));
  }
  for (RecordSummary& s : feed.windows(kFirstEnd + 3 * 3600, 60)) {
    late.push_back(std::move(s));
  }
  std::shuffle(late.begin(), late.end(), feed.rng());
  for (const RecordSummary& s : late) {
    addRaw(raw, s);
  }
  writeInBatches(*sink, late, feed.rng(), 100);
  expectAllTiers(path, raw, "after late records");

  // A full replay of the latest values in other batches, after a restart: nothing moves.
  sink.reset();
  sink = openSink(optionsFor(path), metrics);
  ASSERT_NE(sink, nullptr);
  std::map<Key, SampleRow> replayed;
  std::vector<RecordSummary> latest;
  for (const RecordSummary& s : all) {
    latest.push_back(s);
  }
  for (const RecordSummary& s : late) {
    latest.push_back(s);
  }
  writeInBatches(*sink, latest, feed.rng(), 500);
  expectAllTiers(path, raw, "after replay");
}

// A backlog (the daemon catching up, a long capture) committed at once: every bucket is rolled
// up before retention removes the raw rows under it.
TEST(SqliteRollup, BacklogInOneCommitIsRolledUp) {
  TempDir dir;
  const std::string path = dir.file("store.db");
  MetricsRegistry metrics;
  auto sink = openSink(optionsFor(path, {{0, 600}, {60, 3600}, {3600, 86400}}), metrics);
  ASSERT_NE(sink, nullptr);
  RandomFeed feed(7, {"lab"});
  const auto records = feed.windows(1'699'999'205, 2 * 720);
  std::map<Key, SampleRow> raw;
  for (const RecordSummary& s : records) {
    addRaw(raw, s);
    sink->write(s);
  }
  ASSERT_TRUE(sink->commit());
  const int64_t newest = records.back().ts_end;
  Conn c(path);
  expectSameRows(since(raw, newest - 600), readTier(c, 0), "tier 0");
  expectSameRows(since(expectedRollup(raw, 60), newest - 3600), readTier(c, 1), "tier 1");
  expectSameRows(expectedRollup(raw, 3600), readTier(c, 2), "tier 2");
}

TEST(SqliteRetention, RowsOlderThanKeepGoPerTier) {
  TempDir dir;
  const std::string path = dir.file("store.db");
  MetricsRegistry metrics;
  const std::vector<StoreTier> tiers = {{0, 600}, {60, 3600}, {3600, 4 * 3600}};
  auto sink = openSink(optionsFor(path, tiers), metrics);
  ASSERT_NE(sink, nullptr);
  RandomFeed feed(99, {"lab"});
  constexpr int64_t kT0 = 1'699'999'200;  // a multiple of 3600
  // Ends at kT0 + 5 h - 25 s: the raw cutoff then falls 35 s into a minute.
  const auto records = feed.windows(kT0 + 5, 5 * 720 - 5);
  std::map<Key, SampleRow> raw;
  std::map<int64_t, int> record_ends;
  Conn c(path);
  for (size_t i = 0; i < records.size(); ++i) {
    const RecordSummary& s = records[i];
    addRaw(raw, s);
    record_ends[s.ts_end]++;
    sink->write(s);
    if (i % 12 != 11 && i + 1 != records.size()) {
      continue;
    }
    ASSERT_TRUE(sink->commit());
    if ((i / 12) % 25 != 0 && i + 1 != records.size()) {
      continue;
    }
    const int64_t newest = s.ts_end;
    const std::string when = "at " + std::to_string(newest - kT0);
    expectSameRows(since(raw, newest - 600), readTier(c, 0), when + ", tier 0");
    expectSameRows(since(expectedRollup(raw, 60), newest - 3600), readTier(c, 1),
                   when + ", tier 1");
    expectSameRows(since(expectedRollup(raw, 3600), newest - 4 * 3600), readTier(c, 2),
                   when + ", tier 2");
    int64_t want_records = 0;
    for (auto it = record_ends.lower_bound(newest - 600); it != record_ends.end(); ++it) {
      want_records += it->second;
    }
    EXPECT_EQ(c.scalar("SELECT count(*) FROM records"), want_records) << when;
    EXPECT_GE(c.scalar("SELECT min(ts_end) FROM records"), newest - 600) << when;
  }
  EXPECT_GT(metrics.counter("netmicroscope_sqlite_retention_deleted_total", "").value(), 0u);

  const int64_t newest = records.back().ts_end;
  ASSERT_EQ(newest, kT0 + 5 * 3600 - 25);
  const int64_t raw_cutoff = newest - 600;
  const int64_t partial = ceilTo(raw_cutoff, 60);  // raw rows before the cutoff are gone
  ASSERT_LT(partial - 60, raw_cutoff);
  const auto tier1_before = readTier(c, 1);
  const auto tier2_before = readTier(c, 2);
  const auto tier1_partial = [&](const std::map<Key, SampleRow>& t) {
    std::map<Key, SampleRow> out;
    for (const auto& [k, r] : t) {
      if (std::get<3>(k) == partial) {
        out.emplace(k, r);
      }
    }
    return out;
  };
  ASSERT_FALSE(tier1_partial(tier1_before).empty());

  // Late records: one in the partially deleted minute (kept in raw, not rolled up), one before
  // the raw cutoff (deleted again), one in the next, complete minute (rolled up everywhere).
  std::map<Key, SampleRow> late_raw;
  const RecordSummary in_partial =
      summary("lab", raw_cutoff - 4, raw_cutoff + 1, {feed.randomSample("late", "late-app")});
  const RecordSummary too_old =
      summary("lab", raw_cutoff - 35, raw_cutoff - 30, {feed.randomSample("late", "late-app")});
  const RecordSummary complete =
      summary("lab", partial + 26, partial + 31, {feed.randomSample("late", "late-app")});
  addRaw(late_raw, complete);
  addRaw(raw, in_partial);
  addRaw(raw, complete);
  sink->write(in_partial);
  sink->write(too_old);
  sink->write(complete);
  ASSERT_TRUE(sink->commit());
  expectSameRows(since(raw, raw_cutoff), readTier(c, 0), "late, tier 0");
  const auto tier1_after = readTier(c, 1);
  expectSameRows(tier1_partial(tier1_before), tier1_partial(tier1_after), "frozen minute");
  std::map<Key, SampleRow> want1 = tier1_before;
  for (const auto& [k, r] : expectedRollup(late_raw, 60)) {
    want1[k] = r;
  }
  expectSameRows(want1, tier1_after, "late, tier 1");
  // The late pair's hour is whole in tier 1: recomputed, the rest of the hour unchanged.
  std::map<Key, SampleRow> want2 = tier2_before;
  for (const auto& [k, r] : expectedRollup(late_raw, 3600)) {
    want2[k] = r;
  }
  expectSameRows(want2, readTier(c, 2), "late, tier 2");

  // The same after a restart (what was deleted is remembered in the file).
  sink.reset();
  sink = openSink(optionsFor(path, tiers), metrics);
  ASSERT_NE(sink, nullptr);
  sink->write(
      summary("lab", raw_cutoff - 3, raw_cutoff + 2, {feed.randomSample("late2", "late-app")}));
  ASSERT_TRUE(sink->commit());
  expectSameRows(tier1_partial(tier1_before), tier1_partial(readTier(c, 1)),
                 "frozen minute after restart");
  EXPECT_EQ(c.scalar("SELECT count(*) FROM samples s JOIN devices d ON d.id = s.device_id "
                     "WHERE d.key = 'late2' AND s.tier > 0"),
            0);
}

TEST(SqliteRetention, HourFrozenWhenMinutesWerePartlyDeleted) {
  TempDir dir;
  const std::string path = dir.file("store.db");
  MetricsRegistry metrics;
  const std::vector<StoreTier> tiers = {{0, 4000}, {60, 3600}, {3600, 86400}};
  auto sink = openSink(optionsFor(path, tiers), metrics);
  ASSERT_NE(sink, nullptr);
  RandomFeed feed(5, {"lab"});
  constexpr int64_t kT0 = 1'699'999'200;
  const auto records = feed.windows(kT0 + 5, 3 * 720);
  std::map<Key, SampleRow> raw;
  for (const RecordSummary& s : records) {
    addRaw(raw, s);
  }
  writeInBatches(*sink, records, feed.rng(), 50);
  ASSERT_EQ(records.back().ts_end, kT0 + 3 * 3600);
  Conn c(path);
  const auto tier2_before = readTier(c, 2);
  expectSameRows(expectedRollup(raw, 3600), tier2_before, "tier 2");
  // Minutes of the hour (kT0 + 3600, kT0 + 7200] before kT0 + 7200 are gone from tier 1, but the
  // minute (kT0 + 7140, kT0 + 7200] is still whole in raw.
  const RecordSummary late =
      summary("lab", kT0 + 7145, kT0 + 7150, {feed.randomSample("late", "late-app")});
  const RecordSummary late_whole =
      summary("lab", kT0 + 9995, kT0 + 10000, {feed.randomSample("late", "late-app")});
  std::map<Key, SampleRow> late_raw;
  addRaw(late_raw, late);
  addRaw(late_raw, late_whole);
  sink->write(late);
  sink->write(late_whole);
  ASSERT_TRUE(sink->commit());
  const auto t1 = readTier(c, 1);
  const auto late1 = expectedRollup(late_raw, 60);
  for (const auto& [k, r] : late1) {
    ASSERT_EQ(t1.count(k), 1u) << keyText(k);
  }
  std::map<Key, SampleRow> want2 = tier2_before;
  const auto late2 = expectedRollup(late_raw, 3600);
  want2[Key{"lab", "late", "late-app", kT0 + 10800}] =
      late2.at(Key{"lab", "late", "late-app", kT0 + 10800});
  expectSameRows(want2, readTier(c, 2), "tier 2 after late records");
}

TEST(SqliteRetention, RunsAtMostOncePerInterval) {
  TempDir dir;
  const std::string path = dir.file("store.db");
  MetricsRegistry metrics;
  SqliteStoreOptions o = optionsFor(path, {{0, 600}});
  o.retention_interval = std::chrono::hours(1);
  auto sink = openSink(o, metrics);
  ASSERT_NE(sink, nullptr);
  const auto writeRange = [&](int64_t from, int64_t to) {
    for (int64_t t = from; t <= to; t += 5) {
      RecordSummary s = summary("lab", t - 5, t, {sample("d", "a", 1, 1, 1, 1, 1, 1, 1)});
      ExtraPoint p;
      p.measurement = "m";
      p.fields = {{"v", 1.0}};
      p.ts_ns = t * 1'000'000'000;
      s.extra_points.push_back(p);
      sink->write(s);
    }
    ASSERT_TRUE(sink->commit());
  };
  writeRange(5, 3000);  // retention runs after the first commit
  Conn c(path);
  EXPECT_EQ(c.scalar("SELECT min(ts) FROM samples WHERE tier = 0"), 2400);
  EXPECT_EQ(c.scalar("SELECT min(ts_end) FROM records"), 2400);
  EXPECT_EQ(c.scalar("SELECT min(ts) FROM points"), 2400 * int64_t{1'000'000'000});
  writeRange(3005, 6000);  // not again within the hour
  EXPECT_EQ(c.scalar("SELECT min(ts) FROM samples WHERE tier = 0"), 2400);
  sink.reset();
  o.retention_interval = std::chrono::milliseconds(0);
  sink = openSink(o, metrics);
  ASSERT_NE(sink, nullptr);
  writeRange(6005, 6010);
  EXPECT_EQ(c.scalar("SELECT min(ts) FROM samples WHERE tier = 0"), 5410);
  EXPECT_EQ(c.scalar("SELECT min(ts) FROM points"), 5410 * int64_t{1'000'000'000});
}

}  // namespace
}  // namespace nm::store_test
