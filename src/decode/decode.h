#pragma once
// The decode stage's door: decode() turns one raw frame into the fields later stages need.
// Pure and allocation-free: DecodedPacket holds views into the frame's bytes, valid as long as
// the RawPacket's buffer is. Every read is bounds-checked against caplen; no length field in the
// packet is trusted.

#include <cstdint>

#include "capture/packet_source.h"
#include "core/net_types.h"

namespace nm {

// Why a frame was not decoded to an IP packet, or what was odd about it. Counted by name.
enum class DecodeStatus : uint8_t {
  kOk = 0,
  kNotIp,  // ARP, LLDP, STP, ...: counted, no flow
  kUnsupportedLinkType,
  kTruncatedLink,  // shorter than its link-layer header
  kTruncatedVlan,
  kTooManyVlanTags,
  kTruncatedIpv4,
  kBadIpv4Header,  // version != 4, IHL < 5, total length < header
  kTruncatedIpv6,
  kBadIpv6Header,
  kTruncatedIpv6ExtHeader,
  kTooManyIpv6ExtHeaders,
  kTooManyTunnelLayers,
  kTruncatedTcp,
  kBadTcpHeader,  // data offset < 5
  kTruncatedUdp,
  kTruncatedIcmp,
  kTruncatedPppoe,  // PPPoE session header or its PPP protocol field cut off
  kTruncatedMpls,   // label stack cut off before bottom-of-stack or the payload
  kTooManyMplsLabels,
  kBadPpiHeader,  // PPI header length < 8
  kCount
};

// Stable dotted name for counters and stats output, e.g. "decode.truncated_ipv4".
const char* decodeStatusName(DecodeStatus status);

struct DecodedPacket {
  Timestamp ts = 0;
  uint32_t wire_len = 0;  // frame length on the wire: what byte counters add

  // Link layer. has_mac is false for raw IP, loopback and cooked captures without an address.
  // Cooked captures (Linux SLL/SLL2) only carry the sender's address: src_mac is set, dst_mac
  // stays zero.
  bool has_mac = false;
  MacAddr src_mac;
  MacAddr dst_mac;
  uint16_t vlan_id = 0;  // innermost 802.1Q tag; 0 when untagged

  // Network layer: the innermost IP header that carries the transport header (IP-in-IP tunnels
  // are decapsulated: 4in4, 6in4, 4in6, 6in6).
  IpAddr src_ip;
  IpAddr dst_ip;
  uint8_t ip_version = 0;  // 4 or 6
  uint8_t l4_proto = 0;    // IANA protocol number after extension headers
  uint8_t tunnel_depth = 0;
  // The innermost IP header and the captured bytes of its packet (Ethernet padding excluded):
  // what a second, packet-level classifier such as nDPI reads.
  const uint8_t* l3 = nullptr;
  uint32_t l3_caplen = 0;

  // Fragments (IPv4 MF/offset or IPv6 Fragment header). For a non-first fragment no transport
  // header is present: has_l4 is false and the flow stage looks the ports up by frag_id.
  // frag_id is the IPv4 identification (16 bits) or the IPv6 Fragment header's (32 bits); 0 when
  // the packet is not a fragment. With tunnels, these describe the innermost IP header.
  bool is_fragment = false;
  bool is_first_fragment = false;
  uint32_t frag_id = 0;

  // Transport layer.
  // has_l4: the ports are known (at least 4 bytes of the transport header were captured);
  // tcp_* fields are set only when the whole TCP header was.
  bool has_l4 = false;
  uint16_t src_port = 0;  // ICMP: 0
  uint16_t dst_port = 0;
  uint8_t tcp_flags = 0;  // the whole flags byte: FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10
  uint32_t tcp_seq = 0;
  uint32_t tcp_ack = 0;
  uint16_t l4_header_len = 0;  // TCP data offset * 4, UDP 8, ICMP 4 (when the header is whole)

  // Transport payload: `payload` points at the captured bytes after the L4 header (may be fewer
  // than payload_wire_len when the snap length cut the frame). payload_wire_len is what the IP
  // header says the payload is, clamped to what the frame on the wire could hold.
  // The L4 header is 20+ bytes for TCP, 8 for UDP and 4 for ICMP/ICMPv6. When no transport
  // header is parsed (non-first fragments, GRE, ESP, ...), the payload is the whole IP payload;
  // when a TCP/UDP/ICMP header is truncated, the payload is empty.
  const uint8_t* payload = nullptr;
  uint32_t payload_caplen = 0;
  uint32_t payload_wire_len = 0;
};

namespace tcpflag {
inline constexpr uint8_t kFin = 0x01;
inline constexpr uint8_t kSyn = 0x02;
inline constexpr uint8_t kRst = 0x04;
inline constexpr uint8_t kAck = 0x10;
}  // namespace tcpflag

// Decodes `raw` into `out` (which is fully overwritten). Returns kOk when an IP header was
// decoded; a transport header may still be missing or truncated, in which case the status names
// why and `out` holds the IP fields (so the packet still counts towards its hosts' flow).
DecodeStatus decode(const RawPacket& raw, DecodedPacket& out);

// True when the status still produced usable IP addresses in `out` (the packet can be counted
// in a flow even though something after the IP header was malformed).
inline bool hasIpLayer(DecodeStatus status) {
  switch (status) {
    case DecodeStatus::kOk:
    case DecodeStatus::kTruncatedTcp:
    case DecodeStatus::kBadTcpHeader:
    case DecodeStatus::kTruncatedUdp:
    case DecodeStatus::kTruncatedIcmp:
      return true;
    default:
      return false;
  }
}

}  // namespace nm
