#include "classify/ndpi/ndpi_engine.h"

#include <cstring>

extern "C" {
#include <ndpi/ndpi_api.h>
}

namespace nm {
namespace {

// Packets per flow before giving up, as ndpiReader's defaults (TCP 80, UDP 24) would be too
// slow here: nDPI decides nearly every flow it can within its first few packets.
constexpr uint16_t kMaxTcpPackets = 32;
constexpr uint16_t kMaxUdpPackets = 16;

}  // namespace

NdpiFlow::NdpiFlow() {
  flow_ = static_cast<ndpi_flow_struct*>(ndpi_flow_malloc(SIZEOF_FLOW_STRUCT));
  if (flow_ != nullptr) {
    std::memset(flow_, 0, SIZEOF_FLOW_STRUCT);
  }
}

NdpiFlow::~NdpiFlow() {
  if (flow_ != nullptr) {
    ndpi_free_flow(flow_);
  }
}

NdpiEngine::NdpiEngine() {
  module_ = ndpi_init_detection_module(ndpi_no_prefs);
  if (module_ == nullptr) {
    return;
  }
  NDPI_PROTOCOL_BITMASK all;
  NDPI_BITMASK_SET_ALL(all);
  ndpi_set_protocol_detection_bitmask2(module_, &all);
  ndpi_finalize_initialization(module_);
}

NdpiEngine::~NdpiEngine() {
  if (module_ != nullptr) {
    ndpi_exit_detection_module(module_);
  }
}

bool NdpiEngine::process(NdpiFlow& flow, const uint8_t* l3, uint32_t len, Timestamp ts,
                         uint8_t l4_proto) {
  if (module_ == nullptr || flow.flow_ == nullptr || l3 == nullptr || len == 0) {
    return true;
  }
  const auto capped = static_cast<unsigned short>(std::min<uint32_t>(len, 0xffff));
  const ndpi_protocol p = ndpi_detection_process_packet(module_, flow.flow_, l3, capped,
                                                        static_cast<uint64_t>(ts / 1'000'000));
  flow.master_ = p.master_protocol;
  flow.app_ = p.app_protocol;
  ++flow.packets_;
  // An application label is final enough (further dissection refines metadata, not the
  // label); a bare protocol (TLS, QUIC) may still gain one, so it waits for more packets.
  if (p.app_protocol != NDPI_PROTOCOL_UNKNOWN && p.app_protocol != p.master_protocol) {
    return true;
  }
  const bool detected =
      p.app_protocol != NDPI_PROTOCOL_UNKNOWN || p.master_protocol != NDPI_PROTOCOL_UNKNOWN;
  if (detected && ndpi_extra_dissection_possible(module_, flow.flow_) == 0) {
    return true;
  }
  return flow.packets_ >= (l4_proto == ipproto::kTcp ? kMaxTcpPackets : kMaxUdpPackets);
}

std::string NdpiEngine::verdict(NdpiFlow& flow) {
  if (module_ == nullptr || flow.flow_ == nullptr) {
    return "Unknown";
  }
  ndpi_protocol p{};
  p.master_protocol = flow.master_;
  p.app_protocol = flow.app_;
  if (p.app_protocol == NDPI_PROTOCOL_UNKNOWN && p.master_protocol == NDPI_PROTOCOL_UNKNOWN) {
    uint8_t guessed = 0;
    p = ndpi_detection_giveup(module_, flow.flow_, 1, &guessed);
  }
  char buf[128];
  return ndpi_protocol2name(module_, p, buf, sizeof buf);
}

}  // namespace nm
