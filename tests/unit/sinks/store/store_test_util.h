#pragma once
// Helpers for the SQLite store tests: a temp dir, a second raw connection, summary builders and
// the rows of each table read back by natural keys (device key, application name), not ids.

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "core/metrics.h"
#include "daemon/sink.h"
#include "sinks/sqlite/sqlite_sink.h"
#include "support/temp_dir.h"

namespace nm::store_test {

struct TempDir : test::TempDir {
  TempDir() : test::TempDir("nm_store") {}
};

// A plain second connection, as another process would hold.
class Conn {
 public:
  explicit Conn(const std::string& path, int busy_ms = 5000) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
        SQLITE_OK) {
      ADD_FAILURE() << "open " << path << ": " << sqlite3_errmsg(db_);
    }
    sqlite3_busy_timeout(db_, busy_ms);
  }
  ~Conn() { sqlite3_close_v2(db_); }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  sqlite3* db() const { return db_; }
  // Runs SQL; returns the sqlite result code (SQLITE_OK on success).
  int exec(const std::string& sql) {
    char* msg = nullptr;
    const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &msg);
    if (msg != nullptr) {
      last_error_ = msg;
      sqlite3_free(msg);
    }
    return rc;
  }
  int64_t scalar(const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    int64_t v = -1;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
      v = sqlite3_column_int64(st, 0);
    } else {
      ADD_FAILURE() << sql << ": " << sqlite3_errmsg(db_);
    }
    sqlite3_finalize(st);
    return v;
  }
  // Every row as text cells (NULL as "<null>"), for whole-table comparisons.
  std::vector<std::vector<std::string>> rows(const std::string& sql) {
    std::vector<std::vector<std::string>> out;
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << sql << ": " << sqlite3_errmsg(db_);
      return out;
    }
    int rc = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      std::vector<std::string> row;
      for (int i = 0; i < sqlite3_column_count(st); ++i) {
        const auto* t = sqlite3_column_text(st, i);
        if (t == nullptr) {
          row.emplace_back("<null>");
        } else if (sqlite3_column_type(st, i) == SQLITE_FLOAT) {
          char buf[64];
          std::snprintf(buf, sizeof buf, "%.17g", sqlite3_column_double(st, i));
          row.emplace_back(buf);
        } else {
          row.emplace_back(reinterpret_cast<const char*>(t));
        }
      }
      out.push_back(std::move(row));
    }
    if (rc != SQLITE_DONE) {
      ADD_FAILURE() << sql << ": " << sqlite3_errmsg(db_);
    }
    sqlite3_finalize(st);
    return out;
  }
  const std::string& lastError() const { return last_error_; }

 private:
  sqlite3* db_ = nullptr;
  std::string last_error_;
};

using Key = std::tuple<std::string, std::string, std::string, int64_t>;  // dep, device, app, ts

struct SampleRow {
  int64_t seconds = 0;
  double kbps_dw = 0;
  double kbps_up = 0;
  int64_t bytes_dw = 0;
  int64_t bytes_up = 0;
  int64_t pkts_dw = 0;
  int64_t pkts_up = 0;
  int64_t flows = 0;
};

