#pragma once
// Builds DecodedPackets directly, so flow and report tests do not depend on the decoder.

#include <cstdio>
#include <string>
#include <utility>

#include "decode/decode.h"

namespace nm::testing {

struct PacketSpec {
  std::string src = "192.168.1.10";
  uint16_t sport = 50000;
  std::string dst = "203.0.113.5";
  uint16_t dport = 443;
  uint8_t proto = ipproto::kTcp;
  double t = 0;  // seconds
  uint32_t len = 100;
  uint8_t flags = tcpflag::kAck;
  uint32_t payload = 0;
  uint32_t seq = 0;
  const char* src_mac = "02:00:00:00:00:01";
  const char* dst_mac = "02:00:00:00:00:02";
};

inline MacAddr mac(const char* text) {
  MacAddr m;
  unsigned b[6];
  std::sscanf(text, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]);
  for (int i = 0; i < 6; ++i) {
    m.bytes[i] = static_cast<uint8_t>(b[i]);
  }
  return m;
}

inline DecodedPacket packet(const PacketSpec& s) {
  DecodedPacket p;
  p.ts = static_cast<Timestamp>(s.t * 1e9);
  p.wire_len = s.len;
  p.has_mac = s.src_mac != nullptr;
  if (p.has_mac) {
    p.src_mac = mac(s.src_mac);
    p.dst_mac = mac(s.dst_mac);
  }
  IpAddr::parse(s.src, p.src_ip);
  IpAddr::parse(s.dst, p.dst_ip);
  p.ip_version = p.src_ip.family;
  p.l4_proto = s.proto;
  p.has_l4 = true;
  p.src_port = s.sport;
  p.dst_port = s.dport;
  p.tcp_flags = s.flags;
  p.tcp_seq = s.seq;
  p.l4_header_len = s.proto == ipproto::kTcp ? 20 : 8;
  p.payload_wire_len = s.payload;
  p.payload_caplen = s.payload;
  return p;
}

// The reply direction of a spec.
inline PacketSpec reply(PacketSpec s) {
  std::swap(s.src, s.dst);
  std::swap(s.sport, s.dport);
  std::swap(s.src_mac, s.dst_mac);
  return s;
}

}  // namespace nm::testing
