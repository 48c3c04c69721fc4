#pragma once
// Read-only queries over the store (schema in sqlite_sink.h), for the CLI summary and the
// dashboard. Safe while a daemon writes: WAL readers never block the writer, and each query is
// one read transaction, so it sees whole commits only. One reader per thread; every method
// prepares its statements per call (queries are not on a hot path).
//
// Errors: every query takes `error`, leaves it untouched on success and sets it (returning what
// it has, usually nothing) when SQLite fails, e.g. when the file is not a store.

#include <sqlite3.h>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nm {

inline constexpr int kAutoTier = -1;

// What a query covers: rows whose period END lies in (from, to]. A rollup row covers
// (ts - step, ts], so with an unaligned `from` the first coarse row begins before it. Filters
// select one deployment, device key and/or application; nullopt matches all.
struct StoreQuery {
  int64_t from = std::numeric_limits<int64_t>::min();
  int64_t to = std::numeric_limits<int64_t>::max();
  std::optional<std::string> deployment;
  std::optional<std::string> device;  // the device key (MAC or IP text), not its display name
  std::optional<std::string> application;
  // kAutoTier: chooseTier(); else that tier (0 = raw).
  int tier = kAutoTier;
};

// One tier as the store holds it.
struct StoredTier {
  int tier = 0;
  int64_t step_s = 0;  // 0 for raw
  int64_t keep_s = 0;  // 0 when the store does not say (written by an older version)
  // Retention deleted this tier's rows with ts below this; INT64_MIN when it never ran.
  int64_t deleted_before = std::numeric_limits<int64_t>::min();
  bool has_rows = false;
  int64_t oldest = 0;  // smallest and largest ts held (valid when has_rows)
  int64_t newest = 0;
};

// Traffic of one (device, application) over a period.
struct StoredApplication {
  std::string deployment;
  std::string device;       // the device key (MAC or IP text)
  std::string device_name;  // what plugins named it; the key when unnamed
  std::string application;
  uint64_t bytes_dw = 0;
  uint64_t bytes_up = 0;
  uint64_t pkts_dw = 0;
  uint64_t pkts_up = 0;
  uint64_t flows = 0;
  int64_t active_seconds = 0;  // seconds of windows in which the pair moved traffic
  double mean_kbps_dw = 0;     // mean of the original's rates over those seconds
  double mean_kbps_up = 0;
  int64_t first = 0;  // ts (period end) of its first and last row in the tier read
  int64_t last = 0;
};

struct StoredDevice {
  std::string deployment;
  std::string key;   // MAC or IP text
  std::string name;  // display name; the key until a plugin renames it
  // TsEnd of its first and last record. A device named before it was seen has
  // first_seen = INT64_MAX and last_seen = INT64_MIN.
  int64_t first_seen = 0;
  int64_t last_seen = 0;
  uint64_t bytes_dw = 0;  // over everything the store still holds (chooseTier of all time)
  uint64_t bytes_up = 0;
};

// One period of a time series: the rows of the query at one ts, summed.
struct SeriesPoint {
  int64_t ts = 0;       // period end
  int64_t seconds = 0;  // the longest coverage among the rows summed
  double kbps_dw = 0;   // summed rates (raw: over the window; rollups: mean over the bucket)
  double kbps_up = 0;
  uint64_t bytes_dw = 0;
  uint64_t bytes_up = 0;
  uint64_t pkts_dw = 0;
  uint64_t pkts_up = 0;
  uint64_t flows = 0;
};

struct StoredSeries {
  int tier = 0;                     // the tier read
  int64_t step_s = 0;               // its step (0: raw, one point per record end)
  std::vector<SeriesPoint> points;  // by ts ascending
};

struct StoredTotals {
  int tier = 0;  // the tier read
  uint64_t bytes_dw = 0;
  uint64_t bytes_up = 0;
  uint64_t pkts_dw = 0;
  uint64_t pkts_up = 0;
  uint64_t flows = 0;
  uint64_t devices = 0;  // distinct devices and applications with a row
  uint64_t applications = 0;
  int64_t first = 0;  // ts of the first and last row (0 when none)
  int64_t last = 0;
};

struct StoredSpan {
  int64_t first = 0;  // TsStart of the oldest stored record, TsEnd of the newest
  int64_t last = 0;
  uint64_t records = 0;
};

class StoreReader {
 public:
  // Opens `path` read-only (it must exist); nullptr with `error`.
  static std::unique_ptr<StoreReader> open(const std::string& path, std::string& error);
  ~StoreReader();
  StoreReader(const StoreReader&) = delete;
  StoreReader& operator=(const StoreReader&) = delete;

  StoredSpan span(std::string& error) const;

  // A plugin's saved value (kv table, namespace "plugin.<name>"); nullopt when absent (error
  // untouched) or on failure (error set).
  std::optional<std::string> value(std::string_view ns, std::string_view key,
                                   std::string& error) const;

  // The configured tiers (kv 'store'/'tiers'; the default tiers for a store that does not say),
  // finest first, with what each holds.
  std::vector<StoredTier> tiers(std::string& error) const;

  // The tier a query reads when q.tier is kAutoTier: the finest tier that still holds the whole
  // of (q.from, q.to] (retention has not cut into the range, or cut only where no tier has
  // data), and, when max_points > 0, is estimated to give at most max_points periods (raw: one
  // per window, using the newest window's length). When none qualifies: the coarsest. q.tier
  // when set (error if the store has no such tier). -1 on error.
  int chooseTier(const StoreQuery& q, size_t max_points, std::string& error) const;

  // Every device, most bytes first (then deployment, key).
  std::vector<StoredDevice> devices(std::string& error) const;

  // Pairs with a raw sample ending in (from, to], most bytes first. Same as applications() with
  // tier 0 and no filter.
  std::vector<StoredApplication> applications(int64_t from, int64_t to, std::string& error) const;
  // Pairs matching q in its tier (auto: the finest holding the range), most bytes first.
  std::vector<StoredApplication> applications(const StoreQuery& q, std::string& error) const;

  // The rows matching q summed per ts, in the tier chosen with max_points (0: no limit).
  StoredSeries series(const StoreQuery& q, size_t max_points, std::string& error) const;

  // Sums over the rows matching q (auto: the finest tier holding the range).
  StoredTotals totals(const StoreQuery& q, std::string& error) const;

 private:
  explicit StoreReader(sqlite3* db) : db_(db) {}
  sqlite3* db_;
};

}  // namespace nm
