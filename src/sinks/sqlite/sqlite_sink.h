#pragma once
// The embedded store: the daemon's default sink, usable with nothing else installed, and what the
// CLI summary and the dashboard read (store_reader.h).
//
// Schema (PRAGMA user_version = 1):
//   devices(id, deployment, key, name, first_seen, last_seen)   key = the summary's device key
//   applications(id, name, first_seen, last_seen)
//   samples(tier, ts, device_id, application_id, seconds, kbps_dw, kbps_up, bytes_dw, bytes_up,
//           pkts_dw, pkts_up, flows)       PRIMARY KEY (tier, device_id, application_id, ts)
//     tier 0: one row per record and (device, application); ts = TsEnd, seconds = window length.
//     tier k > 0: rollups; ts = bucket END (a multiple of the step), so every tier reads "the
//     period ending at ts". bytes/pkts/flows are sums, seconds the covered seconds, kbps the
//     mean rate over the whole bucket counting absent time as 0 (sum(kbps * weight) / step).
//   records(deployment, ts_start, ts_end, entries)               PRIMARY KEY (deployment, ts_end)
//   points(measurement, tags, fields, ts)   plugins' extra points, tags/fields as JSON text
//   kv(namespace, key, value, updated)      plugins' own state
//
// Replay safety (sink.h): tier 0, records and points are upserts on their keys; a rollup bucket
// is recomputed from the next finer tier whenever a commit touches it, never incremented, so
// writing the same summaries twice leaves identical rows.
//
// Retention: per tier, rows with ts < newest TsEnd ever stored - keep are deleted (checked at most
// once a minute). "Now" is packet time, so replaying an old capture keeps its data. A bucket is
// only recomputed while the finer tier still holds the whole bucket; older buckets stay frozen.
//
// Durability: WAL with synchronous=NORMAL: a committed transaction survives a crash of the
// process (SIGKILL), a power loss may drop the last commits (they are replayed from the daemon's
// checkpoint, which is older).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/metrics.h"
#include "daemon/sink.h"

namespace nm {

struct StoreTier {
  int64_t step_s = 0;  // 0 for tier 0 (raw records)
  int64_t keep_s = 0;
};

struct SqliteStoreOptions {
  std::string path;
  // tier 0 first; each later step must be a multiple of the one before.
  std::vector<StoreTier> tiers = {{0, 7 * 86400}, {60, 90 * 86400}, {3600, 730 * 86400}};
  int busy_timeout_ms = 5000;
};

// Opens (creating the file and schema when needed) and returns the sink; nullptr with `error`.
std::unique_ptr<Sink> openSqliteSink(const SqliteStoreOptions& options, MetricsRegistry& metrics,
                                     std::string& error);
inline std::unique_ptr<Sink> openSqliteSink(const std::string& path, MetricsRegistry& metrics,
                                            std::string& error) {
  SqliteStoreOptions o;
  o.path = path;
  return openSqliteSink(o, metrics, error);
}

}  // namespace nm
