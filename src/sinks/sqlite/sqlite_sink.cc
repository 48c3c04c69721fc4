#include "sinks/sqlite/sqlite_sink.h"

#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <unordered_map>

#include "sinks/sqlite/sqlite_db.h"
#include "sinks/sqlite/store_schema.h"

namespace nm {
namespace {

using sqlite::Statement;

struct PendingSample {
  int64_t ts = 0;
  int64_t seconds = 0;
  std::string deployment;
  DeviceApplicationSample sample;
};

struct PendingRecord {
  std::string deployment;
  int64_t ts_start = 0;
  int64_t ts_end = 0;
  int64_t entries = 0;
};

struct PendingPoint {
  std::string measurement;
  std::string tags;
  std::string fields;
  int64_t ts = 0;
};

// The end of the `step`-second bucket holding a window that ends at `ts` (exclusive end).
int64_t bucketEnd(int64_t ts, int64_t step) {
  const int64_t t = ts - 1;
  const int64_t floor = t >= 0 ? t / step : -((-t + step - 1) / step);
  return (floor + 1) * step;
}

class SqliteSink final : public Sink {
 public:
  SqliteSink(SqliteStoreOptions options, MetricsRegistry& metrics)
      : options_(std::move(options)),
        rows_(metrics.counter("netmicroscope_sqlite_rows_total", "Raw samples stored")),
        commits_(metrics.counter("netmicroscope_sqlite_commits_total", "SQLite transactions")),
        failures_(metrics.counter("netmicroscope_sink_errors_total", "Sink errors by kind",
                                  {{"sink", "sqlite"}, {"kind", "commit"}})),
        deleted_(metrics.counter("netmicroscope_sqlite_retention_deleted_total",
                                 "Rows removed by retention")) {}

  ~SqliteSink() override {
    stmts_.clear();
    sqlite3_close_v2(db_);
  }

  bool open(std::string& error) {
    if (sqlite3_open_v2(options_.path.c_str(), &db_,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        nullptr) != SQLITE_OK) {
      error = db_ != nullptr ? sqlite3_errmsg(db_) : "out of memory";
      return false;
    }
    sqlite3_busy_timeout(db_, options_.busy_timeout_ms);
    if (!sqlite::exec(db_, kStorePragmas, error) || !createStoreSchema(db_, error)) {
      return false;
    }
    for (size_t i = 1; i < options_.tiers.size(); ++i) {
      if (options_.tiers[i].step_s <= 0 ||
          (i > 1 && options_.tiers[i].step_s % options_.tiers[i - 1].step_s != 0)) {
        error = "each rollup step must be a positive multiple of the one before";
        return false;
      }
    }
    const char* sql[] = {
        "INSERT INTO devices(deployment, key, name, first_seen, last_seen) VALUES(?1, ?2, ?2, "
        "?3, ?3) ON CONFLICT(deployment, key) DO UPDATE SET last_seen = max(last_seen, "
        "excluded.last_seen), first_seen = min(first_seen, excluded.first_seen) RETURNING id",
        "INSERT INTO applications(name, first_seen, last_seen) VALUES(?1, ?2, ?2) "
        "ON CONFLICT(name) DO UPDATE SET last_seen = max(last_seen, excluded.last_seen), "
        "first_seen = min(first_seen, excluded.first_seen) RETURNING id",
        "INSERT OR REPLACE INTO samples(tier, ts, device_id, application_id, seconds, kbps_dw, "
        "kbps_up, bytes_dw, bytes_up, pkts_dw, pkts_up, flows) VALUES(0, ?1, ?2, ?3, ?4, ?5, ?6, "
        "?7, ?8, ?9, ?10, ?11)",
        "INSERT OR REPLACE INTO records(deployment, ts_start, ts_end, entries) VALUES(?1, ?2, ?3, "
        "?4)",
        "INSERT OR REPLACE INTO points(measurement, tags, fields, ts) VALUES(?1, ?2, ?3, ?4)",
        "DELETE FROM samples WHERE tier = ?1 AND ts = ?2",
        // Rollup of one bucket from the finer tier; ?4 weights a finer row: its seconds when
        // the finer tier is raw (-1), else the finer step.
        "INSERT INTO samples(tier, ts, device_id, application_id, seconds, kbps_dw, kbps_up, "
        "bytes_dw, bytes_up, pkts_dw, pkts_up, flows) SELECT ?1, ?2, device_id, application_id, "
        "sum(seconds), sum(kbps_dw * iif(?4 < 0, seconds, ?4)) / ?5, "
        "sum(kbps_up * iif(?4 < 0, seconds, ?4)) / ?5, sum(bytes_dw), sum(bytes_up), "
        "sum(pkts_dw), sum(pkts_up), sum(flows) FROM samples WHERE tier = ?3 AND ts > ?2 - ?5 "
        "AND ts <= ?2 GROUP BY device_id, application_id",
        "DELETE FROM samples WHERE tier = ?1 AND ts < ?2",
        "DELETE FROM records WHERE ts_end < ?1",
        "INSERT INTO kv(namespace, key, value, updated) VALUES('store', 'max_ts', ?1, ?1) "
        "ON CONFLICT(namespace, key) DO UPDATE SET value = max(CAST(value AS INTEGER), "
        "excluded.value), updated = excluded.updated",
        "SELECT CAST(value AS INTEGER) FROM kv WHERE namespace = 'store' AND key = 'max_ts'",
    };
    for (const char* s : sql) {
      stmts_.emplace_back(db_, s, error);
      if (!stmts_.back().valid()) {
        return false;
      }
    }
    Statement& max_ts = stmts_[kSelectMaxTs];
    if (max_ts.step() == SQLITE_ROW) {
      max_ts_ = max_ts.columnInt(0);
    }
    max_ts.reset();
    return true;
  }

