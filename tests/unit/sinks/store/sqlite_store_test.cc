// The SQLite store against real database files: every column read back, replay without double
// counting, commit failures that keep the data, the read API, extra points, and a timing.

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <optional>
#include <thread>

#include "report/ta_record.h"
#include "sinks/sqlite/sqlite_sink.h"
#include "sinks/sqlite/store_reader.h"
#include "sinks/sqlite/store_state.h"
#include "store_test_util.h"

namespace nm::store_test {
namespace {

using Rows = std::vector<std::vector<std::string>>;

// Every table in a stable order, ids included (a replay must not even move ids).
Rows dumpAll(const std::string& path) {
  Conn c(path);
  Rows all;
  for (const char* sql :
       {"SELECT 'd', id, deployment, key, name, first_seen, last_seen FROM devices ORDER BY id",
        "SELECT 'a', id, name, first_seen, last_seen FROM applications ORDER BY id",
        "SELECT 's', tier, ts, device_id, application_id, seconds, kbps_dw, kbps_up, bytes_dw, "
        "bytes_up, pkts_dw, pkts_up, flows FROM samples ORDER BY tier, ts, device_id, "
        "application_id",
        "SELECT 'r', deployment, ts_start, ts_end, entries FROM records ORDER BY deployment, "
        "ts_end",
        "SELECT 'p', measurement, tags, fields, ts FROM points ORDER BY measurement, tags, ts",
        "SELECT 'k', namespace, key, value FROM kv ORDER BY namespace, key"}) {
    Rows r = c.rows(sql);
    all.insert(all.end(), r.begin(), r.end());
  }
  return all;
}

struct Fixture {
  TempDir dir;
  std::string path = dir.file("store.db");
  MetricsRegistry metrics;
  SqliteStoreOptions options() const {
    SqliteStoreOptions o;
    o.path = path;
    o.retention_interval = std::chrono::milliseconds(0);
    return o;
  }
};

std::vector<RecordSummary> basicSummaries(TaRecord& rec3) {
  rec3.data.resize(3);
  std::vector<RecordSummary> s;
  s.push_back(
      summary("lab", 95, 100,
              {sample("aa:bb:cc:00:00:01", "YouTube", 1200.5, 30.25, 750000, 18000, 520, 260, 2),
               sample("10.0.0.7", "Netflix", 800, 12, 500000, 7000, 350, 120, 1)}));
  s.push_back(summary("lab", 100, 105,
                      {sample("aa:bb:cc:00:00:01", "YouTube", 600, 10, 375000, 6000, 260, 90, 1)}));
  s.push_back(summary("home", 100, 105,
                      {sample("aa:bb:cc:00:00:01", "Netflix", 100, 1, 62500, 600, 45, 10, 1)}));
  s[2].record = &rec3;
  s.push_back(
      summary("lab", 3595, 3601, {sample("10.0.0.7", "YouTube", 50, 5, 37500, 3750, 30, 20, 4)}));
  return s;
}

TEST(SqliteStore, StoresEveryColumn) {
  Fixture f;
  TaRecord rec3;
  auto sink = openSink(f.options(), f.metrics);
  ASSERT_NE(sink, nullptr);
  EXPECT_EQ(sink->name(), "sqlite");
  for (const RecordSummary& s : basicSummaries(rec3)) {
    sink->write(s);
  }
  ASSERT_TRUE(sink->commit());

  Conn c(f.path);
  EXPECT_EQ(c.rows("SELECT deployment, key, name, first_seen, last_seen FROM devices ORDER BY "
                   "deployment, key"),
            (Rows{{"home", "aa:bb:cc:00:00:01", "aa:bb:cc:00:00:01", "105", "105"},
                  {"lab", "10.0.0.7", "10.0.0.7", "100", "3601"},
                  {"lab", "aa:bb:cc:00:00:01", "aa:bb:cc:00:00:01", "100", "105"}}));
  EXPECT_EQ(c.rows("SELECT name, first_seen, last_seen FROM applications ORDER BY name"),
            (Rows{{"Netflix", "100", "105"}, {"YouTube", "100", "3601"}}));
  EXPECT_EQ(c.rows("SELECT deployment, ts_start, ts_end, entries FROM records ORDER BY ts_end, "
                   "deployment"),
            (Rows{{"lab", "95", "100", "0"},
                  {"home", "100", "105", "3"},
                  {"lab", "100", "105", "0"},
                  {"lab", "3595", "3601", "0"}}));

  std::map<Key, SampleRow> raw;
  raw[{"lab", "aa:bb:cc:00:00:01", "YouTube", 100}] = {5,     1200.5, 30.25, 750000,
                                                       18000, 520,    260,   2};
  raw[{"lab", "10.0.0.7", "Netflix", 100}] = {5, 800, 12, 500000, 7000, 350, 120, 1};
  raw[{"lab", "aa:bb:cc:00:00:01", "YouTube", 105}] = {5, 600, 10, 375000, 6000, 260, 90, 1};
  raw[{"home", "aa:bb:cc:00:00:01", "Netflix", 105}] = {5, 100, 1, 62500, 600, 45, 10, 1};
  raw[{"lab", "10.0.0.7", "YouTube", 3601}] = {6, 50, 5, 37500, 3750, 30, 20, 4};
  expectSameRows(raw, readTier(c, 0), "tier 0");
  // Spelled out once by hand: YouTube of the MAC in (60, 120]: 1200.5*5 + 600*5 over 60 s.
  const auto t1 = readTier(c, 1);
  const auto yt = t1.find(Key{"lab", "aa:bb:cc:00:00:01", "YouTube", 120});
  ASSERT_NE(yt, t1.end());
  EXPECT_EQ(yt->second.seconds, 10);
  EXPECT_EQ(yt->second.bytes_dw, 1125000);
  EXPECT_DOUBLE_EQ(yt->second.kbps_dw, (1200.5 * 5 + 600 * 5) / 60);
  EXPECT_DOUBLE_EQ(yt->second.kbps_up, (30.25 * 5 + 10 * 5) / 60);
  expectSameRows(expectedRollup(raw, 60), t1, "tier 1");
  const auto t2 = readTier(c, 2);
  expectSameRows(expectedRollup(raw, 3600), t2, "tier 2");
  EXPECT_EQ(t2.count(Key{"lab", "10.0.0.7", "YouTube", 7200}), 1u);  // 3601 ends in (3600, 7200]
  EXPECT_EQ(c.scalar("SELECT count(*) FROM samples WHERE tier > 2"), 0);
  EXPECT_EQ(c.scalar("PRAGMA user_version"), 2);
  EXPECT_EQ(c.rows("PRAGMA journal_mode"), (Rows{{"wal"}}));
  EXPECT_EQ(f.metrics.counter("netmicroscope_sqlite_rows_total", "").value(), 5u);
}

TEST(SqliteStore, ReplayLeavesIdenticalRows) {
  Fixture f;
  TaRecord rec3;
  const auto input = basicSummaries(rec3);
  Rows first;
  {
    auto sink = openSink(f.options(), f.metrics);
    ASSERT_NE(sink, nullptr);
    for (const RecordSummary& s : input) {
      sink->write(s);
    }
    ASSERT_TRUE(sink->commit());
    first = dumpAll(f.path);
    ASSERT_GT(first.size(), 15u);
    // The same sink again, all at once and then the tail alone.
    for (const RecordSummary& s : input) {
      sink->write(s);
    }
    ASSERT_TRUE(sink->commit());
    EXPECT_EQ(dumpAll(f.path), first);
    sink->write(input[2]);
    sink->write(input[3]);
    ASSERT_TRUE(sink->commit());
    EXPECT_EQ(dumpAll(f.path), first);
    sink->finish(std::chrono::milliseconds(100));
  }
  // After a restart: a fresh sink with no cached ids.
  auto sink = openSink(f.options(), f.metrics);
  ASSERT_NE(sink, nullptr);
  for (size_t i = 1; i < input.size(); ++i) {
    sink->write(input[i]);
    ASSERT_TRUE(sink->commit());
  }
  sink->write(input[0]);
  ASSERT_TRUE(sink->commit());
  EXPECT_EQ(dumpAll(f.path), first);
}

TEST(SqliteStore, ExtraPointsStoredAndReplacedOnReplay) {
  Fixture f;
  auto sink = openSink(f.options(), f.metrics);
  ASSERT_NE(sink, nullptr);
  RecordSummary s = summary("lab", 0, 5, {});
  ExtraPoint p;
  p.measurement = "geometric";
  p.tags = {{"device", "aa:bb"}, {"app", "Net\"flix"}};
  p.fields = {{"lat", 1.5}, {"n", int64_t{3}}, {"ok", true}, {"where", std::string("x y")}};
  p.ts_ns = 5'000'000'000;
  s.extra_points.push_back(p);
  ExtraPoint q = p;
  q.ts_ns = 10'000'000'000;
  s.extra_points.push_back(q);
  sink->write(s);
  ASSERT_TRUE(sink->commit());
  Conn c(f.path);
  const Rows want{{"geometric", R"({"app":"Net\"flix","device":"aa:bb"})",
                   R"({"lat":1.5,"n":3,"ok":true,"where":"x y"})", "5000000000"},
                  {"geometric", R"({"app":"Net\"flix","device":"aa:bb"})",
                   R"({"lat":1.5,"n":3,"ok":true,"where":"x y"})", "10000000000"}};
  EXPECT_EQ(c.rows("SELECT measurement, tags, fields, ts FROM points ORDER BY ts"), want);

  // Replay with other values under the same key (tags in another order too) replaces the row.
  s.extra_points.resize(1);
  s.extra_points[0].tags = {{"app", "Net\"flix"}, {"device", "aa:bb"}};
  s.extra_points[0].fields = {{"lat", 2.25}};
  sink->write(s);
  ASSERT_TRUE(sink->commit());
  EXPECT_EQ(c.rows("SELECT fields, ts FROM points ORDER BY ts"),
            (Rows{{R"({"lat":2.25})", "5000000000"},
                  {R"({"lat":1.5,"n":3,"ok":true,"where":"x y"})", "10000000000"}}));
}

