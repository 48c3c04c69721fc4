#pragma once
// A bidirectional flow oriented local device <-> remote service, and its per-window counters.
// Flows are owned by FlowTable; a Flow reference stays valid until the flow is expired or
// evicted (FlowTable tells its EvictionListener first).

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/net_types.h"

namespace nm {

// Canonical 5-tuple: endpoint `a` is the smaller (ip, port) pair, so both directions of a
// conversation map to the same key.
struct FlowKey {
  IpAddr a_ip;
  IpAddr b_ip;
  uint16_t a_port = 0;
  uint16_t b_port = 0;
  uint8_t proto = 0;

  bool operator==(const FlowKey& o) const;
};

struct FlowKeyHash {
  size_t operator()(const FlowKey& k) const noexcept;
};

// Builds the canonical key for a packet from src to dst; `src_is_a` tells the direction.
FlowKey makeFlowKey(const IpAddr& src, uint16_t src_port, const IpAddr& dst, uint16_t dst_port,
                    uint8_t proto, bool& src_is_a);

// Counters since the start of the current window. "Up" is local -> remote.
struct WindowCounters {
  uint64_t bytes_up = 0;
  uint64_t bytes_dw = 0;
  uint32_t pkts_up = 0;
  uint32_t pkts_dw = 0;

  bool empty() const { return pkts_up == 0 && pkts_dw == 0; }
};

// One upstream request and the downstream data that followed it (the original core's video
// segment detection). Field meanings are documented in docs/formats.md.
struct UpstreamChunk {
  uint32_t len = 0;        // request's TCP segment length (header + payload)
  uint32_t seq = 0;        // request's TCP sequence number
  Timestamp ts_start = 0;  // request time
  Timestamp ts_end = 0;    // time of the last downstream packet once closed; 0 while open
  Timestamp last_pkt = 0;  // latest packet of the chunk, either direction
  uint32_t down_pkts = 0;
  uint64_t down_bytes = 0;  // downstream TCP payload bytes
  uint32_t max_dseq = 0;    // highest downstream sequence number seen
};

// Per-TCP-flow chunk state, allocated on the first request.
struct ChunkState {
  bool has_open = false;
  UpstreamChunk open;
  std::vector<UpstreamChunk> closed_in_window;  // closed since the window started
};

// State a later stage keeps per flow (e.g. classification buffers); freed with the flow or as
// soon as that stage is done with it.
struct FlowAnalysis {
  virtual ~FlowAnalysis() = default;
};

// What a classifier concluded. The strings are interned by the classifier and outlive every flow.
struct FlowLabel {
  const std::string* service = nullptr;  // null: no service known
  const std::string* domain = nullptr;   // null: no name known
  const std::string* ndpi = nullptr;     // the independent nDPI verdict, when there is one
  uint8_t evidence = 0;                  // classifier-defined: which evidence decided
  bool decided = false;                  // no further packets are inspected
};

// Fields are ordered so that the small ones share padding: the table holds one per active flow.
struct Flow {
  FlowKey key;
  MacAddr local_mac;
  bool local_is_a = true;  // which key endpoint is the local device
  bool has_mac = false;
  bool in_window = false;   // moved packets since the window started
  uint8_t tcp_closing = 0;  // FIN seen from: bit0 local, bit1 remote; 0x4 = RST
  Timestamp first_seen = 0;
  Timestamp last_seen = 0;
  WindowCounters window;
  uint64_t total_bytes = 0;
  uint64_t total_pkts = 0;
  std::unique_ptr<ChunkState> chunks;  // TCP flows with requests only
  FlowLabel label;
  std::unique_ptr<FlowAnalysis> analysis;  // classification in progress

  // Intrusive links of FlowTable's recency list (slot indices).
  uint32_t lru_prev = 0;
  uint32_t lru_next = 0;

  // 128-bit id of this flow instance (a new flow on the same 5-tuple gets a new one), derived
  // from the key and the first packet's time rather than stored.
  std::pair<uint64_t, uint64_t> id() const;

  const IpAddr& localIp() const { return local_is_a ? key.a_ip : key.b_ip; }
  const IpAddr& remoteIp() const { return local_is_a ? key.b_ip : key.a_ip; }
  uint16_t localPort() const { return local_is_a ? key.a_port : key.b_port; }
  uint16_t remotePort() const { return local_is_a ? key.b_port : key.a_port; }
};

}  // namespace nm
