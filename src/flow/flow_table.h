#pragma once
// The flow stage's door. FlowTable::observe() attributes each decoded packet to a bidirectional
// flow, orients it (local device vs remote service), updates per-window counters and upstream
// chunks, and keeps memory bounded by LRU eviction. Single-threaded: one table per capture
// thread. Time is packet time; the table never reads a clock.

#include <cstdint>
#include <string>
#include <vector>

#include <absl/container/flat_hash_map.h>

#include "core/net_types.h"
#include "decode/decode.h"
#include "flow/flow.h"

namespace nm {

struct FlowTableConfig {
  std::vector<IpPrefix> local_prefixes;  // empty: private-address rule
  uint32_t max_flows = 500'000;          // LRU eviction beyond this
  Timestamp tcp_idle_timeout = 300 * kNanosPerSecond;
  Timestamp tcp_closed_timeout = 10 * kNanosPerSecond;  // after FIN both ways or RST
  Timestamp udp_idle_timeout = 60 * kNanosPerSecond;
  Timestamp other_idle_timeout = 60 * kNanosPerSecond;
  uint32_t chunk_min_payload = 1;       // upstream TCP payload bytes that open a chunk; 0 = off
  uint32_t max_chunks_per_window = 32;  // closed chunks kept per flow and window; more are counted
  uint32_t max_fragment_entries = 65'536;
  Timestamp fragment_timeout = 30 * kNanosPerSecond;
};

// Told about every flow just before the table drops it, so window counters are never lost. The
// listener may settle the flow (e.g. finalize its label); the flow is destroyed right after.
class EvictionListener {
 public:
  virtual ~EvictionListener() = default;
  virtual void onFlowRemoved(Flow& flow) = 0;
};

struct FlowTableStats {
  uint64_t flows_created = 0;
  uint64_t flows_expired = 0;
  uint64_t flows_evicted_lru = 0;
  uint64_t fragments_attributed = 0;    // non-first fragments matched to their flow
  uint64_t fragments_unattributed = 0;  // no first fragment seen: counted on a port-less flow
  uint64_t active_peak = 0;
  uint64_t chunks_over_cap = 0;  // closed chunks not kept: max_chunks_per_window reached
};

class FlowTable {
 public:
  explicit FlowTable(FlowTableConfig config, EvictionListener* listener = nullptr);
  ~FlowTable();
  FlowTable(const FlowTable&) = delete;
  FlowTable& operator=(const FlowTable&) = delete;

  // Sets the listener told about removed flows (may be null).
  void setListener(EvictionListener* listener) { listener_ = listener; }

  // Attributes `pkt` (which must have an IP layer) to its flow and updates it.
  Flow& observe(const DecodedPacket& pkt);

  // Removes flows idle past their timeout at packet time `now` (listener told first).
  void expire(Timestamp now);
  // Removes every flow (end of capture), telling the listener.
  void clear();

  // Flows that moved packets since the last resetWindow(), in first-touch order.
  template <typename Fn>
  void forEachWindowFlow(Fn&& fn) const {
    for (auto [slot, generation] : window_slots_) {
      if (slot_generation_[slot] == generation) {
        fn(slots_[slot]);
      }
    }
  }
  // Zeroes window counters and closed chunks of all flows touched in the window.
  void resetWindow();

  size_t activeFlows() const { return index_.size(); }
  size_t activeTcpFlows() const { return active_tcp_; }
  const FlowTableStats& stats() const { return stats_; }
  // Bytes held per active flow (slot + open-addressing index entry at its maximum load of 7/8).
  static size_t bytesPerFlow();

 private:
  struct FragKey {
    IpAddr src;
    IpAddr dst;
    uint32_t id = 0;
    uint8_t proto = 0;
    bool operator==(const FragKey&) const = default;
  };
  struct FragKeyHash {
    size_t operator()(const FragKey& k) const noexcept;
  };
  struct FragPorts {
    uint16_t src_port;
    uint16_t dst_port;
    Timestamp seen;
  };

  uint32_t allocateSlot();
  void releaseSlot(uint32_t slot);
  void lruUnlink(uint32_t slot);
  void lruPushFront(uint32_t slot);
  void initFlow(Flow& flow, const FlowKey& key, bool src_is_a, const DecodedPacket& pkt);
  bool srcIsLocal(const DecodedPacket& pkt) const;
  Flow& updateFlow(Flow& flow, const DecodedPacket& pkt, bool src_is_a, uint32_t slot);
  void updateChunks(Flow& flow, const DecodedPacket& pkt, bool upstream);
  Timestamp idleTimeout(const Flow& flow) const;
  void resolveFragmentPorts(const DecodedPacket& pkt, uint16_t& sport, uint16_t& dport);

  FlowTableConfig config_;
  EvictionListener* listener_;
  std::vector<Flow> slots_;  // slot 0 is the LRU list head sentinel
  std::vector<uint32_t> free_slots_;
  absl::flat_hash_map<FlowKey, uint32_t, FlowKeyHash> index_;
  std::vector<uint32_t> slot_generation_;                    // bumped when a slot is released
  std::vector<std::pair<uint32_t, uint32_t>> window_slots_;  // (slot, generation)
  absl::flat_hash_map<FragKey, FragPorts, FragKeyHash> fragments_;
  size_t active_tcp_ = 0;
  FlowTableStats stats_;
};

}  // namespace nm
