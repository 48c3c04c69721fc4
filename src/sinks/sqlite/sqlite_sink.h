#pragma once
// The embedded store: the daemon's default sink, usable with nothing else installed, and what the
// CLI summary and the dashboard read (store_reader.h).
//
// Schema (PRAGMA user_version = 2; a version-1 file is migrated on open):
//   devices(id, deployment, key, name, first_seen, last_seen)   key = the summary's device key
//   applications(id, name, first_seen, last_seen)
//   samples(tier, ts, device_id, application_id, seconds, kbps_dw, kbps_up, bytes_dw, bytes_up,
//           pkts_dw, pkts_up, flows)       PRIMARY KEY (tier, ts, device_id, application_id)
//     (time first: a commit appends at the end of each tier and a bucket is one key range)
//     tier 0: one row per record and (device, application); ts = TsEnd, seconds = window length.
//     tier k > 0: rollups; ts = bucket END (a multiple of the step), so every tier reads "the
//     period ending at ts". bytes/pkts/flows are sums, seconds the covered seconds, kbps the
//     mean rate over the whole bucket counting absent time as 0 (sum(kbps * weight) / step).
//   records(deployment, ts_start, ts_end, entries)               PRIMARY KEY (deployment, ts_end)
//   points(measurement, tags, fields, ts)   plugins' extra points, tags/fields as JSON text
//                                           (keys sorted), ts in ns; PRIMARY KEY(measurement,
//                                           tags, ts)
//   kv(namespace, key, value, updated)      plugins' own state (store_state.h); namespace
//                                           'store' is this sink's: max_ts, deleted_before.<tier>
//                                           and tiers ("step:keep,..." in s, for the reader)
//
// Replay safety (sink.h): tier 0, records and points are upserts on their keys; a rollup bucket
// is recomputed from the next finer tier whenever a commit touches it, never incremented, so
// writing the same summaries twice leaves identical rows.
//
// Retention: per tier, rows with ts < newest TsEnd ever stored - keep are deleted, records and
// points under tier 0's keep (after a successful commit, at most once per retention_interval of
// wall time). "Now" is packet time, so replaying an old capture keeps its data. The cutoff each
// tier was cut at is stored; a bucket is recomputed only while the finer tier was never cut
// inside it (so a backlog committed at once is rolled up before its raw rows go), older buckets
// stay frozen. Tiers must let every bucket complete: each finer tier is kept >= one coarser step.
//
// Durability: WAL with synchronous=NORMAL: a committed transaction survives a crash of the
// process (SIGKILL), a power loss may drop the last commits (they are replayed from the daemon's
// checkpoint, which is older).
//
// Metrics: netmicroscope_sqlite_rows_total (raw samples), netmicroscope_sqlite_commits_total,
// netmicroscope_sink_errors_total{sink="sqlite",kind="commit"|"retention"},
// netmicroscope_sqlite_commit_failures_total{reason="busy"|"full"|"io"|"other"},
// netmicroscope_sqlite_retention_deleted_total, netmicroscope_sqlite_db_bytes{file="db"|"wal"}
// (updated after each commit).

#include <chrono>
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
  // tier 0 (step 0) first; each later step a multiple of the one before; every keep_s > 0 and
  // each tier's keep_s >= the next tier's step_s. Checked by openSqliteSink.
  std::vector<StoreTier> tiers = {{0, 7 * 86400}, {60, 90 * 86400}, {3600, 730 * 86400}};
  int busy_timeout_ms = 5000;
  // Retention runs after a successful commit at most this often (wall time); tests use 0.
  std::chrono::milliseconds retention_interval{std::chrono::minutes(1)};
  // 0: no cap. Else a hard cap on the database's pages (PRAGMA max_page_count): a commit past it
  // fails with "database or disk is full" and keeps its data, as on a full disk.
  int64_t max_page_count = 0;
};

// Opens (creating the file and schema when needed) and returns the sink; nullptr with `error`.
// The sink is used from one thread (sink.h); `metrics` must outlive it. Another process may
// read the file meanwhile (store_reader.h) and may write it (a commit then waits up to
// busy_timeout_ms for the lock, else fails and keeps its data).
std::unique_ptr<Sink> openSqliteSink(const SqliteStoreOptions& options, MetricsRegistry& metrics,
                                     std::string& error);
inline std::unique_ptr<Sink> openSqliteSink(const std::string& path, MetricsRegistry& metrics,
                                            std::string& error) {
  SqliteStoreOptions o;
  o.path = path;
  return openSqliteSink(o, metrics, error);
}

}  // namespace nm
