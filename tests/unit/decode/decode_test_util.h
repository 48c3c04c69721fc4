#pragma once
// Byte fixtures and helpers shared by the decode tests. Canonical packets are written out byte by
// byte as they appear on the wire; small builders exist only for the headers a test varies.

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "decode/decode.h"

namespace nm::decode_test {

using Bytes = std::vector<uint8_t>;

inline constexpr int kLinkNull = 0;
inline constexpr int kLinkEthernet = 1;
inline constexpr int kLinkPpp = 9;
inline constexpr int kLinkRaw = 12;
inline constexpr int kLinkRawOpenBsd = 14;
inline constexpr int kLinkRawPcap = 101;
inline constexpr int kLinkCiscoHdlc = 104;
inline constexpr int kLinkLoop = 108;
inline constexpr int kLinkSll = 113;
inline constexpr int kLinkPpi = 192;
inline constexpr int kLinkIpv4 = 228;
inline constexpr int kLinkIpv6 = 229;
inline constexpr int kLinkSll2 = 276;

inline constexpr Timestamp kTs = 1'700'000'000'123'456'789;

inline Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& part : parts) {
    out.insert(out.end(), part.begin(), part.end());
  }
  return out;
}

inline Bytes be16(uint16_t v) {
  return {static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
}

// Ethernet dst 00:11:22:33:44:55, src 66:77:88:99:aa:bb.
inline const Bytes kMacs = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb};

inline Bytes ethernet(uint16_t type) {
  return cat({kMacs, be16(type)});
}

// IPv4 192.168.0.3:51000 -> 93.184.216.34:443, ID 0x1234, DF. TCP seq 0x11223344,
// ack 0x55667788, PSH|ACK, data offset 8 (NOP, NOP, timestamps), payload "hello".
// Total length 57: IP 20 + TCP 32 + payload 5.
inline const Bytes kIpv4Tcp = {
    // IPv4
    0x45, 0x00, 0x00, 0x39, 0x12, 0x34, 0x40, 0x00, 0x40, 0x06, 0x00, 0x00,  //
    0xc0, 0xa8, 0x00, 0x03, 0x5d, 0xb8, 0xd8, 0x22,                          //
    // TCP
    0xc7, 0x38, 0x01, 0xbb, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,  //
    0x80, 0x18, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00,                          //
    0x01, 0x01, 0x08, 0x0a, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02,  //
    // payload
    'h', 'e', 'l', 'l', 'o'};
inline constexpr size_t kIpv4TcpHeaderBytes = 20 + 32;

// IPv6 [2001:db8::1]:5353 -> [2001:db8::2]:53, UDP payload "abcd". Payload length 12.
inline const Bytes kIpv6Udp = {
    // IPv6
    0x60, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x11, 0x40,                                //
    0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  //
    0x00, 0x00, 0x01,                                                              //
    0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  //
    0x00, 0x00, 0x02,                                                              //
    // UDP
    0x14, 0xe9, 0x00, 0x35, 0x00, 0x0c, 0x00, 0x00,  //
    // payload
    'a', 'b', 'c', 'd'};
inline constexpr size_t kIpv6UdpHeaderBytes = 40 + 8;

// The transport part of the canonical packets, for rewrapping in other IP headers.
inline Bytes tcpSegment() {
  return Bytes(kIpv4Tcp.begin() + 20, kIpv4Tcp.end());
}
inline Bytes udpDatagram() {
  return Bytes(kIpv6Udp.begin() + 40, kIpv6Udp.end());
}

// A 20-byte IPv4 header 10.0.0.<src> -> 10.0.0.<dst>.
inline Bytes ipv4Header(uint8_t proto, uint16_t total_len, uint16_t flags_offset = 0x4000,
                        uint16_t id = 0x1234, uint8_t src = 1, uint8_t dst = 2) {
  return cat({{0x45, 0x00},
              be16(total_len),
              be16(id),
              be16(flags_offset),
              {0x40, proto, 0x00, 0x00, 10, 0, 0, src, 10, 0, 0, dst}});
}