TEST(SqliteStore, BusyCommitFailsThenSucceedsOnce) {
  Fixture f;
  SqliteStoreOptions o = f.options();
  o.busy_timeout_ms = 50;
  auto sink = openSink(o, f.metrics);
  ASSERT_NE(sink, nullptr);
  Counter& errors = f.metrics.counter("netmicroscope_sink_errors_total", "",
                                      {{"sink", "sqlite"}, {"kind", "commit"}});
  Conn other(f.path, 0);
  ASSERT_EQ(other.exec("BEGIN EXCLUSIVE"), SQLITE_OK) << other.lastError();
  std::map<Key, SampleRow> raw;
  for (int64_t i = 1; i <= 20; ++i) {
    sink->write(summary("lab", i * 5 - 5, i * 5,
                        {sample("dev" + std::to_string(i % 3), "app", 8.0 * static_cast<double>(i),
                                1, static_cast<uint64_t>(i) * 5000, 1, 1, 1, 1)}));
    raw[{"lab", "dev" + std::to_string(i % 3), "app", i * 5}] = {
        5, 8.0 * static_cast<double>(i), 1, i * 5000, 1, 1, 1, 1};
  }
  EXPECT_FALSE(sink->commit());
  EXPECT_FALSE(sink->commit());
  EXPECT_EQ(errors.value(), 2u);
  ASSERT_EQ(other.exec("COMMIT"), SQLITE_OK);
  EXPECT_EQ(other.scalar("SELECT count(*) FROM samples"), 0);
  ASSERT_TRUE(sink->commit());
  EXPECT_EQ(errors.value(), 2u);
  expectSameRows(raw, readTier(other, 0), "tier 0");
  expectSameRows(expectedRollup(raw, 60), readTier(other, 1), "tier 1");
  EXPECT_EQ(other.scalar("SELECT count(*) FROM records"), 20);
}