  std::string_view name() const override { return "sqlite"; }

  void write(const RecordSummary& s) override {
    const int64_t seconds = std::max<int64_t>(s.ts_end - s.ts_start, 0);
    for (const DeviceApplicationSample& a : s.samples) {
      pending_.push_back({s.ts_end, seconds, s.deployment, a});
    }
    pending_records_.push_back(
        {s.deployment, s.ts_start, s.ts_end,
         s.record != nullptr ? static_cast<int64_t>(s.record->data.size()) : 0});
    for (const ExtraPoint& p : s.extra_points) {
      nlohmann::json tags = nlohmann::json::object();
      for (const auto& [k, v] : p.tags) {
        tags[k] = v;
      }
      nlohmann::json fields = nlohmann::json::object();
      for (const auto& [k, v] : p.fields) {
        std::visit([&](const auto& x) { fields[k] = x; }, v);
      }
      const auto dump = [](const nlohmann::json& j) {
        return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      };
      pending_points_.push_back({p.measurement, dump(tags), dump(fields), p.ts_ns});
    }
  }

  bool commit() override {
    if (pending_.empty() && pending_records_.empty() && pending_points_.empty()) {
      return true;
    }
    std::string error;
    if (!sqlite::exec(db_, "BEGIN IMMEDIATE", error)) {
      return fail("begin", error);
    }
    const int64_t old_max = max_ts_;
    if (!writePending(error)) {
      std::string ignored;
      sqlite::exec(db_, "ROLLBACK", ignored);
      ids_.clear();  // ids handed out inside the rolled-back transaction are void
      last_seen_devices_.clear();
      last_seen_apps_.clear();
      max_ts_ = old_max;
      return fail("write", error);
    }
    if (!sqlite::exec(db_, "COMMIT", error)) {
      std::string ignored;
      sqlite::exec(db_, "ROLLBACK", ignored);
      ids_.clear();
      last_seen_devices_.clear();
      last_seen_apps_.clear();
      max_ts_ = old_max;
      return fail("commit", error);
    }
    rows_.add(pending_.size());
    commits_.add();
    pending_.clear();
    pending_records_.clear();
    pending_points_.clear();
    failing_ = false;
    maybeApplyRetention();
    return true;
  }

  void finish(std::chrono::milliseconds) override { commit(); }

 private:
  enum {
    kUpsertDevice,
    kUpsertApplication,
    kInsertSample,
    kInsertRecord,
    kInsertPoint,
    kDeleteBucket,
    kRollupBucket,
    kRetainSamples,
    kRetainRecords,
    kSetMaxTs,
    kSelectMaxTs,
  };

