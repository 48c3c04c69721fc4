#include "sinks/sqlite/sqlite_sink.h"

#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <filesystem>
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
  const int64_t floor = t / step - (t % step < 0 ? 1 : 0);
  return (floor + 1) * step;
}

// Tiers the rollup can keep exact: raw first, each step a multiple of the one before, and each
// finer tier kept for at least one coarser step (else its rows go before the bucket is whole).
bool validTiers(const std::vector<StoreTier>& tiers, std::string& error) {
  if (tiers.empty() || tiers[0].step_s != 0) {
    error = "the first store tier must be the raw one (step 0)";
    return false;
  }
  for (size_t i = 0; i < tiers.size(); ++i) {
    if (tiers[i].keep_s <= 0) {
      error = "every store tier must keep a positive number of seconds";
      return false;
    }
    if (i == 0) {
      continue;
    }
    if (tiers[i].step_s <= 0 || (i > 1 && tiers[i].step_s % tiers[i - 1].step_s != 0)) {
      error = "each rollup step must be a positive multiple of the one before";
      return false;
    }
    if (tiers[i - 1].keep_s < tiers[i].step_s) {
      error = "each store tier must be kept at least one step of the next tier";
      return false;
    }
  }
  return true;
}

std::string cutoffKey(size_t tier) {
  return "deleted_before." + std::to_string(tier);
}

// Why a transaction failed, from SQLite's primary result code.
enum FailReason { kBusy, kFull, kIo, kOther, kFailReasonCount };
constexpr std::array<const char*, kFailReasonCount> kFailReasonNames = {"busy", "full", "io",
                                                                        "other"};

FailReason failReason(int code) {
  switch (code & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return kBusy;
    case SQLITE_FULL:
      return kFull;
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_READONLY:
    case SQLITE_PROTOCOL:
      return kIo;
    default:
      return kOther;
  }
}

// The tiers as the reader finds them in kv ('store', 'tiers'): "step:keep,..." in seconds.
std::string tiersText(const std::vector<StoreTier>& tiers) {
  std::string out;
  for (const StoreTier& t : tiers) {
    if (!out.empty()) {
      out += ',';
    }
    out += std::to_string(t.step_s) + ':' + std::to_string(t.keep_s);
  }
  return out;
}

// Seconds to the nanoseconds of extra points, saturating.
int64_t secondsToNs(int64_t s) {
  constexpr int64_t kMax = INT64_MAX / 1'000'000'000;
  return std::clamp(s, -kMax, kMax) * 1'000'000'000;
}

class SqliteSink final : public Sink {
 public:
  SqliteSink(SqliteStoreOptions options, MetricsRegistry& metrics)
      : options_(std::move(options)),
        rows_(metrics.counter("netmicroscope_sqlite_rows_total", "Raw samples stored")),
        commits_(metrics.counter("netmicroscope_sqlite_commits_total", "SQLite transactions")),
        failures_(metrics.counter("netmicroscope_sink_errors_total", "Sink errors by kind",
                                  {{"sink", "sqlite"}, {"kind", "commit"}})),
        retention_failures_(metrics.counter("netmicroscope_sink_errors_total",
                                            "Sink errors by kind",
                                            {{"sink", "sqlite"}, {"kind", "retention"}})),
        deleted_(metrics.counter("netmicroscope_sqlite_retention_deleted_total",
                                 "Rows removed by retention")),
        db_bytes_(metrics.gauge("netmicroscope_sqlite_db_bytes",
                                "Size of the store: database pages (file=db), write-ahead log "
                                "(file=wal)",
                                {{"file", "db"}})),
        wal_bytes_(metrics.gauge("netmicroscope_sqlite_db_bytes", "", {{"file", "wal"}})) {
    for (size_t r = 0; r < kFailReasonCount; ++r) {
      reasons_[r] = &metrics.counter("netmicroscope_sqlite_commit_failures_total",
                                     "Failed commits (data kept) by SQLite error class",
                                     {{"reason", kFailReasonNames[r]}});
    }
  }

  ~SqliteSink() override {
    stmts_.clear();
    sqlite3_close_v2(db_);
  }