// SQLITE_FULL in the middle of a transaction that had already created device rows: the retry
// must not reuse ids from the rolled-back transaction (another writer took them meanwhile).
TEST(SqliteStore, FullDiskCommitFailsThenSucceedsWithFreshIds) {
  Fixture f;
  {
    auto sink = openSink(f.options(), f.metrics);
    ASSERT_NE(sink, nullptr);
    sink->write(summary("lab", 0, 5, {sample("first", "app", 1, 1, 1, 1, 1, 1, 1)}));
    ASSERT_TRUE(sink->commit());
  }
  Conn other(f.path);
  ASSERT_EQ(other.exec("CREATE TABLE filler(b BLOB); INSERT INTO filler VALUES(zeroblob(2000000))"),
            SQLITE_OK);
  const int64_t pages = other.scalar("PRAGMA page_count");
  SqliteStoreOptions o = f.options();
  o.max_page_count = pages + 4;
  auto sink = openSink(o, f.metrics);
  ASSERT_NE(sink, nullptr);
  std::map<Key, SampleRow> raw;
  raw[{"lab", "first", "app", 5}] = {5, 1, 1, 1, 1, 1, 1, 1};
  for (int64_t i = 0; i < 300; ++i) {
    RecordSummary s = summary("lab", 100 + i * 5, 105 + i * 5, {});
    for (int d = 0; d < 10; ++d) {
      const std::string dev = "device-with-a-long-name-" + std::to_string(i * 10 + d);
      s.samples.push_back(sample(dev, "app" + std::to_string(d), 2.5 * static_cast<double>(d), 1,
                                 static_cast<uint64_t>(i + d), 2, 3, 4, 5));
      raw[{"lab", dev, "app" + std::to_string(d), 105 + i * 5}] = {
          5, 2.5 * static_cast<double>(d), 1, i + d, 2, 3, 4, 5};
    }
    sink->write(s);
  }
  EXPECT_FALSE(sink->commit());
  EXPECT_FALSE(sink->commit());
  EXPECT_EQ(other.scalar("SELECT count(*) FROM devices"), 1);
  // Another writer takes the ids the failed transaction had used, and space is freed.
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(other.exec("INSERT INTO devices(deployment, key, name, first_seen, last_seen) "
                         "VALUES('intruder', 'x" +
                         std::to_string(i) + "', 'x', 1, 1)"),
              SQLITE_OK)
        << other.lastError();
  }
  ASSERT_EQ(other.exec("DROP TABLE filler; VACUUM;"), SQLITE_OK) << other.lastError();
  ASSERT_TRUE(sink->commit());
  expectSameRows(raw, readTier(other, 0), "tier 0");
  expectSameRows(expectedRollup(raw, 60), readTier(other, 1), "tier 1");
  expectSameRows(expectedRollup(raw, 3600), readTier(other, 2), "tier 2");
  EXPECT_EQ(other.scalar("SELECT count(*) FROM devices"), 1 + 20 + 3000);
  EXPECT_EQ(other.scalar("SELECT count(*) FROM records"), 301);
  EXPECT_EQ(other.scalar("SELECT count(*) FROM samples s JOIN devices d ON d.id = s.device_id "
                         "WHERE d.deployment = 'intruder'"),
            0);
}