  bool fail(const char* stage, const std::string& error) {
    failures_.add();
    if (!failing_) {
      spdlog::error("SQLite store {}: {} failed: {} (data kept, retrying)", options_.path, stage,
                    error);
      failing_ = true;
    }
    return false;
  }

  bool stepDone(Statement& st, std::string& error) {
    const int rc = st.step();
    st.reset();
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
      error = sqlite3_errmsg(db_);
      return false;
    }
    return true;
  }

  bool idOf(int stmt, const std::string& cache_key, const std::function<void(Statement&)>& bind,
            int64_t& id, std::string& error) {
    auto it = ids_.find(cache_key);
    if (it != ids_.end()) {
      id = it->second;
      return true;
    }
    Statement& st = stmts_[stmt];
    bind(st);
    const int rc = st.step();
    if (rc != SQLITE_ROW) {
      error = sqlite3_errmsg(db_);
      st.reset();
      return false;
    }
    id = st.columnInt(0);
    st.reset();
    ids_.emplace(cache_key, id);
    return true;
  }

  bool writePending(std::string& error) {
    std::set<std::pair<size_t, int64_t>> touched;  // (tier, bucket end)
    for (const PendingSample& p : pending_) {
      const DeviceApplicationSample& a = p.sample;
      int64_t device_id = 0;
      int64_t app_id = 0;
      // last_seen moves with every sample, so the cache only skips the lookup, not the update:
      // devices/apps are upserted once per commit (first sample) and for the max ts below.
      if (!idOf(
              kUpsertDevice, "d\x1f" + p.deployment + "\x1f" + a.device,
              [&](Statement& st) { st.bind(1, p.deployment).bind(2, a.device).bind(3, p.ts); },
              device_id, error) ||
          !idOf(
              kUpsertApplication, "a\x1f" + a.application,
              [&](Statement& st) { st.bind(1, a.application).bind(2, p.ts); }, app_id, error)) {
        return false;
      }
      Statement& st = stmts_[kInsertSample];
      st.bind(1, p.ts)
          .bind(2, device_id)
          .bind(3, app_id)
          .bind(4, p.seconds)
          .bind(5, a.kbps_dw)
          .bind(6, a.kbps_up)
          .bind(7, static_cast<int64_t>(a.bytes_dw))
          .bind(8, static_cast<int64_t>(a.bytes_up))
          .bind(9, static_cast<int64_t>(a.pkts_dw))
          .bind(10, static_cast<int64_t>(a.pkts_up))
          .bind(11, static_cast<int64_t>(a.flows));
      if (!stepDone(st, error)) {
        return false;
      }
      last_seen_devices_[device_id] = std::max(last_seen_devices_[device_id], p.ts);
      last_seen_apps_[app_id] = std::max(last_seen_apps_[app_id], p.ts);
      for (size_t t = 1; t < options_.tiers.size(); ++t) {
        touched.emplace(t, bucketEnd(p.ts, options_.tiers[t].step_s));
      }
    }
    for (const PendingRecord& r : pending_records_) {
      Statement& st = stmts_[kInsertRecord];
      st.bind(1, r.deployment).bind(2, r.ts_start).bind(3, r.ts_end).bind(4, r.entries);
      if (!stepDone(st, error)) {
        return false;
      }
      max_ts_ = std::max(max_ts_, r.ts_end);
      // A record with no samples still moves the rollups of its period (pairs went quiet).
      for (size_t t = 1; t < options_.tiers.size(); ++t) {
        touched.emplace(t, bucketEnd(r.ts_end, options_.tiers[t].step_s));
      }
    }
    for (const PendingPoint& p : pending_points_) {
      Statement& st = stmts_[kInsertPoint];
      st.bind(1, p.measurement).bind(2, p.tags).bind(3, p.fields).bind(4, p.ts);
      if (!stepDone(st, error)) {
        return false;
      }
    }
    if (!updateLastSeen(error)) {
      return false;
    }
    // Coarser tiers after finer ones: std::set orders by tier first.
    for (const auto& [tier, end] : touched) {
      const StoreTier& finer = options_.tiers[tier - 1];
      const int64_t step = options_.tiers[tier].step_s;
      // Frozen once the finer tier no longer holds the whole bucket (retention removed part).
      if (end - step < max_ts_ - finer.keep_s) {
        continue;
      }
      Statement& del = stmts_[kDeleteBucket];
      del.bind(1, static_cast<int64_t>(tier)).bind(2, end);
      if (!stepDone(del, error)) {
        return false;
      }
      Statement& roll = stmts_[kRollupBucket];
      roll.bind(1, static_cast<int64_t>(tier))
          .bind(2, end)
          .bind(3, static_cast<int64_t>(tier - 1))
          .bind(4, tier == 1 ? int64_t{-1} : finer.step_s)
          .bind(5, step);
      if (!stepDone(roll, error)) {
        return false;
      }
      // Buckets of coarser tiers that contain this one are in `touched` already.
    }
    Statement& mt = stmts_[kSetMaxTs];
    mt.bind(1, max_ts_);
    return stepDone(mt, error);
  }

