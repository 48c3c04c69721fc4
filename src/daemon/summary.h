#pragma once
// The original daemon's per-device, per-application summary of TA records, point for point, so
// dashboards built on its InfluxDB measurements keep working.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "report/ta_record.h"

namespace nm {

inline constexpr std::string_view kKbpsDwMeasurement = "network_traffic_application_kbpsdw";
inline constexpr std::string_view kKbpsUpMeasurement = "network_traffic_application_kbpsup";

// One InfluxDB point before encoding; the sink adds the `deployment` tag and names the field
// `value`.
struct SummaryPoint {
  std::string measurement;
  std::string device;  // the device key (MAC text, else IP text)
  std::string application;
  double value = 0;
  int64_t ts_ns = 0;
  std::string device_name;  // set by plugins (setDeviceName); empty = tag the point with `device`

  const std::string& deviceTag() const { return device_name.empty() ? device : device_name; }
};

// One (device, application) of a record: the plain double sums of its entries' rates, added in
// Data order starting from 0.0.
struct ApplicationSums {
  std::string device;       // HwAddr text if the entry has one, else the Device IP text
  std::string application;  // Meta
  double kbps_dw = 0;
  double kbps_up = 0;
  uint64_t bytes_dw = 0;  // exact sums of Bytes*/Pkts* (0 for the original core's records)
  uint64_t bytes_up = 0;
  uint64_t pkts_dw = 0;
  uint64_t pkts_up = 0;
  uint32_t flows = 0;  // entries of the pair
};

struct SummaryOptions {
  // The original's zero-fill (below). Off for sinks that store samples rather than series.
  bool zero_fill = true;
};

// Turns the sequence of accepted records into points. Feed every accepted record in order, one
// summarizer per stream (per deployment); records rejected by the parser are not part of the
// sequence. Not thread-safe: owned by the one thread that ingests the stream.
//
// add(record N) returns, in this order:
//   1. for each (device, application) of N in order of first appearance in Data: the kbpsdw point,
//      then the kbpsup point, both at TsEnd_N * 10^9;
//   2. zero-fill, unless N is the first record: for each pair of record N-1 (in N-1's order) that
//      N lacks, kbpsdw 0 then kbpsup 0 at TsEnd_N;
//   3. then for each pair of N (in N's order) that N-1 lacked, kbpsdw 0 then kbpsup 0 at
//      TsEnd_(N-1).
// A record with an empty Data is still a record: it zero-fills everything its predecessor had.
// What the summarizer remembers between records: enough to zero-fill after a restart exactly as
// if it had never stopped (the daemon keeps it in its checkpoint).
struct SummarizerState {
  bool has_previous = false;
  int64_t ts_end = 0;                                      // of the last record, seconds
  std::vector<std::pair<std::string, std::string>> pairs;  // its (device, application), in order
};

class ApplicationSummarizer {
 public:
  explicit ApplicationSummarizer(SummaryOptions options = {});

  SummarizerState state() const;
  // Continues a stream as if the record described by `state` had just been added.
  void restore(const SummarizerState& state);

  std::vector<SummaryPoint> add(const TaRecord& record);

  // The sums of the record last passed to add(), in first-appearance order; empty before the
  // first. Valid until the next add().
  const std::vector<ApplicationSums>& lastSums() const { return current_; }
  // TsEnd of that record, in seconds.
  int64_t lastTsEnd() const { return current_ts_end_; }
  // Whether any record was added (or restored) yet.
  bool hasPrevious() const { return has_previous_; }

 private:
  SummaryOptions options_;
  bool has_previous_ = false;
  std::vector<ApplicationSums> current_;
  std::vector<ApplicationSums> previous_;
  int64_t current_ts_end_ = 0;
};

// The device key of an entry: HwAddr text when there is one, else the Device IP text.
std::string summaryDeviceKey(const TaFlowEntry& entry);

// The original daemon's log line for one pair, byte for byte:
//   Unknown-192.168.0.3 {'KbpsDw': 0.6875, 'KbpsUp': 0.65625, 'TsEnd': 1598050385}
// ("application-device", then a Python dict with Python's float repr).
std::string originalLogLine(std::string_view device, std::string_view application, double kbps_dw,
                            double kbps_up, int64_t ts_end);

// Python's repr(float): shortest round-trip digits, always with a '.' or an exponent; exponent
// form when the decimal exponent is < -4 or >= 16 ("1e-05", "1.2345678901234568e+17"); "inf",
// "-inf", "nan".
std::string pythonFloatRepr(double value);

}  // namespace nm