TEST(SqliteStore, FirstAndLastSeenFollowLateAndOutOfOrderRecords) {
  Fixture f;
  auto sink = openSink(f.options(), f.metrics);
  ASSERT_NE(sink, nullptr);
  sink->write(summary("lab", 995, 1000, {sample("dev", "app", 1, 1, 1, 1, 1, 1, 1)}));
  ASSERT_TRUE(sink->commit());
  // A later commit with a late record (the cached id must not skip first_seen).
  sink->write(summary("lab", 1995, 2000, {sample("dev", "app", 1, 1, 1, 1, 1, 1, 1)}));
  sink->write(summary("lab", 495, 500, {sample("dev", "app", 1, 1, 1, 1, 1, 1, 1)}));
  // One commit, out of order, for a new pair.
  sink->write(summary("lab", 895, 900, {sample("new", "other", 1, 1, 1, 1, 1, 1, 1)}));
  sink->write(summary("lab", 295, 300, {sample("new", "other", 1, 1, 1, 1, 1, 1, 1)}));
  ASSERT_TRUE(sink->commit());
  Conn c(f.path);
  EXPECT_EQ(c.rows("SELECT key, first_seen, last_seen FROM devices ORDER BY key"),
            (Rows{{"dev", "500", "2000"}, {"new", "300", "900"}}));
  EXPECT_EQ(c.rows("SELECT name, first_seen, last_seen FROM applications ORDER BY name"),
            (Rows{{"app", "500", "2000"}, {"other", "300", "900"}}));
  // And after a restart.
  sink.reset();
  sink = openSink(f.options(), f.metrics);
  sink->write(summary("lab", 95, 100, {sample("dev", "other", 1, 1, 1, 1, 1, 1, 1)}));
  ASSERT_TRUE(sink->commit());
  EXPECT_EQ(c.rows("SELECT key, first_seen, last_seen FROM devices ORDER BY key"),
            (Rows{{"dev", "100", "2000"}, {"new", "300", "900"}}));
  EXPECT_EQ(c.rows("SELECT name, first_seen, last_seen FROM applications ORDER BY name"),
            (Rows{{"app", "500", "2000"}, {"other", "100", "900"}}));
}

TEST(SqliteStore, BucketsAroundZeroAndNegativeTimes) {
  Fixture f;
  auto sink = openSink(f.options(), f.metrics);
  ASSERT_NE(sink, nullptr);
  std::map<Key, SampleRow> raw;
  for (int64_t ts : {-3601, -3600, -61, -60, -59, -3, 0, 1, 59, 60, 61, 3600, 3601}) {
    sink->write(summary("lab", ts - 1, ts, {sample("d", "a", 6, 3, 10, 20, 1, 2, 1)}));
    raw[{"lab", "d", "a", ts}] = {1, 6, 3, 10, 20, 1, 2, 1};
  }
  ASSERT_TRUE(sink->commit());
  Conn c(f.path);
  expectSameRows(raw, readTier(c, 0), "tier 0");
  expectSameRows(expectedRollup(raw, 60), readTier(c, 1), "tier 1");
  expectSameRows(expectedRollup(raw, 3600), readTier(c, 2), "tier 2");
  EXPECT_EQ(c.rows("SELECT ts, seconds FROM samples WHERE tier = 1 ORDER BY ts"),
            (Rows{{"-3600", "2"},
                  {"-60", "2"},
                  {"0", "3"},
                  {"60", "3"},
                  {"120", "1"},
                  {"3600", "1"},
                  {"3660", "1"}}));
  EXPECT_EQ(c.rows("SELECT ts, seconds FROM samples WHERE tier = 2 ORDER BY ts"),
            (Rows{{"-3600", "2"}, {"0", "5"}, {"3600", "5"}, {"7200", "1"}}));
}

