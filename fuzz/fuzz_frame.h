#pragma once
// How a fuzzer input becomes a frame, and what decode() guarantees for any frame. Shared by the
// libFuzzer target and by the unit test that replays fuzz/regressions/, so a crasher file means
// the same thing in both.

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>

#include "capture/packet_source.h"
#include "decode/decode.h"

namespace nm::fuzz {

// Every link type decode() supports, plus one it does not (105, 802.11).
inline constexpr std::array<int, 14> kLinkTypes = {1,   113, 276, 12, 14,  101, 228,
                                                   229, 0,   108, 9,  104, 192, 105};

inline constexpr Timestamp kFuzzTimestamp = 1'700'000'000 * kNanosPerSecond;

// Input layout: byte 0 picks the link type, byte 1 how much longer the frame was on the wire than
// the capture kept (0x00-0x7f: nothing, 0x80-0xfe: 64-byte steps, 0xff: as long as a uint32_t
// allows), the rest is the frame. False when the input is too short to hold the two bytes.
inline bool frameFromInput(const uint8_t* input, size_t size, RawPacket& raw) {
  if (size < 2 || size - 2 > std::numeric_limits<uint32_t>::max()) {
    return false;
  }
  raw.ts = kFuzzTimestamp;
  raw.linktype = kLinkTypes[input[0] % kLinkTypes.size()];
  raw.data = input + 2;
  raw.caplen = static_cast<uint32_t>(size - 2);
  uint32_t extra = 0;
  if (input[1] == 0xff) {
    extra = std::numeric_limits<uint32_t>::max() - raw.caplen;
  } else if (input[1] >= 0x80) {
    extra = (input[1] & 0x7fu) * 64;
  }
  raw.wirelen = raw.caplen + extra;
  return true;
}

// What decode() promises whatever the bytes: a known status, the frame's time and length copied,
// the payload view inside the captured bytes, and fields consistent with the status.
inline bool decodeInvariantsHold(const RawPacket& raw, DecodeStatus status,
                                 const DecodedPacket& pkt) {
  if (static_cast<int>(status) >= static_cast<int>(DecodeStatus::kCount)) {
    return false;
  }
  if (pkt.ts != raw.ts || pkt.wire_len != raw.wirelen) {
    return false;
  }
  if (pkt.payload_caplen > pkt.payload_wire_len) {
    return false;
  }
  if (pkt.payload != nullptr) {
    const auto begin = reinterpret_cast<uintptr_t>(raw.data);
    const auto payload = reinterpret_cast<uintptr_t>(pkt.payload);
    if (payload < begin || payload + pkt.payload_caplen > begin + raw.caplen) {
      return false;
    }
  } else if (pkt.payload_caplen != 0 || pkt.payload_wire_len != 0) {
    return false;
  }
  if (hasIpLayer(status)) {
    if (pkt.ip_version != 4 && pkt.ip_version != 6) {
      return false;
    }
    if (pkt.src_ip.family != pkt.ip_version || pkt.dst_ip.family != pkt.ip_version) {
      return false;
    }
  }
  if (!pkt.has_l4 && (pkt.src_port != 0 || pkt.dst_port != 0 || pkt.tcp_flags != 0)) {
    return false;
  }
  if (!pkt.is_fragment && (pkt.is_first_fragment || pkt.frag_id != 0)) {
    return false;
  }
  if (pkt.is_fragment && !pkt.is_first_fragment && pkt.has_l4) {
    return false;
  }
  if (pkt.vlan_id > 0x0fff || pkt.tunnel_depth > 4) {
    return false;
  }
  return true;
}

}  // namespace nm::fuzz