  bool open(std::string& error) {
    if (!validTiers(options_.tiers, error)) {
      return false;
    }
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
    if (options_.max_page_count > 0) {
      const std::string pragma =
          "PRAGMA max_page_count = " + std::to_string(options_.max_page_count);
      if (!sqlite::exec(db_, pragma.c_str(), error)) {
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
        // the finer tier is raw (-1), else the finer step. A range of the primary key (tier, ts).
        "INSERT INTO samples(tier, ts, device_id, application_id, seconds, kbps_dw, kbps_up, "
        "bytes_dw, bytes_up, pkts_dw, pkts_up, flows) SELECT ?1, ?2, device_id, application_id, "
        "sum(seconds), sum(kbps_dw * iif(?4 < 0, seconds, ?4)) / ?5, "
        "sum(kbps_up * iif(?4 < 0, seconds, ?4)) / ?5, sum(bytes_dw), sum(bytes_up), "
        "sum(pkts_dw), sum(pkts_up), sum(flows) FROM samples "
        "WHERE tier = ?3 AND ts > ?2 - ?5 AND ts <= ?2 GROUP BY device_id, application_id",
        "DELETE FROM samples WHERE tier = ?1 AND ts < ?2",
        "DELETE FROM records WHERE ts_end < ?1",
        "DELETE FROM points WHERE ts < ?1",
        // Integers in a TEXT column: compare as integers (text sorts above any number).
        "INSERT INTO kv(namespace, key, value, updated) VALUES('store', ?1, ?2, ?2) "
        "ON CONFLICT(namespace, key) DO UPDATE SET value = max(CAST(value AS INTEGER), "
        "CAST(excluded.value AS INTEGER)), updated = excluded.updated",
        "SELECT CAST(value AS INTEGER) FROM kv WHERE namespace = 'store' AND key = ?1",
        "UPDATE devices SET first_seen = min(first_seen, ?2), last_seen = max(last_seen, ?3) "
        "WHERE id = ?1",
        "UPDATE applications SET first_seen = min(first_seen, ?2), last_seen = max(last_seen, ?3) "
        "WHERE id = ?1",
        "INSERT OR REPLACE INTO kv(namespace, key, value, updated) VALUES('store', ?1, ?2, 0)",
        "SELECT value FROM kv WHERE namespace = 'store' AND key = ?1",
        "PRAGMA page_count",
        "PRAGMA page_size",
        // A plugin's display name for the device (ouimap), kept until a plugin names it again.
        "UPDATE devices SET name = ?2 WHERE id = ?1 AND name != ?2",
    };
    for (const char* s : sql) {
      stmts_.emplace_back(db_, s, error);
      if (!stmts_.back().valid()) {
        return false;
      }
    }
    bool have_max = false;
    if (readStoreInt("max_ts", max_ts_)) {
      have_max = true;
    }
    deleted_before_.assign(options_.tiers.size(), kNothingDeleted);
    for (size_t t = 0; t < options_.tiers.size(); ++t) {
      // A store written before cutoffs were recorded: assume retention ran at the newest time.
      if (!readStoreInt(cutoffKey(t), deleted_before_[t]) && have_max) {
        deleted_before_[t] = max_ts_ - options_.tiers[t].keep_s;
      }
    }
    if (!recordTiers(error)) {
      return false;
    }
    updateSize();
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
      return fail("begin", sqlite3_errcode(db_), error);
    }
    const int64_t old_max = max_ts_;
    const char* stage = "write";
    bool ok = writePending(error);
    if (ok) {
      stage = "commit";
      ok = sqlite::exec(db_, "COMMIT", error);
    }
    if (!ok) {
      const int code = sqlite3_errcode(db_);  // before ROLLBACK overwrites it
      std::string ignored;
      sqlite::exec(db_, "ROLLBACK", ignored);  // may already be rolled back (SQLITE_FULL)
      ids_.clear();  // ids handed out inside the rolled-back transaction are void
      max_ts_ = old_max;
      return fail(stage, code, error);
    }
    rows_.add(pending_.size());
    commits_.add();
    pending_.clear();
    pending_records_.clear();
    pending_points_.clear();
    failing_ = false;
    maybeApplyRetention();
    updateSize();
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
    kRetainPoints,
    kSetStoreInt,
    kSelectStoreInt,
    kSeenDevice,
    kSeenApplication,
    kSetStoreText,
    kSelectStoreText,
    kPageCount,
    kPageSize,
    kSetDeviceName,
  };