TEST(SqliteStore, RejectsTiersThatCannotRollUp) {
  Fixture f;
  const auto tryOpen = [&](std::vector<StoreTier> tiers) {
    SqliteStoreOptions o = f.options();
    o.tiers = std::move(tiers);
    std::string error;
    auto sink = openSqliteSink(o, f.metrics, error);
    return sink != nullptr ? std::string() : (error.empty() ? "?" : error);
  };
  EXPECT_EQ(tryOpen({{0, 600}, {60, 3600}, {3600, 86400}}), "");
  EXPECT_EQ(tryOpen({{0, 600}}), "");
  EXPECT_NE(tryOpen({}), "");                                  // no raw tier
  EXPECT_NE(tryOpen({{60, 600}}), "");                         // raw tier with a step
  EXPECT_NE(tryOpen({{0, 0}}), "");                            // keeps nothing
  EXPECT_NE(tryOpen({{0, 600}, {0, 3600}}), "");               // zero step
  EXPECT_NE(tryOpen({{0, 600}, {60, 3600}, {90, 7200}}), "");  // not a multiple
  // Raw rows would be deleted before their 3600 s bucket is complete.
  EXPECT_NE(tryOpen({{0, 600}, {3600, 86400}}), "");
}

// A file written by the first release (samples keyed by device first) is migrated in place.
TEST(SqliteStore, MigratesVersionOneFiles) {
  Fixture f;
  {
    Conn c(f.path);
    ASSERT_EQ(c.exec(R"sql(
PRAGMA journal_mode = WAL;
CREATE TABLE devices(id INTEGER PRIMARY KEY, deployment TEXT NOT NULL, key TEXT NOT NULL,
  name TEXT NOT NULL, first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL,
  UNIQUE(deployment, key));
CREATE TABLE applications(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,
  first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL);
CREATE TABLE samples(tier INTEGER NOT NULL, ts INTEGER NOT NULL,
  device_id INTEGER NOT NULL REFERENCES devices(id),
  application_id INTEGER NOT NULL REFERENCES applications(id),
  seconds INTEGER NOT NULL, kbps_dw REAL NOT NULL, kbps_up REAL NOT NULL,
  bytes_dw INTEGER NOT NULL, bytes_up INTEGER NOT NULL, pkts_dw INTEGER NOT NULL,
  pkts_up INTEGER NOT NULL, flows INTEGER NOT NULL,
  PRIMARY KEY(tier, device_id, application_id, ts)) WITHOUT ROWID;
CREATE INDEX samples_by_time ON samples(tier, ts);
CREATE TABLE records(deployment TEXT NOT NULL, ts_start INTEGER NOT NULL,
  ts_end INTEGER NOT NULL, entries INTEGER NOT NULL, PRIMARY KEY(deployment, ts_end)) WITHOUT ROWID;
CREATE TABLE points(measurement TEXT NOT NULL, tags TEXT NOT NULL, fields TEXT NOT NULL,
  ts INTEGER NOT NULL, PRIMARY KEY(measurement, tags, ts)) WITHOUT ROWID;
CREATE TABLE kv(namespace TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
  updated INTEGER NOT NULL, PRIMARY KEY(namespace, key)) WITHOUT ROWID;
INSERT INTO devices VALUES(1, 'lab', 'd', 'd', 5, 5);
INSERT INTO applications VALUES(1, 'a', 5, 5);
INSERT INTO samples VALUES(0, 5, 1, 1, 5, 12.0, 1.0, 7500, 625, 6, 2, 1);
INSERT INTO samples VALUES(1, 60, 1, 1, 5, 1.0, 0.0833333333333333, 7500, 625, 6, 2, 1);
INSERT INTO records VALUES('lab', 0, 5, 1);
INSERT INTO kv VALUES('store', 'max_ts', '5', 5);
PRAGMA user_version = 1;
)sql"),
              SQLITE_OK)
        << c.lastError();
  }
  auto sink = openSink(f.options(), f.metrics);
  ASSERT_NE(sink, nullptr);
  sink->write(summary("lab", 5, 10, {sample("d", "a", 24, 2, 15000, 1250, 12, 4, 1)}));
  ASSERT_TRUE(sink->commit());
  Conn c(f.path);
  EXPECT_EQ(c.scalar("PRAGMA user_version"), 2);
  EXPECT_NE(c.rows("SELECT sql FROM sqlite_master WHERE name = 'samples'")[0][0].find(
                "PRIMARY KEY(tier, ts, device_id, application_id)"),
            std::string::npos);
  std::map<Key, SampleRow> raw;
  raw[{"lab", "d", "a", 5}] = {5, 12, 1, 7500, 625, 6, 2, 1};
  raw[{"lab", "d", "a", 10}] = {5, 24, 2, 15000, 1250, 12, 4, 1};
  expectSameRows(raw, readTier(c, 0), "tier 0");
  expectSameRows(expectedRollup(raw, 60), readTier(c, 1), "tier 1");
  EXPECT_EQ(c.rows("SELECT first_seen, last_seen FROM devices"), (Rows{{"5", "10"}}));
}

