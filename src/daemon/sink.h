#pragma once
// The daemon's door to its sinks: one summary per accepted TA record, handed over in stream
// order, and a commit that says "durable now".
//
// Lifecycle (Zeek's writer backends: init / write / flush / finish), all calls from the one
// ingest thread:
//   write(summary)*  commit()  write(summary)*  commit() ...  finish(deadline)
// A sink that talks to a server owns its own delivery thread and a bounded on-disk spool;
// write() and commit() never wait on the network.
//
// Replay: after a crash the daemon resumes from its last checkpoint (taken after a successful
// commit of every sink), so summaries written after that commit are written again. Every sink
// must treat (deployment, ts_end, device, application) — and for extra points, measurement +
// tags + timestamp — as a key and REPLACE what it holds under that key, so a replay never
// double-counts. InfluxDB does this by itself (same series and timestamp overwrite).

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "daemon/summary.h"
#include "report/ta_record.h"

namespace nm {

// One (device, application) of one record with everything the store keeps.
struct DeviceApplicationSample {
  std::string device;       // the summary's device key (MAC text, else IP text); never renamed
  std::string application;  // Meta
  double kbps_dw = 0;       // the original's plain sums, in Data order
  double kbps_up = 0;
  uint64_t bytes_dw = 0;  // exact when the record carries Bytes*/Pkts* (ours), else 0
  uint64_t bytes_up = 0;
  uint64_t pkts_dw = 0;
  uint64_t pkts_up = 0;
  uint32_t flows = 0;  // entries of this pair in the record
  // The display name a plugin gave the device (ouimap: "ASUSTek_COMPUTER_INC_01"); empty = the
  // key. InfluxDB points carry it as their `device` tag, as the original's did.
  std::string device_name;
};

// A point a plugin adds (e.g. exinfo's "geometric"): any tags and fields. The sink adds no tags.
struct ExtraPoint {
  using FieldValue = std::variant<double, int64_t, bool, std::string>;
  std::string measurement;
  std::vector<std::pair<std::string, std::string>> tags;
  std::vector<std::pair<std::string, FieldValue>> fields;
  int64_t ts_ns = 0;
};

// Gives `device_key` the display name `name` in `summary`: its samples' device_name and the
// `device` tag of its kbpsdw/kbpsup points (zero-fill included).
void setDeviceName(struct RecordSummary& summary, std::string_view device_key,
                   std::string_view name);

// Everything sinks get for one accepted TA record.
struct RecordSummary {
  std::string deployment;  // NMD_DEPLOYMENT of the probe that produced the record
  int64_t ts_start = 0;    // seconds
  int64_t ts_end = 0;
  std::vector<DeviceApplicationSample> samples;  // first-appearance order in Data
  // The original's kbpsdw/kbpsup points, zero-fill included (summary.h); the `deployment` tag is
  // added by the sink.
  std::vector<SummaryPoint> points;
  std::vector<ExtraPoint> extra_points;
  // The record itself, for sinks that keep per-flow detail. Valid only during write().
  const TaRecord* record = nullptr;
};

class Sink {
 public:
  virtual ~Sink() = default;

  // Short stable name for logs and metrics labels: "sqlite", "influxdb", ...
  virtual std::string_view name() const = 0;

  // Takes one summary, in stream order. Buffers in memory; never blocks on a server.
  virtual void write(const RecordSummary& summary) = 0;

  // Makes everything written so far durable (stored, or spooled on disk for later delivery).
  // true: the daemon may checkpoint its sources / acknowledge messages. false: nothing written
  // since the last successful commit is lost; the daemon logs, counts, and calls commit() again
  // later (the sink keeps the data).
  virtual bool commit() = 0;

  // Last call. Commits, then delivers what can be delivered within `deadline`; whatever is not
  // delivered stays spooled for the next start. Joins the sink's threads.
  virtual void finish(std::chrono::milliseconds deadline) = 0;
};

}  // namespace nm