  static constexpr int64_t kNothingDeleted = INT64_MIN;

  // Earliest and latest TsEnd of a device or application within one commit.
  struct Seen {
    int64_t first = INT64_MAX;
    int64_t last = INT64_MIN;
    void add(int64_t ts) {
      first = std::min(first, ts);
      last = std::max(last, ts);
    }
  };

  bool readStoreInt(const std::string& key, int64_t& value) {
    Statement& st = stmts_[kSelectStoreInt];
    st.bind(1, key);
    const bool found = st.step() == SQLITE_ROW;
    if (found) {
      value = st.columnInt(0);
    }
    st.reset();
    return found;
  }

  bool writeStoreInt(const std::string& key, int64_t value, std::string& error) {
    Statement& st = stmts_[kSetStoreInt];
    st.bind(1, key).bind(2, value);
    return stepDone(st, error);
  }

  // Written only when the configuration changed, so opening a store takes no write lock.
  bool recordTiers(std::string& error) {
    const std::string want = tiersText(options_.tiers);
    Statement& get = stmts_[kSelectStoreText];
    get.bind(1, std::string_view("tiers"));
    const bool same = get.step() == SQLITE_ROW && get.columnText(0) == want;
    get.reset();
    if (same) {
      return true;
    }
    Statement& set = stmts_[kSetStoreText];
    set.bind(1, std::string_view("tiers")).bind(2, std::string_view(want));
    return stepDone(set, error);
  }

  void updateSize() {
    int64_t v[2] = {0, 0};
    for (int i : {0, 1}) {
      Statement& st = stmts_[i == 0 ? kPageCount : kPageSize];
      if (st.step() == SQLITE_ROW) {
        v[i] = st.columnInt(0);
      }
      st.reset();
    }
    db_bytes_.set(v[0] * v[1]);
    std::error_code ec;
    const auto wal = std::filesystem::file_size(options_.path + "-wal", ec);
    wal_bytes_.set(ec ? 0 : static_cast<int64_t>(wal));
  }

