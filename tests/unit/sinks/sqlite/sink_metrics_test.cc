// The SQLite sink's metrics: failed commits counted by SQLite error class (and the data kept),
// and the size gauges following the files.

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>

#include "../store/store_test_util.h"
#include "sinks/sqlite/sqlite_sink.h"

namespace nm::store_test {
namespace {

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
  Counter& reason(const char* r) {
    return metrics.counter("netmicroscope_sqlite_commit_failures_total", "", {{"reason", r}});
  }
  Counter& commitErrors() {
    return metrics.counter("netmicroscope_sink_errors_total", "",
                           {{"sink", "sqlite"}, {"kind", "commit"}});
  }
  Gauge& bytes(const char* file) {
    return metrics.gauge("netmicroscope_sqlite_db_bytes", "", {{"file", file}});
  }
};

TEST(SqliteSinkMetrics, LockedDatabaseCountsBusyAndKeepsData) {
  Fixture f;
  SqliteStoreOptions o = f.options();
  o.busy_timeout_ms = 30;
  auto sink = openSink(o, f.metrics);
  ASSERT_NE(sink, nullptr);
  Conn other(f.path, 0);
  ASSERT_EQ(other.exec("BEGIN EXCLUSIVE"), SQLITE_OK) << other.lastError();
  sink->write(summary("lab", 0, 5, {sample("d", "a", 8, 1, 1000, 10, 2, 1, 1)}));
  EXPECT_FALSE(sink->commit());
  EXPECT_EQ(f.reason("busy").value(), 1u);
  EXPECT_EQ(f.reason("full").value(), 0u);
  EXPECT_EQ(f.reason("io").value(), 0u);
  EXPECT_EQ(f.reason("other").value(), 0u);
  EXPECT_EQ(f.commitErrors().value(), 1u);
  ASSERT_EQ(other.exec("COMMIT"), SQLITE_OK);
  ASSERT_TRUE(sink->commit());
  EXPECT_EQ(f.reason("busy").value(), 1u);
  EXPECT_EQ(other.scalar("SELECT bytes_dw FROM samples WHERE tier = 0 AND ts = 5"), 1000);
  EXPECT_EQ(other.scalar("SELECT count(*) FROM samples WHERE tier = 0"), 1);
}

TEST(SqliteSinkMetrics, FullDatabaseCountsFullAndKeepsData) {
  Fixture f;
  {
    Conn c(f.path);
    ASSERT_EQ(c.exec("PRAGMA journal_mode = WAL; CREATE TABLE filler(b BLOB); "
                     "INSERT INTO filler VALUES(zeroblob(1000000))"),
              SQLITE_OK)
        << c.lastError();
  }
  Conn other(f.path);
  SqliteStoreOptions o = f.options();
  o.max_page_count = other.scalar("PRAGMA page_count") + 12;  // room for the empty schema
  auto sink = openSink(o, f.metrics);
  ASSERT_NE(sink, nullptr);
  constexpr int kRecords = 200;
  for (int i = 1; i <= kRecords; ++i) {
    RecordSummary s = summary("lab", i * 5 - 5, i * 5, {});
    for (int d = 0; d < 10; ++d) {
      s.samples.push_back(sample("a-device-with-a-longish-name-" + std::to_string(d * 1000 + i),
                                 "app", 1, 1, 7, 0, 1, 0, 1));
    }
    sink->write(s);
  }
  EXPECT_FALSE(sink->commit());
  EXPECT_EQ(f.reason("full").value(), 1u);
  EXPECT_EQ(f.reason("busy").value(), 0u);
  EXPECT_EQ(other.scalar("SELECT count(*) FROM samples"), 0);
  // Space comes back (the cap is per connection, so the other one makes room).
  ASSERT_EQ(other.exec("DROP TABLE filler; VACUUM;"), SQLITE_OK) << other.lastError();
  ASSERT_TRUE(sink->commit());
  EXPECT_EQ(f.reason("full").value(), 1u);
  EXPECT_EQ(other.scalar("SELECT count(*) FROM samples WHERE tier = 0"), kRecords * 10);
  EXPECT_EQ(other.scalar("SELECT sum(bytes_dw) FROM samples WHERE tier = 0"), kRecords * 70);
  EXPECT_EQ(other.scalar("SELECT count(*) FROM records"), kRecords);
}

TEST(SqliteSinkMetrics, SizeGaugesFollowTheFiles) {
  Fixture f;
  auto sink = openSink(f.options(), f.metrics);
  ASSERT_NE(sink, nullptr);
  Conn other(f.path);
  const auto dbBytes = [&] {
    return other.scalar("PRAGMA page_count") * other.scalar("PRAGMA page_size");
  };
  EXPECT_EQ(f.bytes("db").value(), dbBytes());
  int64_t previous = f.bytes("db").value();
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 300; ++i) {
      const int64_t end = round * 10000 + i * 5 + 5;
      sink->write(
          summary("lab", end - 5, end,
                  {sample("device-" + std::to_string(i % 50), "app", 1, 1, 7, 0, 1, 0, 1)}));
    }
    ASSERT_TRUE(sink->commit());
    EXPECT_EQ(f.bytes("db").value(), dbBytes()) << round;
    EXPECT_GT(f.bytes("db").value(), previous) << round;
    previous = f.bytes("db").value();
    std::error_code ec;
    const auto wal = std::filesystem::file_size(f.path + "-wal", ec);
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(f.bytes("wal").value(), static_cast<int64_t>(wal)) << round;
    EXPECT_GT(wal, 0u);
  }
}

}  // namespace
}  // namespace nm::store_test