// A 40-byte IPv6 header 2001:db8::<src> -> 2001:db8::<dst>.
inline Bytes ipv6Header(uint8_t next, uint16_t payload_len, uint8_t src = 1, uint8_t dst = 2) {
  Bytes h = cat({{0x60, 0x00, 0x00, 0x00}, be16(payload_len), {next, 0x40}});
  for (uint8_t last : {src, dst}) {
    h.insert(h.end(), {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, last});
  }
  return h;
}

inline Bytes udpHeader(uint16_t src_port, uint16_t dst_port, uint16_t length) {
  return cat({be16(src_port), be16(dst_port), be16(length), {0x00, 0x00}});
}

// A decode result together with the exactly-sized heap copy of the frame its views point into.
struct Decoded {
  std::unique_ptr<uint8_t[]> buffer;
  DecodeStatus status = DecodeStatus::kCount;
  DecodedPacket pkt;

  std::string payload() const {
    if (pkt.payload == nullptr) {
      return {};
    }
    return std::string(reinterpret_cast<const char*>(pkt.payload), pkt.payload_caplen);
  }
};

inline constexpr size_t kWholeFrame = std::numeric_limits<size_t>::max();

// Decodes the first `caplen` bytes of `frame` from a heap buffer of exactly that size, so that
// AddressSanitizer catches a read past the end. `wirelen` 0 means frame.size().
inline Decoded decodeFrame(int linktype, const Bytes& frame, size_t caplen = kWholeFrame,
                           uint32_t wirelen = 0) {
  if (caplen > frame.size()) {
    caplen = frame.size();
  }
  Decoded d;
  d.buffer = std::make_unique<uint8_t[]>(caplen);
  if (caplen > 0) {
    std::memcpy(d.buffer.get(), frame.data(), caplen);
  }
  RawPacket raw;
  raw.ts = kTs;
  raw.caplen = static_cast<uint32_t>(caplen);
  raw.wirelen = wirelen != 0 ? wirelen : static_cast<uint32_t>(frame.size());
  raw.linktype = linktype;
  raw.data = d.buffer.get();
  d.status = decode(raw, d.pkt);
  return d;
}

// The fields of kIpv4Tcp, whatever link layer carried it.
inline void expectIpv4Tcp(const Decoded& d) {
  EXPECT_EQ(d.status, DecodeStatus::kOk) << decodeStatusName(d.status);
  EXPECT_EQ(d.pkt.ip_version, 4);
  EXPECT_EQ(d.pkt.src_ip.toString(), "192.168.0.3");
  EXPECT_EQ(d.pkt.dst_ip.toString(), "93.184.216.34");
  EXPECT_EQ(d.pkt.l4_proto, ipproto::kTcp);
  EXPECT_FALSE(d.pkt.is_fragment);
  EXPECT_EQ(d.pkt.frag_id, 0u);
  EXPECT_TRUE(d.pkt.has_l4);
  EXPECT_EQ(d.pkt.src_port, 51000);
  EXPECT_EQ(d.pkt.dst_port, 443);
  EXPECT_EQ(d.pkt.tcp_flags, 0x18);
  EXPECT_EQ(d.pkt.tcp_seq, 0x11223344u);
  EXPECT_EQ(d.pkt.tcp_ack, 0x55667788u);
  EXPECT_EQ(d.payload(), "hello");
  EXPECT_EQ(d.pkt.payload_wire_len, 5u);
}

// The fields of kIpv6Udp, whatever link layer carried it.
inline void expectIpv6Udp(const Decoded& d) {
  EXPECT_EQ(d.status, DecodeStatus::kOk) << decodeStatusName(d.status);
  EXPECT_EQ(d.pkt.ip_version, 6);
  EXPECT_EQ(d.pkt.src_ip.toString(), "2001:db8::1");
  EXPECT_EQ(d.pkt.dst_ip.toString(), "2001:db8::2");
  EXPECT_EQ(d.pkt.l4_proto, ipproto::kUdp);
  EXPECT_FALSE(d.pkt.is_fragment);
  EXPECT_TRUE(d.pkt.has_l4);
  EXPECT_EQ(d.pkt.src_port, 5353);
  EXPECT_EQ(d.pkt.dst_port, 53);
  EXPECT_EQ(d.pkt.tcp_flags, 0);
  EXPECT_EQ(d.payload(), "abcd");
  EXPECT_EQ(d.pkt.payload_wire_len, 4u);
}

}  // namespace nm::decode_test
