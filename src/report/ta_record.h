#pragma once
// The original NetMicroscope "TA" record: one JSON object per window, one line each.
// docs/formats.md describes every key. This type is the report stage's output and the daemon's
// input, whether it arrives in-process or from a file.

#include <cstdint>
#include <string>
#include <vector>

#include "flow/flow.h"

namespace nm {

// Typed, so building one per flow and window allocates nothing in the common case.
struct TaFlowEntry {
  std::string meta = "Unknown";
  std::string domain;
  std::string ndpi;  // nDPI's independent verdict ("TLS.NetFlix"); "" when nDPI did not run
  IpAddr device;     // local IP
  MacAddr hw_addr;
  bool has_hw_addr = false;  // false: "HwAddr":"" (no link-layer address)
  uint64_t flow_hi = 0;      // "Flow": 32 hex digits, stable for the flow's lifetime
  uint64_t flow_lo = 0;
  uint8_t proto = 0;  // IP protocol number; "Proto" is its name
  uint16_t lport = 0;
  IpAddr sip;  // remote IP
  uint16_t sport = 0;
  double kbps_up = 0;
  double kbps_dw = 0;
  double pps_up = 0;
  double pps_dw = 0;
  uint64_t bytes_up = 0;
  uint64_t bytes_dw = 0;
  uint64_t pkts_up = 0;
  uint64_t pkts_dw = 0;
  bool has_video_info = false;
  std::vector<UpstreamChunk> upstream_chunks;
};

struct TaRecord {
  // Info
  std::string version = "2.0";
  std::string conf = "--";
  std::string type = "Traffic";
  int64_t ts_start = 0;  // seconds
  int64_t ts_end = 0;
  uint64_t pkts_rcvd = 0;  // frames received in this window
  uint64_t pkts_drop = 0;  // frames dropped by kernel/libpcap in this window
  // CacheStats
  uint64_t gen_flows = 0;
  uint64_t video_flows = 0;
  uint64_t tcp_video_flows = 0;
  uint64_t tcp_flows = 0;
  uint64_t general_counters = 0;
  uint64_t video_segments = 0;
  uint64_t evicted_flows = 0;
  uint64_t expired_flows = 0;
  // TrafficData: distribution of per-flow KbpsDw over the window's flows
  double avg = 0;
  double var = 0;
  double q50 = 0;
  double q75 = 0;
  double q90 = 0;
  double q95 = 0;
  std::vector<TaFlowEntry> data;
};

// Appends one line of JSON (keys in the original order) and a newline to `out`.
void appendJsonLine(const TaRecord& record, std::string& out);
// The same line without the newline.
std::string toJsonLine(const TaRecord& record);

}  // namespace nm