  bool updateLastSeen(std::string& error) {
    for (const auto& [id, ts] : last_seen_devices_) {
      const std::string sql = "UPDATE devices SET last_seen = max(last_seen, " +
                              std::to_string(ts) + ") WHERE id = " + std::to_string(id);
      if (!sqlite::exec(db_, sql.c_str(), error)) {
        return false;
      }
    }
    for (const auto& [id, ts] : last_seen_apps_) {
      const std::string sql = "UPDATE applications SET last_seen = max(last_seen, " +
                              std::to_string(ts) + ") WHERE id = " + std::to_string(id);
      if (!sqlite::exec(db_, sql.c_str(), error)) {
        return false;
      }
    }
    last_seen_devices_.clear();
    last_seen_apps_.clear();
    return true;
  }

  void maybeApplyRetention() {
    const auto now = std::chrono::steady_clock::now();
    if (retention_checked_ && now - last_retention_ < std::chrono::minutes(1)) {
      return;
    }
    retention_checked_ = true;
    last_retention_ = now;
    std::string error;
    int64_t deleted = 0;
    bool ok = sqlite::exec(db_, "BEGIN IMMEDIATE", error);
    for (size_t t = 0; ok && t < options_.tiers.size(); ++t) {
      Statement& st = stmts_[kRetainSamples];
      st.bind(1, static_cast<int64_t>(t)).bind(2, max_ts_ - options_.tiers[t].keep_s);
      ok = stepDone(st, error);
      deleted += sqlite3_changes(db_);
    }
    if (ok) {
      Statement& st = stmts_[kRetainRecords];
      st.bind(1, max_ts_ - options_.tiers[0].keep_s);
      ok = stepDone(st, error);
      deleted += sqlite3_changes(db_);
    }
    ok = ok && sqlite::exec(db_, "COMMIT", error);
    if (!ok) {
      std::string ignored;
      sqlite::exec(db_, "ROLLBACK", ignored);
      spdlog::warn("SQLite store: retention failed: {} (tried again later)", error);
      return;
    }
    deleted_.add(static_cast<uint64_t>(deleted));
  }

  SqliteStoreOptions options_;
  sqlite3* db_ = nullptr;
  std::vector<Statement> stmts_;
  std::unordered_map<std::string, int64_t> ids_;
  std::map<int64_t, int64_t> last_seen_devices_;
  std::map<int64_t, int64_t> last_seen_apps_;
  std::vector<PendingSample> pending_;
  std::vector<PendingRecord> pending_records_;
  std::vector<PendingPoint> pending_points_;
  int64_t max_ts_ = INT64_MIN / 2;
  bool failing_ = false;
  bool retention_checked_ = false;
  std::chrono::steady_clock::time_point last_retention_{};
  Counter& rows_;
  Counter& commits_;
  Counter& failures_;
  Counter& deleted_;
};

}  // namespace

std::unique_ptr<Sink> openSqliteSink(const SqliteStoreOptions& options, MetricsRegistry& metrics,
                                     std::string& error) {
  auto sink = std::make_unique<SqliteSink>(options, metrics);
  if (!sink->open(error)) {
    return nullptr;
  }
  return sink;
}

}  // namespace nm
