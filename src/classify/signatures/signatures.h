#pragma once
// Payload signatures: application protocols recognised from the bytes of a flow's first packets
// when no name (SNI, Host, DNS) is there to be read — a proprietary chat protocol, a LAN
// discovery broadcast, a STUN exchange of a calling app. Each matcher is a pure function over
// one packet; the classifier calls them for the first few payload packets of an undecided flow.
//
// A match names a protocol in nDPI's vocabulary ("WhatsApp", "Discord", "TuyaLP"), so the
// user-editable service map decides which service it belongs to (its `ndpi` lists).

#include <cstdint>
#include <span>

namespace nm {

struct PayloadContext {
  uint8_t l4_proto = 0;  // 6 or 17
  uint16_t local_port = 0;
  uint16_t remote_port = 0;
  bool upstream = false;             // local -> remote
  uint32_t payload_index = 0;        // 0 for the flow's first packet with payload, either direction
  std::span<const uint8_t> payload;  // captured bytes of this packet's transport payload
};

// The protocol name when some matcher recognises the packet, else nullptr. Static storage.
const char* matchPayloadSignature(const PayloadContext& ctx);

// The matcher families (one file each).
const char* matchAppSignature(const PayloadContext& ctx);   // app_signatures.cc
const char* matchStunSignature(const PayloadContext& ctx);  // stun_signatures.cc

}  // namespace nm
