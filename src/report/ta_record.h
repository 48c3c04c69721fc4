#pragma once
// The original NetMicroscope "TA" record: one JSON object per window, one line each.
// docs/formats.md describes every key. This type is the report stage's output and the daemon's
// input, whether it arrives in-process or from a file.

#include <cstdint>
#include <string>
#include <vector>

#include "flow/flow.h"

namespace nm {

struct TaFlowEntry {
  std::string meta = "Unknown";
  std::string device;   // local IP
  std::string hw_addr;  // local MAC, "" when the link layer has none
  std::string flow;     // 32 hex digits, stable for the flow's lifetime
  std::string domain;
  std::string proto;  // "tcp", "udp", "icmp", "icmpv6" or the protocol number
  uint16_t lport = 0;
  std::string sip;  // remote IP
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

// One line of JSON, keys in the original order, no trailing newline.
std::string toJsonLine(const TaRecord& record);

}  // namespace nm
