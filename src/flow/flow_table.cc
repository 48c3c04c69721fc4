#include "flow/flow_table.h"

#include <algorithm>
#include <cstring>

namespace nm {
namespace {

uint64_t mix64(uint64_t x) {
  // splitmix64 finaliser: cheap and well distributed.
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

uint64_t load64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

uint64_t hashAddr(const IpAddr& ip, uint64_t seed) {
  return mix64(seed ^ load64(ip.bytes.data()) ^ mix64(load64(ip.bytes.data() + 8) + ip.family));
}

// Any consistent total order makes keys canonical; native-order words are cheaper than a
// lexicographic byte compare.
bool endpointNotAfter(const IpAddr& ip1, uint16_t port1, const IpAddr& ip2, uint16_t port2) {
  const uint64_t a0 = load64(ip1.bytes.data());
  const uint64_t b0 = load64(ip2.bytes.data());
  if (a0 != b0) {
    return a0 < b0;
  }
  const uint64_t a1 = load64(ip1.bytes.data() + 8);
  const uint64_t b1 = load64(ip2.bytes.data() + 8);
  if (a1 != b1) {
    return a1 < b1;
  }
  return port1 <= port2;
}

constexpr uint8_t kFinLocal = 0x1;
constexpr uint8_t kFinRemote = 0x2;
constexpr uint8_t kRstSeen = 0x4;

}  // namespace

bool FlowKey::operator==(const FlowKey& o) const {
  // Word compares: this runs on every lookup, and memcmp calls dominated the profile.
  const uint8_t* x = a_ip.bytes.data();
  const uint8_t* y = o.a_ip.bytes.data();
  const uint8_t* v = b_ip.bytes.data();
  const uint8_t* w = o.b_ip.bytes.data();
  return ((load64(x) ^ load64(y)) | (load64(x + 8) ^ load64(y + 8)) | (load64(v) ^ load64(w)) |
          (load64(v + 8) ^ load64(w + 8))) == 0 &&
         a_port == o.a_port && b_port == o.b_port && proto == o.proto &&
         a_ip.family == o.a_ip.family && b_ip.family == o.b_ip.family;
}

std::pair<uint64_t, uint64_t> Flow::id() const {
  const uint64_t hi = mix64(FlowKeyHash{}(key) ^ static_cast<uint64_t>(first_seen));
  return {hi, mix64(hi + 0x9e3779b97f4a7c15ULL)};
}

size_t FlowKeyHash::operator()(const FlowKey& k) const noexcept {
  // Keys are canonical already, so no symmetry is needed: multiply-xor the words, mix once.
  const uint8_t* a = k.a_ip.bytes.data();
  const uint8_t* b = k.b_ip.bytes.data();
  const uint64_t h = load64(a) * 0x9e3779b97f4a7c15ULL ^ load64(a + 8) * 0xc2b2ae3d27d4eb4fULL ^
                     load64(b) * 0x165667b19e3779f9ULL ^ load64(b + 8) * 0xd6e8feb86659fd93ULL ^
                     (uint64_t{k.a_port} << 24 | uint64_t{k.b_port} << 8 | k.proto);
  return mix64(h);
}

size_t FlowTable::FragKeyHash::operator()(const FragKey& k) const noexcept {
  return mix64(hashAddr(k.dst, hashAddr(k.src, k.proto)) ^ k.id);
}

FlowKey makeFlowKey(const IpAddr& src, uint16_t src_port, const IpAddr& dst, uint16_t dst_port,
                    uint8_t proto, bool& src_is_a) {
  FlowKey k;
  k.proto = proto;
  src_is_a = endpointNotAfter(src, src_port, dst, dst_port);
  if (src_is_a) {
    k.a_ip = src;
    k.a_port = src_port;
    k.b_ip = dst;
    k.b_port = dst_port;
  } else {
    k.a_ip = dst;
    k.a_port = dst_port;
    k.b_ip = src;
    k.b_port = src_port;
  }
  return k;
}

FlowTable::FlowTable(FlowTableConfig config, EvictionListener* listener)
    : config_(std::move(config)), listener_(listener) {
  config_.max_flows = std::max<uint32_t>(config_.max_flows, 1);
  slots_.resize(1);  // sentinel
  slot_generation_.resize(1);
  // Growth copies every flow; start big enough for a busy home network.
  const size_t initial = std::min<size_t>(config_.max_flows, 1 << 14);
  slots_.reserve(initial + 1);
  slot_generation_.reserve(initial + 1);
  index_.reserve(initial);
  slots_[0].lru_prev = slots_[0].lru_next = 0;
}

FlowTable::~FlowTable() = default;

size_t FlowTable::bytesPerFlow() {
  // Slot, generation, plus one index slot (key, value, control byte) at load 7/8.
  return sizeof(Flow) + sizeof(uint32_t) + (sizeof(std::pair<FlowKey, uint32_t>) + 1) * 8 / 7;
}

uint32_t FlowTable::allocateSlot() {
  if (!free_slots_.empty()) {
    const uint32_t slot = free_slots_.back();
    free_slots_.pop_back();
    return slot;
  }
  slots_.emplace_back();
  slot_generation_.push_back(0);
  return static_cast<uint32_t>(slots_.size() - 1);
}

void FlowTable::releaseSlot(uint32_t slot) {
  Flow& f = slots_[slot];
  if (listener_ != nullptr) {
    listener_->onFlowRemoved(f);
  }
  if (f.key.proto == ipproto::kTcp) {
    --active_tcp_;
  }
  lruUnlink(slot);
  index_.erase(f.key);
  // A window entry for this slot is now stale; the generation tells forEachWindowFlow.
  ++slot_generation_[slot];
  f = Flow{};
  free_slots_.push_back(slot);
}

void FlowTable::lruUnlink(uint32_t slot) {
  Flow& f = slots_[slot];
  slots_[f.lru_prev].lru_next = f.lru_next;
  slots_[f.lru_next].lru_prev = f.lru_prev;
  f.lru_prev = f.lru_next = slot;
}

void FlowTable::lruPushFront(uint32_t slot) {
  Flow& f = slots_[slot];
  Flow& head = slots_[0];
  f.lru_prev = 0;
  f.lru_next = head.lru_next;
  slots_[head.lru_next].lru_prev = slot;
  head.lru_next = slot;
}

bool FlowTable::srcIsLocal(const DecodedPacket& pkt) const {
  auto is_local = [&](const IpAddr& ip) {
    if (config_.local_prefixes.empty()) {
      return isPrivateAddress(ip);
    }
    return std::any_of(config_.local_prefixes.begin(), config_.local_prefixes.end(),
                       [&](const IpPrefix& p) { return p.contains(ip); });
  };
  const bool src_local = is_local(pkt.src_ip);
  const bool dst_local = is_local(pkt.dst_ip);
  if (src_local != dst_local) {
    return src_local;
  }
  // Both or neither: the initiator is local. A SYN+ACK's sender is the server.
  if (pkt.l4_proto == ipproto::kTcp && pkt.has_l4 &&
      (pkt.tcp_flags & (tcpflag::kSyn | tcpflag::kAck)) == (tcpflag::kSyn | tcpflag::kAck)) {
    return false;
  }
  return true;
}

void FlowTable::initFlow(Flow& flow, const FlowKey& key, bool src_is_a, const DecodedPacket& pkt) {
  flow.key = key;
  const bool src_local = srcIsLocal(pkt);
  flow.local_is_a = src_local == src_is_a;
  flow.first_seen = pkt.ts;
  flow.last_seen = pkt.ts;
  ++stats_.flows_created;
  if (key.proto == ipproto::kTcp) {
    ++active_tcp_;
  }
}

void FlowTable::resolveFragmentPorts(const DecodedPacket& pkt, uint16_t& sport, uint16_t& dport) {
  FragKey fk{pkt.src_ip, pkt.dst_ip, pkt.frag_id, pkt.l4_proto};
  if (pkt.is_first_fragment) {
    if (fragments_.size() >= config_.max_fragment_entries) {
      // Bounded: drop entries older than the timeout, else start over.
      absl::erase_if(fragments_, [&](const auto& e) {
        return pkt.ts - e.second.seen > config_.fragment_timeout;
      });
      if (fragments_.size() >= config_.max_fragment_entries) {
        fragments_.clear();
      }
    }
    fragments_[fk] = FragPorts{pkt.src_port, pkt.dst_port, pkt.ts};
    return;
  }
  auto it = fragments_.find(fk);
  if (it != fragments_.end()) {
    sport = it->second.src_port;
    dport = it->second.dst_port;
    ++stats_.fragments_attributed;
  } else {
    ++stats_.fragments_unattributed;
  }
}

Flow& FlowTable::observe(const DecodedPacket& pkt) {
  uint16_t sport = pkt.has_l4 ? pkt.src_port : 0;
  uint16_t dport = pkt.has_l4 ? pkt.dst_port : 0;
  if (pkt.is_fragment && (pkt.is_first_fragment ? pkt.has_l4 : true)) {
    resolveFragmentPorts(pkt, sport, dport);
  }
  bool src_is_a = true;
  const FlowKey key = makeFlowKey(pkt.src_ip, sport, pkt.dst_ip, dport, pkt.l4_proto, src_is_a);

  uint32_t slot;
  auto it = index_.find(key);
  if (it != index_.end()) {
    slot = it->second;
    if (slots_[0].lru_next == slot) {
      return updateFlow(slots_[slot], pkt, src_is_a, slot);  // already most recent: a burst
    }
    lruUnlink(slot);
  } else {
    if (index_.size() >= config_.max_flows) {
      ++stats_.flows_evicted_lru;
      releaseSlot(slots_[0].lru_prev);
    }
    slot = allocateSlot();
    initFlow(slots_[slot], key, src_is_a, pkt);
    index_.emplace(key, slot);
    stats_.active_peak = std::max<uint64_t>(stats_.active_peak, index_.size());
  }
  lruPushFront(slot);
  return updateFlow(slots_[slot], pkt, src_is_a, slot);
}

Flow& FlowTable::updateFlow(Flow& flow, const DecodedPacket& pkt, bool src_is_a, uint32_t slot) {
  const FlowKey& key = flow.key;
  const bool upstream = src_is_a == flow.local_is_a;
  if (!flow.has_mac && pkt.has_mac) {
    // Cooked captures carry only the sender's address, so take the local side's when it sends.
    if (upstream) {
      flow.local_mac = pkt.src_mac;
      flow.has_mac = true;
    } else if (!pkt.dst_mac.isZero()) {
      flow.local_mac = pkt.dst_mac;
      flow.has_mac = true;
    }
  }
  flow.last_seen = std::max(flow.last_seen, pkt.ts);
  if (upstream) {
    flow.window.bytes_up += pkt.wire_len;
    ++flow.window.pkts_up;
  } else {
    flow.window.bytes_dw += pkt.wire_len;
    ++flow.window.pkts_dw;
  }
  flow.total_bytes += pkt.wire_len;
  ++flow.total_pkts;
  if (!flow.in_window) {
    flow.in_window = true;
    window_slots_.push_back({slot, slot_generation_[slot]});
  }
  if (key.proto == ipproto::kTcp && pkt.has_l4) {
    if ((pkt.tcp_flags & tcpflag::kFin) != 0) {
      flow.tcp_closing |= upstream ? kFinLocal : kFinRemote;
    }
    if ((pkt.tcp_flags & tcpflag::kRst) != 0) {
      flow.tcp_closing |= kRstSeen;
    }
    updateChunks(flow, pkt, upstream);
  }
  return flow;
}

void FlowTable::updateChunks(Flow& flow, const DecodedPacket& pkt, bool upstream) {
  if (config_.chunk_min_payload == 0) {
    return;
  }
  if (upstream) {
    if (pkt.payload_wire_len < config_.chunk_min_payload) {
      return;
    }
    if (!flow.chunks) {
      flow.chunks = std::make_unique<ChunkState>();
    }
    ChunkState& cs = *flow.chunks;
    if (cs.has_open) {
      // Bounded: a flow making hundreds of requests a window is not fetching video segments.
      if (cs.closed_in_window.size() < config_.max_chunks_per_window) {
        UpstreamChunk done = cs.open;
        done.ts_end = done.last_pkt;
        cs.closed_in_window.push_back(done);
      } else {
        ++stats_.chunks_over_cap;
      }
    }
    cs.has_open = true;
    cs.open = UpstreamChunk{};
    cs.open.len = pkt.payload_wire_len + pkt.l4_header_len;
    cs.open.seq = pkt.tcp_seq;
    cs.open.ts_start = pkt.ts;
    cs.open.last_pkt = pkt.ts;
    return;
  }
  if (!flow.chunks || !flow.chunks->has_open || pkt.payload_wire_len == 0) {
    return;
  }
  UpstreamChunk& c = flow.chunks->open;
  ++c.down_pkts;
  c.down_bytes += pkt.payload_wire_len;
  c.last_pkt = std::max(c.last_pkt, pkt.ts);
  // Sequence numbers wrap: "higher" is judged modulo 2^32.
  if (c.down_pkts == 1 || static_cast<int32_t>(pkt.tcp_seq - c.max_dseq) > 0) {
    c.max_dseq = pkt.tcp_seq;
  }
}

void FlowTable::resetWindow() {
  for (auto [slot, generation] : window_slots_) {
    if (slot_generation_[slot] != generation) {
      continue;
    }
    Flow& f = slots_[slot];
    f.window = WindowCounters{};
    f.in_window = false;
    if (f.chunks) {
      // Give back the capacity of a busy window; most flows close at most a few chunks.
      auto& closed = f.chunks->closed_in_window;
      if (closed.capacity() > 4) {
        std::vector<UpstreamChunk>().swap(closed);
      } else {
        closed.clear();
      }
    }
  }
  window_slots_.clear();
}

Timestamp FlowTable::idleTimeout(const Flow& flow) const {
  switch (flow.key.proto) {
    case ipproto::kTcp:
      if ((flow.tcp_closing & kRstSeen) != 0 ||
          (flow.tcp_closing & (kFinLocal | kFinRemote)) == (kFinLocal | kFinRemote)) {
        return config_.tcp_closed_timeout;
      }
      return config_.tcp_idle_timeout;
    case ipproto::kUdp:
      return config_.udp_idle_timeout;
    default:
      return config_.other_idle_timeout;
  }
}

void FlowTable::expire(Timestamp now) {
  // Walk from the least recently used end: once a flow has been idle for less than the shortest
  // timeout, every flow after it was touched later and is younger still. (When packet time runs
  // backwards the order is approximate; a flow missed now goes at a later sweep.)
  const Timestamp shortest = std::min({config_.tcp_idle_timeout, config_.tcp_closed_timeout,
                                       config_.udp_idle_timeout, config_.other_idle_timeout});
  for (uint32_t slot = slots_[0].lru_prev; slot != 0;) {
    const Flow& f = slots_[slot];
    const uint32_t newer = f.lru_prev;
    const Timestamp idle = now - f.last_seen;
    if (idle <= shortest) {
      break;
    }
    if (idle > idleTimeout(f)) {
      ++stats_.flows_expired;
      releaseSlot(slot);
    }
    slot = newer;
  }
}

void FlowTable::clear() {
  for (uint32_t slot = 1; slot < slots_.size(); ++slot) {
    if (slots_[slot].total_pkts != 0) {
      releaseSlot(slot);
    }
  }
}

}  // namespace nm