  bool fail(const char* stage, int code, const std::string& error) {
    failures_.add();
    reasons_[failReason(code)]->add();
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

  // The id of a device (`deployment` non-null) or an application, from the cache or an upsert.
  // The cache only saves the lookup; first/last seen are applied per commit (seen_*).
  bool idOf(const std::string* deployment, const std::string& name, int64_t ts, int64_t& id,
            std::string& error) {
    cache_key_.clear();
    if (deployment != nullptr) {
      cache_key_.append("d\x1f").append(*deployment).append("\x1f");
    } else {
      cache_key_.append("a\x1f");
    }
    cache_key_.append(name);
    auto it = ids_.find(cache_key_);
    if (it != ids_.end()) {
      id = it->second;
      return true;
    }
    Statement& st = stmts_[deployment != nullptr ? kUpsertDevice : kUpsertApplication];
    if (deployment != nullptr) {
      st.bind(1, *deployment).bind(2, name).bind(3, ts);
    } else {
      st.bind(1, name).bind(2, ts);
    }
    const int rc = st.step();
    if (rc != SQLITE_ROW) {
      error = sqlite3_errmsg(db_);
      st.reset();
      return false;
    }
    id = st.columnInt(0);
    st.reset();
    ids_.emplace(cache_key_, id);
    return true;
  }

  bool writePending(std::string& error) {
    std::set<std::pair<size_t, int64_t>> touched;  // (tier, bucket end)
    std::map<int64_t, Seen> seen_devices;
    std::map<int64_t, Seen> seen_apps;
    std::set<int64_t> named;  // devices whose display name was set in this commit
    for (const PendingSample& p : pending_) {
      const DeviceApplicationSample& a = p.sample;
      int64_t device_id = 0;
      int64_t app_id = 0;
      if (!idOf(&p.deployment, a.device, p.ts, device_id, error) ||
          !idOf(nullptr, a.application, p.ts, app_id, error)) {
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
      seen_devices[device_id].add(p.ts);
      seen_apps[app_id].add(p.ts);
      if (!a.device_name.empty() && named.emplace(device_id).second) {
        Statement& nm = stmts_[kSetDeviceName];
        nm.bind(1, device_id).bind(2, a.device_name);
        if (!stepDone(nm, error)) {
          return false;
        }
      }
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
    if (!updateSeen(kSeenDevice, seen_devices, error) ||
        !updateSeen(kSeenApplication, seen_apps, error)) {
      return false;
    }
    // Coarser tiers after finer ones: std::set orders by tier first.
    for (const auto& [tier, end] : touched) {
      const StoreTier& finer = options_.tiers[tier - 1];
      const int64_t step = options_.tiers[tier].step_s;
      // Frozen once retention removed part of the bucket from the finer tier. Only deletions
      // that happened count: a commit that moves the newest time far ahead (a backlog) still
      // rolls up everything it brought before retention runs.
      const int64_t lowest_finer_ts = end - step + std::max<int64_t>(finer.step_s, 1);
      if (lowest_finer_ts < deleted_before_[tier - 1]) {
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
    return writeStoreInt("max_ts", max_ts_, error);
  }

  bool updateSeen(int stmt, const std::map<int64_t, Seen>& seen, std::string& error) {
    Statement& st = stmts_[stmt];
    for (const auto& [id, s] : seen) {
      st.bind(1, id).bind(2, s.first).bind(3, s.last);
      if (!stepDone(st, error)) {
        return false;
      }
    }
    return true;
  }

  void maybeApplyRetention() {
    const auto now = std::chrono::steady_clock::now();
    if (retention_checked_ && now - last_retention_ < options_.retention_interval) {
      return;
    }
    retention_checked_ = true;
    last_retention_ = now;
    std::string error;
    int64_t deleted = 0;
    std::vector<int64_t> cutoffs(options_.tiers.size());
    bool ok = sqlite::exec(db_, "BEGIN IMMEDIATE", error);
    for (size_t t = 0; ok && t < options_.tiers.size(); ++t) {
      // Never below an earlier cutoff: what is gone stays gone, and the rollup relies on it.
      cutoffs[t] = std::max(deleted_before_[t], max_ts_ - options_.tiers[t].keep_s);
      Statement& st = stmts_[kRetainSamples];
      st.bind(1, static_cast<int64_t>(t)).bind(2, cutoffs[t]);
      ok = stepDone(st, error);
      deleted += sqlite3_changes(db_);
      ok = ok && writeStoreInt(cutoffKey(t), cutoffs[t], error);
    }
    if (ok) {
      Statement& st = stmts_[kRetainRecords];
      st.bind(1, cutoffs[0]);
      ok = stepDone(st, error);
      deleted += sqlite3_changes(db_);
    }
    if (ok) {
      Statement& st = stmts_[kRetainPoints];
      st.bind(1, secondsToNs(cutoffs[0]));
      ok = stepDone(st, error);
      deleted += sqlite3_changes(db_);
    }
    ok = ok && sqlite::exec(db_, "COMMIT", error);
    if (!ok) {
      std::string ignored;
      sqlite::exec(db_, "ROLLBACK", ignored);
      retention_checked_ = false;  // try again after the next commit
      retention_failures_.add();
      spdlog::warn("SQLite store: retention failed: {} (tried again later)", error);
      return;
    }
    deleted_before_ = std::move(cutoffs);
    deleted_.add(static_cast<uint64_t>(deleted));
  }

  SqliteStoreOptions options_;
  sqlite3* db_ = nullptr;
  std::vector<Statement> stmts_;
  std::unordered_map<std::string, int64_t> ids_;
  std::string cache_key_;  // reused by idOf()
  // Per tier: rows with ts below this were deleted by retention (kNothingDeleted: none).
  std::vector<int64_t> deleted_before_;
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
  Counter& retention_failures_;
  Counter& deleted_;
  Gauge& db_bytes_;
  Gauge& wal_bytes_;
  std::array<Counter*, kFailReasonCount> reasons_{};
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