TEST(StoreState, KvAndDeviceNamesBesideARunningSink) {
  Fixture f;
  auto sink = openSink(f.options(), f.metrics);
  ASSERT_NE(sink, nullptr);
  std::string error;
  auto state = StoreState::open(f.path, 1000, error);
  ASSERT_NE(state, nullptr) << error;
  EXPECT_FALSE(state->get("ouimap", "k", error).has_value());
  EXPECT_EQ(error, "");
  ASSERT_TRUE(state->put("ouimap", "k", "v1", 100, error)) << error;
  ASSERT_TRUE(state->put("ouimap", "k", "v2", 105, error)) << error;
  EXPECT_EQ(state->get("ouimap", "k", error), std::optional<std::string>("v2"));
  EXPECT_FALSE(state->get("other", "k", error).has_value());
  EXPECT_FALSE(state->put("store", "max_ts", "0", 0, error));
  EXPECT_NE(error, "");
  error.clear();
  // Named before its first sample, and after.
  ASSERT_TRUE(state->setDeviceName("lab", "aa:bb", "Kitchen TV", error)) << error;
  sink->write(summary("lab", 95, 100,
                      {sample("aa:bb", "Netflix", 1, 1, 10, 1, 1, 1, 1),
                       sample("10.0.0.9", "Zoom", 1, 1, 5, 1, 1, 1, 1)}));
  ASSERT_TRUE(sink->commit());
  ASSERT_TRUE(state->setDeviceName("lab", "10.0.0.9", "Laptop", error)) << error;
  sink->write(summary("lab", 100, 105, {sample("aa:bb", "Netflix", 1, 1, 10, 1, 1, 1, 1)}));
  ASSERT_TRUE(sink->commit());
  Conn c(f.path);
  EXPECT_EQ(c.rows("SELECT key, name, first_seen, last_seen FROM devices ORDER BY key"),
            (Rows{{"10.0.0.9", "Laptop", "100", "100"}, {"aa:bb", "Kitchen TV", "100", "105"}}));
  auto reader = StoreReader::open(f.path, error);
  ASSERT_NE(reader, nullptr);
  const auto apps = reader->applications(INT64_MIN, INT64_MAX, error);
  ASSERT_EQ(apps.size(), 2u);
  EXPECT_EQ(apps[0].device_name, "Kitchen TV");
  EXPECT_EQ(apps[1].device_name, "Laptop");
  ASSERT_TRUE(state->erase("ouimap", "k", error));
  EXPECT_FALSE(state->get("ouimap", "k", error).has_value());
  EXPECT_EQ(error, "");
  // The sink's own bookkeeping is untouched by plugins' keys.
  EXPECT_EQ(c.scalar("SELECT value FROM kv WHERE namespace = 'store' AND key = 'max_ts'"), 105);
}

TEST(StoreState, ScanReturnsOneNamespacesPrefixInKeyOrder) {
  Fixture f;
  std::string error;
  auto state = StoreState::open(f.path, 1000, error);
  ASSERT_NE(state, nullptr) << error;
  // '%' and '_' are literal in prefixes (no LIKE patterns).
  for (const char* key : {"rdns/9.9.9.9", "rdns/1.1.1.1", "rdnsx", "hits", "rdns%/a", "rd_s/b"}) {
    ASSERT_TRUE(state->put("exinfo", key, std::string("v:") + key, 1, error)) << error;
  }
  ASSERT_TRUE(state->put("other", "rdns/2.2.2.2", "no", 1, error)) << error;
  std::vector<std::pair<std::string, std::string>> seen;
  const auto collect = [&](std::string_view k, std::string_view v) {
    seen.emplace_back(k, v);
    return true;
  };
  ASSERT_TRUE(state->scan("exinfo", "rdns/", collect, error)) << error;
  EXPECT_EQ(seen, (std::vector<std::pair<std::string, std::string>>{
                      {"rdns/1.1.1.1", "v:rdns/1.1.1.1"}, {"rdns/9.9.9.9", "v:rdns/9.9.9.9"}}));
  seen.clear();
  ASSERT_TRUE(state->scan("exinfo", "rd_", collect, error)) << error;
  EXPECT_EQ(seen.size(), 1u);
  seen.clear();
  ASSERT_TRUE(state->scan(
      "exinfo", "",
      [&](std::string_view k, std::string_view v) {
        seen.emplace_back(k, v);
        return seen.size() < 2;  // stops when told
      },
      error));
  EXPECT_EQ(seen.size(), 2u);
}