// Every sample of `tier`, by (deployment, device key, application, ts).
inline std::map<Key, SampleRow> readTier(Conn& c, int tier) {
  std::map<Key, SampleRow> out;
  sqlite3_stmt* st = nullptr;
  const std::string sql =
      "SELECT d.deployment, d.key, a.name, s.ts, s.seconds, s.kbps_dw, s.kbps_up, s.bytes_dw, "
      "s.bytes_up, s.pkts_dw, s.pkts_up, s.flows FROM samples s JOIN devices d ON d.id = "
      "s.device_id JOIN applications a ON a.id = s.application_id WHERE s.tier = " +
      std::to_string(tier);
  if (sqlite3_prepare_v2(c.db(), sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
    ADD_FAILURE() << sqlite3_errmsg(c.db());
    return out;
  }
  while (sqlite3_step(st) == SQLITE_ROW) {
    const auto text = [&](int i) {
      return std::string(reinterpret_cast<const char*>(sqlite3_column_text(st, i)));
    };
    Key k{text(0), text(1), text(2), sqlite3_column_int64(st, 3)};
    SampleRow r;
    r.seconds = sqlite3_column_int64(st, 4);
    r.kbps_dw = sqlite3_column_double(st, 5);
    r.kbps_up = sqlite3_column_double(st, 6);
    r.bytes_dw = sqlite3_column_int64(st, 7);
    r.bytes_up = sqlite3_column_int64(st, 8);
    r.pkts_dw = sqlite3_column_int64(st, 9);
    r.pkts_up = sqlite3_column_int64(st, 10);
    r.flows = sqlite3_column_int64(st, 11);
    EXPECT_TRUE(out.emplace(k, r).second) << "duplicate row";
  }
  sqlite3_finalize(st);
  return out;
}

inline DeviceApplicationSample sample(std::string device, std::string app, double kdw, double kup,
                                      uint64_t bdw, uint64_t bup, uint64_t pdw, uint64_t pup,
                                      uint32_t flows) {
  DeviceApplicationSample s;
  s.device = std::move(device);
  s.application = std::move(app);
  s.kbps_dw = kdw;
  s.kbps_up = kup;
  s.bytes_dw = bdw;
  s.bytes_up = bup;
  s.pkts_dw = pdw;
  s.pkts_up = pup;
  s.flows = flows;
  return s;
}

inline RecordSummary summary(std::string deployment, int64_t ts_start, int64_t ts_end,
                             std::vector<DeviceApplicationSample> samples) {
  RecordSummary s;
  s.deployment = std::move(deployment);
  s.ts_start = ts_start;
  s.ts_end = ts_end;
  s.samples = std::move(samples);
  return s;
}

// Ceiling to a multiple of step (C++ division truncates toward zero, which is the ceiling for
// negative quotients): the end of the bucket (end - step, end] holding ts.
inline int64_t ceilTo(int64_t ts, int64_t step) {
  int64_t e = (ts / step) * step;
  if (e < ts) {
    e += step;
  }
  return e;
}

// Expected rollups computed from raw samples only (never through another tier).
inline std::map<Key, SampleRow> expectedRollup(const std::map<Key, SampleRow>& raw, int64_t step) {
  std::map<Key, SampleRow> out;
  for (const auto& [k, r] : raw) {
    const auto& [dep, dev, app, ts] = k;
    SampleRow& b = out[Key{dep, dev, app, ceilTo(ts, step)}];
    b.seconds += r.seconds;
    b.kbps_dw += r.kbps_dw * static_cast<double>(r.seconds);
    b.kbps_up += r.kbps_up * static_cast<double>(r.seconds);
    b.bytes_dw += r.bytes_dw;
    b.bytes_up += r.bytes_up;
    b.pkts_dw += r.pkts_dw;
    b.pkts_up += r.pkts_up;
    b.flows += r.flows;
  }
  for (auto& [k, b] : out) {
    b.kbps_dw /= static_cast<double>(step);
    b.kbps_up /= static_cast<double>(step);
  }
  return out;
}

inline std::string keyText(const Key& k) {
  return std::get<0>(k) + "/" + std::get<1>(k) + "/" + std::get<2>(k) + "@" +
         std::to_string(std::get<3>(k));
}

// Every bucket equal (ints exactly, rates to 1e-9 relative), none missing, none extra.
inline void expectSameRows(const std::map<Key, SampleRow>& want,
                           const std::map<Key, SampleRow>& got, const std::string& what) {
  EXPECT_EQ(want.size(), got.size()) << what;
  size_t reported = 0;
  for (const auto& [k, w] : want) {
    auto it = got.find(k);
    if (it == got.end()) {
      if (reported++ < 5) {
        ADD_FAILURE() << what << ": missing " << keyText(k);
      }
      continue;
    }
    const SampleRow& g = it->second;
    const auto near = [](double a, double b) {
      return std::abs(a - b) <= 1e-9 * (1 + std::abs(a));
    };
    if (g.seconds != w.seconds || g.bytes_dw != w.bytes_dw || g.bytes_up != w.bytes_up ||
        g.pkts_dw != w.pkts_dw || g.pkts_up != w.pkts_up || g.flows != w.flows ||
        !near(w.kbps_dw, g.kbps_dw) || !near(w.kbps_up, g.kbps_up)) {
      if (reported++ < 5) {
        ADD_FAILURE() << what << ": " << keyText(k) << " want s=" << w.seconds
                      << " bdw=" << w.bytes_dw << " bup=" << w.bytes_up << " pdw=" << w.pkts_dw
                      << " pup=" << w.pkts_up << " fl=" << w.flows << " kdw=" << w.kbps_dw
                      << " kup=" << w.kbps_up << " got s=" << g.seconds << " bdw=" << g.bytes_dw
                      << " bup=" << g.bytes_up << " pdw=" << g.pkts_dw << " pup=" << g.pkts_up
                      << " fl=" << g.flows << " kdw=" << g.kbps_dw << " kup=" << g.kbps_up;
      }
    }
  }
  for (const auto& [k, g] : got) {
    if (want.find(k) == want.end() && reported++ < 10) {
      ADD_FAILURE() << what << ": unexpected " << keyText(k);
    }
  }
}

inline std::unique_ptr<Sink> openSink(const SqliteStoreOptions& o, MetricsRegistry& m) {
  std::string error;
  auto sink = openSqliteSink(o, m, error);
  EXPECT_NE(sink, nullptr) << error;
  return sink;
}

}  // namespace nm::store_test