TEST(StoreReader, ApplicationsAndSpanMatchInputs) {
  Fixture f;
  auto sink = openSink(f.options(), f.metrics);
  ASSERT_NE(sink, nullptr);
  sink->write(summary("lab", 95, 100,
                      {sample("mac1", "YouTube", 1000, 20, 600000, 10000, 500, 200, 2),
                       sample("ip2", "Zoom", 100, 100, 60000, 60000, 80, 80, 1)}));
  sink->write(
      summary("lab", 100, 110, {sample("mac1", "YouTube", 400, 10, 500000, 12000, 400, 150, 1)}));
  sink->write(summary("lab", 110, 115, {}));
  sink->write(
      summary("lab", 115, 120, {sample("ip2", "Zoom", 200, 50, 120000, 30000, 100, 40, 1)}));
  ASSERT_TRUE(sink->commit());

  std::string error;
  auto reader = StoreReader::open(f.path, error);
  ASSERT_NE(reader, nullptr) << error;
  const StoredSpan span = reader->span(error);
  EXPECT_EQ(error, "");
  EXPECT_EQ(span.first, 95);
  EXPECT_EQ(span.last, 120);
  EXPECT_EQ(span.records, 4u);

  auto apps = reader->applications(INT64_MIN, 120, error);
  EXPECT_EQ(error, "");
  ASSERT_EQ(apps.size(), 2u);
  EXPECT_EQ(apps[0].deployment, "lab");
  EXPECT_EQ(apps[0].device, "mac1");
  EXPECT_EQ(apps[0].device_name, "mac1");
  EXPECT_EQ(apps[0].application, "YouTube");
  EXPECT_EQ(apps[0].bytes_dw, 1100000u);
  EXPECT_EQ(apps[0].bytes_up, 22000u);
  EXPECT_EQ(apps[0].pkts_dw, 900u);
  EXPECT_EQ(apps[0].pkts_up, 350u);
  EXPECT_EQ(apps[0].active_seconds, 15);
  EXPECT_DOUBLE_EQ(apps[0].mean_kbps_dw, (1000.0 * 5 + 400 * 10) / 15);
  EXPECT_DOUBLE_EQ(apps[0].mean_kbps_up, (20.0 * 5 + 10 * 10) / 15);
  EXPECT_EQ(apps[0].first, 100);
  EXPECT_EQ(apps[0].last, 110);
  EXPECT_EQ(apps[1].device, "ip2");
  EXPECT_EQ(apps[1].bytes_dw + apps[1].bytes_up, 270000u);
  EXPECT_DOUBLE_EQ(apps[1].mean_kbps_dw, 150);
  EXPECT_EQ(apps[1].first, 100);
  EXPECT_EQ(apps[1].last, 120);
  // (from, to]: the window ending at 100 is out, the one ending at 110 in.
  apps = reader->applications(100, 110, error);
  ASSERT_EQ(apps.size(), 1u);
  EXPECT_EQ(apps[0].bytes_dw, 500000u);
  EXPECT_EQ(apps[0].active_seconds, 10);
  EXPECT_TRUE(reader->applications(120, 1000, error).empty());
  EXPECT_EQ(error, "");
}

TEST(StoreReader, ReportsErrors) {
  Fixture f;
  std::string error;
  EXPECT_EQ(StoreReader::open(f.dir.file("missing.db"), error), nullptr);
  EXPECT_NE(error, "");
  {
    Conn c(f.path);
    ASSERT_EQ(c.exec("CREATE TABLE other(x)"), SQLITE_OK);
  }
  error.clear();
  auto reader = StoreReader::open(f.path, error);
  ASSERT_NE(reader, nullptr);
  EXPECT_TRUE(reader->applications(0, 100, error).empty());
  EXPECT_NE(error, "");  // not a store: no such table
}

TEST(StoreReader, ReadsWhileWriterCommits) {
  Fixture f;
  auto sink = openSink(f.options(), f.metrics);
  ASSERT_NE(sink, nullptr);
  sink->write(summary("lab", 0, 5, {sample("d", "a", 1, 1, 1, 0, 1, 0, 1)}));
  ASSERT_TRUE(sink->commit());
  std::string error;
  auto reader = StoreReader::open(f.path, error);
  ASSERT_NE(reader, nullptr) << error;
  constexpr int kCommits = 300;
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (int i = 1; i <= kCommits; ++i) {
      sink->write(summary("lab", i * 5, i * 5 + 5, {sample("d", "a", 1, 1, 1, 0, 1, 0, 1)}));
      if (!sink->commit()) {
        ADD_FAILURE() << "commit " << i;
      }
    }
    done = true;
  });
  uint64_t last = 0;
  int reads = 0;
  while (!done || reads == 0) {
    error.clear();
    const auto apps = reader->applications(INT64_MIN, INT64_MAX, error);
    ASSERT_EQ(error, "");
    ASSERT_EQ(apps.size(), 1u);
    EXPECT_GE(apps[0].bytes_dw, last);  // each read sees a whole commit, never less than before
    EXPECT_EQ(apps[0].bytes_dw, apps[0].pkts_dw);
    last = apps[0].bytes_dw;
    ++reads;
  }
  writer.join();
  const auto apps = reader->applications(INT64_MIN, INT64_MAX, error);
  ASSERT_EQ(apps.size(), 1u);
  EXPECT_EQ(apps[0].bytes_dw, kCommits + 1u);
  EXPECT_EQ(reader->span(error).records, kCommits + 1u);
  std::printf("reader: %d reads during %d commits\n", reads, kCommits);
}

// Printed, not asserted: the machine is shared. Raw only, then with the default rollups.
void timeCommits(const std::vector<StoreTier>& tiers, const char* label) {
  Fixture f;
  SqliteStoreOptions o = f.options();
  o.tiers = tiers;
  auto sink = openSink(o, f.metrics);
  ASSERT_NE(sink, nullptr);
  const auto batch = [&](int64_t base) {
    for (int64_t r = 0; r < 200; ++r) {
      RecordSummary s = summary("lab", base + r * 5, base + r * 5 + 5, {});
      for (int i = 0; i < 50; ++i) {
        s.samples.push_back(sample("aa:bb:cc:dd:ee:" + std::to_string(i % 40),
                                   "application-" + std::to_string((i * 7 + r) % 30), 123.5, 4.25,
                                   77000, 3000, 60, 30, 2));
      }
      sink->write(s);
    }
  };
  for (int round = 0; round < 3; ++round) {
    batch(round * 1000);
    const auto t0 = std::chrono::steady_clock::now();
    ASSERT_TRUE(sink->commit());
    const auto us =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0)
            .count();
    std::printf("commit of 10000 samples (200 records, %s, round %d): %.1f ms\n", label, round,
                static_cast<double>(us) / 1000.0);
  }
  Conn c(f.path);
  EXPECT_EQ(c.scalar("SELECT count(*) FROM samples WHERE tier = 0"), 30000);
}

TEST(SqliteStore, TimesTenThousandSamplesInOneCommit) {
  timeCommits({{0, 86400}}, "raw only");
  timeCommits({{0, 86400}, {60, 86400}}, "raw + 60 s");
  timeCommits(SqliteStoreOptions().tiers, "default tiers");
}

}  // namespace
}  // namespace nm::store_test

namespace nm::store_test {
namespace {

// A plugin's display name (daemon/sink.h setDeviceName) names the device row; the key stays.
TEST(SqliteStore, PluginDeviceNamesNameTheDeviceRowNotItsKey) {
  Fixture f;
  auto sink = openSink(f.options(), f.metrics);
  ASSERT_NE(sink, nullptr);
  RecordSummary s = summary("home", 95, 100,
                            {sample("74:d0:2b:00:00:01", "Netflix", 1, 2, 10, 20, 1, 2, 1),
                             sample("74:d0:2b:00:00:01", "Zoom", 1, 2, 10, 20, 1, 2, 1),
                             sample("10.0.0.7", "Zoom", 1, 2, 10, 20, 1, 2, 1)});
  setDeviceName(s, "74:d0:2b:00:00:01", "ASUSTek_COMPUTER_INC_01");
  sink->write(s);
  ASSERT_TRUE(sink->commit());
  Conn c(f.path);
  EXPECT_EQ(c.rows("SELECT key, name FROM devices ORDER BY key"),
            (Rows{{"10.0.0.7", "10.0.0.7"}, {"74:d0:2b:00:00:01", "ASUSTek_COMPUTER_INC_01"}}));
  // Renamed again later (a friendly name from the configuration): the row follows.
  RecordSummary later =
      summary("home", 100, 105, {sample("74:d0:2b:00:00:01", "Zoom", 1, 2, 10, 20, 1, 2, 1)});
  setDeviceName(later, "74:d0:2b:00:00:01", "Living room TV");
  sink->write(later);
  ASSERT_TRUE(sink->commit());
  EXPECT_EQ(c.rows("SELECT name FROM devices WHERE key = '74:d0:2b:00:00:01'"),
            (Rows{{"Living room TV"}}));
  EXPECT_EQ(c.rows("SELECT count(*) FROM devices"), (Rows{{"2"}}));
}

}  // namespace
}  // namespace nm::store_test
