// Network layer: IPv4 options, fragments and length fields; IPv6 extension headers; IP-in-IP.

#include <gtest/gtest.h>

#include <string>

#include "decode_test_util.h"

namespace nm::decode_test {
namespace {

const Bytes kWxyz = {'w', 'x', 'y', 'z'};

Bytes withByte(Bytes frame, size_t index, uint8_t value) {
  frame[index] = value;
  return frame;
}

Bytes withBe16(Bytes frame, size_t index, uint16_t value) {
  frame[index] = static_cast<uint8_t>(value >> 8);
  frame[index + 1] = static_cast<uint8_t>(value);
  return frame;
}

// --- IPv4 header and lengths ----------------------------------------------------------------

TEST(DecodeIpv4, HeaderOptionsAreSkipped) {
  // IHL 6: Router Alert option, then UDP 1000 -> 2000 with "wxyz".
  const Bytes ip = {0x46, 0x00, 0x00, 0x24, 0x00, 0x01, 0x00, 0x00, 0x01, 0x11, 0x00, 0x00,
                    10,   1,    2,    3,    224,  0,    0,    22,   0x94, 0x04, 0x00, 0x00};
  const Decoded d = decodeFrame(kLinkRaw, cat({ip, udpHeader(1000, 2000, 12), kWxyz}));
  EXPECT_EQ(d.status, DecodeStatus::kOk);
  EXPECT_EQ(d.pkt.src_ip.toString(), "10.1.2.3");
  EXPECT_EQ(d.pkt.dst_ip.toString(), "224.0.0.22");
  EXPECT_EQ(d.pkt.src_port, 1000);
  EXPECT_EQ(d.pkt.dst_port, 2000);
  EXPECT_EQ(d.payload(), "wxyz");
  EXPECT_EQ(d.pkt.payload_wire_len, 4u);
}

TEST(DecodeIpv4, EthernetPaddingIsNotPayload) {
  // 30-byte IP packet in a minimum-size (60-byte) Ethernet frame.
  const Bytes frame = cat(
      {ethernet(0x0800), ipv4Header(17, 30), udpHeader(53, 40000, 10), {'o', 'k'}, Bytes(16, 0)});
  ASSERT_EQ(frame.size(), 60u);
  const Decoded d = decodeFrame(kLinkEthernet, frame);
  EXPECT_EQ(d.status, DecodeStatus::kOk);
  EXPECT_EQ(d.payload(), "ok");
  EXPECT_EQ(d.pkt.payload_caplen, 2u);
  EXPECT_EQ(d.pkt.payload_wire_len, 2u);
  EXPECT_EQ(d.pkt.wire_len, 60u);
}

TEST(DecodeIpv4, TotalLengthZeroUsesTheFrame) {
  // TSO: the capture shows the super-segment before the NIC split it; total length is 0.
  const Bytes frame = cat({ethernet(0x0800), withBe16(kIpv4Tcp, 2, 0)});
  const Decoded d = decodeFrame(kLinkEthernet, frame);
  expectIpv4Tcp(d);
  // Snap length cut: what the wire held counts.
  const Decoded cut = decodeFrame(kLinkEthernet, frame, frame.size() - 3, 9000);
  EXPECT_EQ(cut.status, DecodeStatus::kOk);
  EXPECT_EQ(cut.payload(), "he");
  EXPECT_EQ(cut.pkt.payload_wire_len, 9000u - 14 - kIpv4TcpHeaderBytes);
}

TEST(DecodeIpv4, SnapLengthCutKeepsWireLength) {
  const Bytes frame = cat({ethernet(0x0800), kIpv4Tcp});
  const Decoded d = decodeFrame(kLinkEthernet, frame, 14 + kIpv4TcpHeaderBytes + 2);
  EXPECT_EQ(d.status, DecodeStatus::kOk);
  EXPECT_EQ(d.payload(), "he");
  EXPECT_EQ(d.pkt.payload_caplen, 2u);
  EXPECT_EQ(d.pkt.payload_wire_len, 5u);
  EXPECT_EQ(d.pkt.wire_len, 71u);
}

TEST(DecodeIpv4, TotalLengthBeyondTheFrameIsClamped) {
  const Decoded d = decodeFrame(kLinkRaw, withBe16(kIpv4Tcp, 2, 1500));
  expectIpv4Tcp(d);
  EXPECT_EQ(d.pkt.payload_wire_len, 5u);
}

TEST(DecodeIpv4, TotalLengthBeyondTheFrameIsClampedToTheWire) {
  // Captured 57 bytes of a 1000-byte packet that claims 1500.
  const Decoded d = decodeFrame(kLinkRaw, withBe16(kIpv4Tcp, 2, 1500), kWholeFrame, 1000);
  EXPECT_EQ(d.status, DecodeStatus::kOk);
  EXPECT_EQ(d.payload(), "hello");
  EXPECT_EQ(d.pkt.payload_wire_len, 1000u - kIpv4TcpHeaderBytes);
}

TEST(DecodeIpv4, TotalLengthSmallerThanHeaderIsBad) {
  const Decoded d = decodeFrame(kLinkRaw, withBe16(kIpv4Tcp, 2, 19));
  EXPECT_EQ(d.status, DecodeStatus::kBadIpv4Header);
  EXPECT_FALSE(hasIpLayer(d.status));
}

TEST(DecodeIpv4, TotalLengthShorterThanTcpHeaderTruncatesTcp) {
  // Claims 30 bytes: 10 bytes of TCP, so ports but no full header.
  const Decoded d = decodeFrame(kLinkRaw, withBe16(kIpv4Tcp, 2, 30));
  EXPECT_EQ(d.status, DecodeStatus::kTruncatedTcp);
  EXPECT_TRUE(d.pkt.has_l4);
  EXPECT_EQ(d.pkt.src_port, 51000);
  EXPECT_EQ(d.pkt.tcp_flags, 0);
}

TEST(DecodeIpv4, IhlBelowFiveIsBad) {
  EXPECT_EQ(decodeFrame(kLinkRaw, withByte(kIpv4Tcp, 0, 0x44)).status,
            DecodeStatus::kBadIpv4Header);
}

TEST(DecodeIpv4, IhlBeyondTheFrameIsTruncated) {
  // IHL 15 = 60 bytes, frame holds 57.
  EXPECT_EQ(decodeFrame(kLinkRaw, withByte(kIpv4Tcp, 0, 0x4f)).status,
            DecodeStatus::kTruncatedIpv4);
}

TEST(DecodeIpv4, WrongVersionIsBad) {
  EXPECT_EQ(decodeFrame(kLinkEthernet, cat({ethernet(0x0800), withByte(kIpv4Tcp, 0, 0x65)})).status,
            DecodeStatus::kBadIpv4Header);
}

// --- IPv4 fragments -------------------------------------------------------------------------

TEST(DecodeIpv4Fragment, FirstFragmentKeepsPorts) {
  // MF set, offset 0; UDP length says 1000, the fragment holds 12 bytes of it.
  const Bytes frame = cat({ipv4Header(17, 32, 0x2000, 0xbeef), udpHeader(5000, 53, 1000), kWxyz});
  const Decoded d = decodeFrame(kLinkRaw, frame);
  EXPECT_EQ(d.status, DecodeStatus::kOk);
  EXPECT_TRUE(d.pkt.is_fragment);
  EXPECT_TRUE(d.pkt.is_first_fragment);
  EXPECT_EQ(d.pkt.frag_id, 0xbeefu);
  EXPECT_TRUE(d.pkt.has_l4);
  EXPECT_EQ(d.pkt.src_port, 5000);
  EXPECT_EQ(d.pkt.dst_port, 53);
  EXPECT_EQ(d.payload(), "wxyz");
  EXPECT_EQ(d.pkt.payload_wire_len, 4u);
}

TEST(DecodeIpv4Fragment, LaterFragmentHasNoPorts) {
  // MF set, offset 3 (24 bytes).
  const Bytes frame = cat({ipv4Header(17, 32, 0x2003, 0xbeef), Bytes(8, 0x11), kWxyz});
  const Decoded d = decodeFrame(kLinkRaw, frame);
  EXPECT_EQ(d.status, DecodeStatus::kOk);
  EXPECT_TRUE(hasIpLayer(d.status));
  EXPECT_TRUE(d.pkt.is_fragment);
  EXPECT_FALSE(d.pkt.is_first_fragment);
  EXPECT_EQ(d.pkt.frag_id, 0xbeefu);
  EXPECT_FALSE(d.pkt.has_l4);
  EXPECT_EQ(d.pkt.src_port, 0);
  EXPECT_EQ(d.pkt.l4_proto, ipproto::kUdp);
  EXPECT_EQ(d.pkt.src_ip.toString(), "10.0.0.1");
  // The whole fragment is payload.
  EXPECT_EQ(d.pkt.payload_caplen, 12u);
  EXPECT_EQ(d.pkt.payload_wire_len, 12u);
  EXPECT_EQ(d.pkt.payload, d.buffer.get() + 20);
}

TEST(DecodeIpv4Fragment, LastFragmentHasNoMoreFragmentsFlag) {
  const Decoded d = decodeFrame(kLinkRaw, cat({ipv4Header(6, 28, 0x00b9, 7), Bytes(8, 0)}));
  EXPECT_EQ(d.status, DecodeStatus::kOk);
  EXPECT_TRUE(d.pkt.is_fragment);
  EXPECT_FALSE(d.pkt.is_first_fragment);
  EXPECT_EQ(d.pkt.frag_id, 7u);
  EXPECT_FALSE(d.pkt.has_l4);
}

TEST(DecodeIpv4Fragment, LargestOffsetIsNotFirst) {
  // Offset 0x1000 (32768 bytes) and 0x1fff: only the high offset bits are set.
  for (uint16_t flags_offset : std::initializer_list<uint16_t>{0x1000, 0x1fff, 0x3000}) {
    SCOPED_TRACE(flags_offset);
    const Decoded d =
        decodeFrame(kLinkRaw, cat({ipv4Header(17, 28, flags_offset, 9), Bytes(8, 0)}));
    EXPECT_TRUE(d.pkt.is_fragment);
    EXPECT_FALSE(d.pkt.is_first_fragment);
    EXPECT_FALSE(d.pkt.has_l4);
  }
}

TEST(DecodeIpv4Fragment, DontFragmentIsNotAFragment) {
  const Decoded d = decodeFrame(kLinkRaw, kIpv4Tcp);  // DF set, ID 0x1234
  EXPECT_FALSE(d.pkt.is_fragment);
  EXPECT_FALSE(d.pkt.is_first_fragment);
  EXPECT_EQ(d.pkt.frag_id, 0u);
}

// --- IPv6 extension headers -----------------------------------------------------------------

// 8-byte generic extension header (Hop-by-Hop, Routing, Destination Options) with PadN.
Bytes ext8(uint8_t next) {
  return {next, 0x00, 0x01, 0x04, 0x00, 0x00, 0x00, 0x00};
}
// 24-byte AH: payload length 4 = (4 + 2) * 4 bytes; SPI, sequence, 12-byte ICV.
Bytes authHeader(uint8_t next) {
  return cat(
      {{next, 0x04, 0x00, 0x00, 0x00, 0x00, 0x10, 0x01, 0x00, 0x00, 0x00, 0x01}, Bytes(12, 0xaa)});
}
// Fragment header: offset in 8-byte units, M flag, 32-bit identification.
Bytes fragmentHeader(uint8_t next, uint16_t offset, bool more, uint32_t id) {
  const auto offset_flags = static_cast<uint16_t>((offset << 3) | (more ? 1 : 0));
  return cat({{next, 0x00},
              be16(offset_flags),
              {static_cast<uint8_t>(id >> 24), static_cast<uint8_t>(id >> 16),
               static_cast<uint8_t>(id >> 8), static_cast<uint8_t>(id)}});
}

Bytes ipv6With(uint8_t first_next, const Bytes& headers_and_payload) {
  return cat({ipv6Header(first_next, static_cast<uint16_t>(headers_and_payload.size())),
              headers_and_payload});
}

void expectUdpWxyz(const Decoded& d) {
  EXPECT_EQ(d.status, DecodeStatus::kOk) << decodeStatusName(d.status);
  EXPECT_EQ(d.pkt.ip_version, 6);
  EXPECT_EQ(d.pkt.src_ip.toString(), "2001:db8::1");
  EXPECT_EQ(d.pkt.dst_ip.toString(), "2001:db8::2");
  EXPECT_EQ(d.pkt.l4_proto, ipproto::kUdp);
  EXPECT_TRUE(d.pkt.has_l4);
  EXPECT_EQ(d.pkt.src_port, 4000);
  EXPECT_EQ(d.pkt.dst_port, 4001);
  EXPECT_EQ(d.payload(), "wxyz");
  EXPECT_EQ(d.pkt.payload_wire_len, 4u);
}

const Bytes kUdpWxyz = cat({udpHeader(4000, 4001, 12), kWxyz});

class DecodeIpv6SingleExtHeader : public ::testing::TestWithParam<uint8_t> {};

TEST_P(DecodeIpv6SingleExtHeader, IsSkipped) {
  const uint8_t type = GetParam();
  const Bytes ext = type == 51 ? authHeader(17) : ext8(17);
  const Decoded d = decodeFrame(kLinkIpv6, ipv6With(type, cat({ext, kUdpWxyz})));
  expectUdpWxyz(d);
  EXPECT_FALSE(d.pkt.is_fragment);
}

// Hop-by-Hop, Routing, Destination Options, AH, Mobility.
INSTANTIATE_TEST_SUITE_P(Types, DecodeIpv6SingleExtHeader,
                         ::testing::Values(uint8_t{0}, uint8_t{43}, uint8_t{60}, uint8_t{51},
                                           uint8_t{135}));

TEST(DecodeIpv6, ExtensionHeaderChain) {
  const Bytes chain = cat(
      {ext8(43), ext8(60), ext8(51), authHeader(44), fragmentHeader(17, 0, false, 99), kUdpWxyz});
  const Decoded d = decodeFrame(kLinkEthernet, cat({ethernet(0x86dd), ipv6With(0, chain)}));
  expectUdpWxyz(d);
  // An atomic fragment (offset 0, no M flag) is a whole packet.
  EXPECT_FALSE(d.pkt.is_fragment);
  EXPECT_EQ(d.pkt.frag_id, 0u);
}

TEST(DecodeIpv6, EightExtensionHeadersAreAcceptedNineAreTooMany) {
  Bytes eight;
  for (int i = 0; i < 7; ++i) {
    eight = cat({eight, ext8(60)});
  }
  expectUdpWxyz(decodeFrame(kLinkIpv6, ipv6With(60, cat({eight, ext8(17), kUdpWxyz}))));
  const Decoded d =
      decodeFrame(kLinkIpv6, ipv6With(60, cat({eight, ext8(60), ext8(17), kUdpWxyz})));
  EXPECT_EQ(d.status, DecodeStatus::kTooManyIpv6ExtHeaders);
  EXPECT_FALSE(hasIpLayer(d.status));
}

TEST(DecodeIpv6, ExtensionHeaderLengthRunsOffTheFrame) {
  // Hop-by-Hop claims (10 + 1) * 8 = 88 bytes; 20 follow.
  Bytes hbh = ext8(17);
  hbh[1] = 10;
  const Decoded d = decodeFrame(kLinkIpv6, ipv6With(0, cat({hbh, kUdpWxyz})));
  EXPECT_EQ(d.status, DecodeStatus::kTruncatedIpv6ExtHeader);
  EXPECT_FALSE(hasIpLayer(d.status));
}

TEST(DecodeIpv6, ExtensionHeaderLengthRunsPastPayloadLength) {
  // The frame holds it all, but the payload length (8) ends inside the Destination Options.
  Bytes dst = ext8(17);
  dst[1] = 1;  // 16 bytes
  const Bytes frame = cat({ipv6Header(60, 8), dst, Bytes(8, 0), kUdpWxyz});
  EXPECT_EQ(decodeFrame(kLinkIpv6, frame).status, DecodeStatus::kTruncatedIpv6ExtHeader);
}

TEST(DecodeIpv6, ExtensionHeaderCutBeforeItsLength) {
  const Bytes frame = cat({ipv6Header(0, 1), {17}});
  EXPECT_EQ(decodeFrame(kLinkIpv6, frame).status, DecodeStatus::kTruncatedIpv6ExtHeader);
}

TEST(DecodeIpv6, NoNextHeader) {
  const Decoded d = decodeFrame(kLinkIpv6, ipv6With(59, {}));
  EXPECT_EQ(d.status, DecodeStatus::kOk);
  EXPECT_EQ(d.pkt.l4_proto, 59);
  EXPECT_FALSE(d.pkt.has_l4);
  EXPECT_EQ(d.pkt.payload_wire_len, 0u);
}

TEST(DecodeIpv6, PayloadLengthBeyondTheFrameIsClamped) {
  const Decoded d = decodeFrame(kLinkIpv6, withBe16(kIpv6Udp, 4, 1400));
  expectIpv6Udp(d);
}

TEST(DecodeIpv6, JumbogramPayloadLengthZeroUsesTheFrame) {
  const Decoded d = decodeFrame(kLinkIpv6, withBe16(kIpv6Udp, 4, 0));
  expectIpv6Udp(d);
}

TEST(DecodeIpv6, EthernetPaddingIsNotPayload) {
  const Bytes frame = cat({ethernet(0x86dd), kIpv6Udp, Bytes(8, 0)});
  const Decoded d = decodeFrame(kLinkEthernet, frame);
  expectIpv6Udp(d);
  EXPECT_EQ(d.pkt.payload_caplen, 4u);
}

TEST(DecodeIpv6, WrongVersionIsBad) {
  EXPECT_EQ(decodeFrame(kLinkIpv6, withByte(kIpv6Udp, 0, 0x40)).status,
            DecodeStatus::kBadIpv6Header);
}

TEST(DecodeIpv6, ShorterThanHeader) {
  EXPECT_EQ(decodeFrame(kLinkIpv6, kIpv6Udp, 39).status, DecodeStatus::kTruncatedIpv6);
}

// --- IPv6 fragments -------------------------------------------------------------------------

TEST(DecodeIpv6Fragment, FirstFragmentKeepsPorts) {
  const Decoded d = decodeFrame(
      kLinkIpv6, ipv6With(44, cat({fragmentHeader(17, 0, true, 0xdeadbeef), kUdpWxyz})));
  expectUdpWxyz(d);
  EXPECT_TRUE(d.pkt.is_fragment);
  EXPECT_TRUE(d.pkt.is_first_fragment);
  EXPECT_EQ(d.pkt.frag_id, 0xdeadbeefu);
}

TEST(DecodeIpv6Fragment, FirstFragmentWithHeadersAfterTheFragmentHeader) {
  const Decoded d = decodeFrame(
      kLinkIpv6, ipv6With(0, cat({ext8(44), fragmentHeader(60, 0, true, 5), ext8(17), kUdpWxyz})));
  expectUdpWxyz(d);
  EXPECT_TRUE(d.pkt.is_first_fragment);
  EXPECT_EQ(d.pkt.frag_id, 5u);
}

TEST(DecodeIpv6Fragment, LaterFragmentHasNoPorts) {
  const Bytes data = cat({Bytes(8, 0x22), kWxyz});
  const Decoded d =
      decodeFrame(kLinkIpv6, ipv6With(44, cat({fragmentHeader(17, 100, true, 0xdeadbeef), data})));
  EXPECT_EQ(d.status, DecodeStatus::kOk);
  EXPECT_TRUE(d.pkt.is_fragment);
  EXPECT_FALSE(d.pkt.is_first_fragment);
  EXPECT_EQ(d.pkt.frag_id, 0xdeadbeefu);
  EXPECT_FALSE(d.pkt.has_l4);
  EXPECT_EQ(d.pkt.src_port, 0);
  EXPECT_EQ(d.pkt.l4_proto, ipproto::kUdp);
  EXPECT_EQ(d.pkt.payload_caplen, 12u);
  EXPECT_EQ(d.pkt.payload_wire_len, 12u);
  EXPECT_EQ(d.pkt.payload, d.buffer.get() + 48);
}

TEST(DecodeIpv6Fragment, LaterFragmentStopsTheHeaderChain) {
  // The fragmentable part starts with a Destination Options header, but in the first fragment:
  // this fragment's data must not be parsed as one.
  const Bytes data = {17, 0x00, 0x01, 0x04, 0x00, 0x00, 0x00, 0x00, 'w', 'x', 'y', 'z'};
  const Decoded d =
      decodeFrame(kLinkIpv6, ipv6With(44, cat({fragmentHeader(60, 3, true, 8), data})));
  EXPECT_EQ(d.status, DecodeStatus::kOk);
  EXPECT_EQ(d.pkt.l4_proto, 60);
  EXPECT_FALSE(d.pkt.has_l4);
  EXPECT_EQ(d.pkt.payload_caplen, 12u);
}

TEST(DecodeIpv6Fragment, LastFragment) {
  const Decoded d =
      decodeFrame(kLinkIpv6, ipv6With(44, cat({fragmentHeader(6, 185, false, 1), Bytes(8, 0)})));
  EXPECT_EQ(d.status, DecodeStatus::kOk);
  EXPECT_TRUE(d.pkt.is_fragment);
  EXPECT_FALSE(d.pkt.is_first_fragment);
  EXPECT_FALSE(d.pkt.has_l4);
  EXPECT_EQ(d.pkt.l4_proto, ipproto::kTcp);
}

TEST(DecodeIpv6Fragment, HeaderCutOff) {
  const Bytes frame = ipv6With(44, fragmentHeader(17, 0, true, 1));
  EXPECT_EQ(decodeFrame(kLinkIpv6, frame, 40 + 7).status, DecodeStatus::kTruncatedIpv6ExtHeader);
}

// --- IP-in-IP tunnels -----------------------------------------------------------------------

Bytes in4(const Bytes& inner, uint8_t proto) {
  return cat({ipv4Header(proto, static_cast<uint16_t>(20 + inner.size())), inner});
}
Bytes in6(const Bytes& inner, uint8_t proto) {
  return ipv6With(proto, inner);
}

TEST(DecodeTunnel, FourInFour) {
  const Decoded d = decodeFrame(kLinkEthernet, cat({ethernet(0x0800), in4(kIpv4Tcp, 4)}));
  expectIpv4Tcp(d);
  EXPECT_EQ(d.pkt.tunnel_depth, 1);
}

TEST(DecodeTunnel, SixInFour) {
  const Decoded d = decodeFrame(kLinkRaw, in4(kIpv6Udp, 41));
  expectIpv6Udp(d);
  EXPECT_EQ(d.pkt.tunnel_depth, 1);
}

TEST(DecodeTunnel, FourInSix) {
  const Decoded d = decodeFrame(kLinkRaw, in6(kIpv4Tcp, 4));
  expectIpv4Tcp(d);
  EXPECT_EQ(d.pkt.tunnel_depth, 1);
}

TEST(DecodeTunnel, SixInSixBehindExtensionHeader) {
  const Decoded d = decodeFrame(kLinkRaw, in6(cat({ext8(41), kIpv6Udp}), 60));
  expectIpv6Udp(d);
  EXPECT_EQ(d.pkt.tunnel_depth, 1);
}

TEST(DecodeTunnel, FourLayersAreAcceptedFiveAreTooMany) {
  // 4in6 in 6in4 in 4in6 in 4in4: alternate the outer version, naming the inner one.
  Bytes packet = kIpv4Tcp;
  bool inner_is_v4 = true;
  for (int i = 0; i < 4; ++i) {
    const uint8_t proto = inner_is_v4 ? ipproto::kIpInIp : ipproto::kIpv6;
    packet = i % 2 == 0 ? in4(packet, proto) : in6(packet, proto);
    inner_is_v4 = i % 2 == 0;
  }
  ASSERT_FALSE(inner_is_v4);
  const Decoded ok = decodeFrame(kLinkRaw, packet);
  expectIpv4Tcp(ok);
  EXPECT_EQ(ok.pkt.tunnel_depth, 4);

  const Decoded d = decodeFrame(kLinkRaw, in4(packet, ipproto::kIpv6));
  EXPECT_EQ(d.status, DecodeStatus::kTooManyTunnelLayers);
  EXPECT_FALSE(hasIpLayer(d.status));
}

TEST(DecodeTunnel, InnerPacketIsBoundedByOuterLength) {
  // The outer header says 50 bytes: 30 of the inner 57 belong to it, the rest is padding.
  Bytes frame = in4(kIpv4Tcp, 4);
  frame = withBe16(frame, 2, 50);
  const Decoded d = decodeFrame(kLinkRaw, frame);
  EXPECT_EQ(d.status, DecodeStatus::kTruncatedTcp);
  EXPECT_EQ(d.pkt.src_ip.toString(), "192.168.0.3");
  EXPECT_TRUE(d.pkt.has_l4);
  EXPECT_EQ(d.pkt.src_port, 51000);
  EXPECT_EQ(d.pkt.tcp_flags, 0);
}

TEST(DecodeTunnel, InnerPayloadWireLengthIsBoundedByOuterLength) {
  // Outer total length 20 + 55 cuts the inner 57-byte packet 2 bytes short; the frame carries
  // 10 more bytes of padding on the wire.
  const Bytes frame = cat({withBe16(in4(kIpv4Tcp, 4), 2, 75), Bytes(10, 0)});
  const Decoded d = decodeFrame(kLinkEthernet, cat({ethernet(0x0800), frame}));
  EXPECT_EQ(d.status, DecodeStatus::kOk);
  EXPECT_EQ(d.pkt.src_ip.toString(), "192.168.0.3");
  EXPECT_EQ(d.payload(), "hel");
  EXPECT_EQ(d.pkt.payload_wire_len, 3u);
}

TEST(DecodeTunnel, InnerHeaderCutOff) {
  const Bytes frame = in4(kIpv4Tcp, 4);
  const Decoded d = decodeFrame(kLinkRaw, frame, 20 + 19);
  EXPECT_EQ(d.status, DecodeStatus::kTruncatedIpv4);
  EXPECT_EQ(d.pkt.tunnel_depth, 1);
}

TEST(DecodeTunnel, InnerVersionMismatchIsBad) {
  EXPECT_EQ(decodeFrame(kLinkRaw, in4(kIpv6Udp, 4)).status, DecodeStatus::kBadIpv4Header);
}

TEST(DecodeTunnel, NonFirstOuterFragmentIsNotDecapsulated) {
  const Bytes frame = cat({ipv4Header(4, 77, 0x0010, 0x4242), kIpv4Tcp});
  const Decoded d = decodeFrame(kLinkRaw, frame);
  EXPECT_EQ(d.status, DecodeStatus::kOk);
  EXPECT_EQ(d.pkt.tunnel_depth, 0);
  EXPECT_EQ(d.pkt.src_ip.toString(), "10.0.0.1");
  EXPECT_EQ(d.pkt.l4_proto, ipproto::kIpInIp);
  EXPECT_TRUE(d.pkt.is_fragment);
  EXPECT_EQ(d.pkt.frag_id, 0x4242u);
  EXPECT_FALSE(d.pkt.has_l4);
  EXPECT_EQ(d.pkt.payload_wire_len, 57u);
}

TEST(DecodeTunnel, FirstOuterFragmentIsDecapsulatedAndInnermostFragmentInfoWins) {
  const Bytes frame = cat({ipv4Header(4, 77, 0x2000, 0x4242), kIpv4Tcp});
  const Decoded d = decodeFrame(kLinkRaw, frame);
  expectIpv4Tcp(d);
  EXPECT_EQ(d.pkt.tunnel_depth, 1);
  EXPECT_FALSE(d.pkt.is_first_fragment);
}

TEST(DecodeTunnel, SixInFourFirstFragmentReportsTheInnerPacket) {
  const Bytes frame = cat({ipv4Header(41, 72, 0x2000, 0x4242), kIpv6Udp});
  const Decoded d = decodeFrame(kLinkRaw, frame);
  expectIpv6Udp(d);
  EXPECT_FALSE(d.pkt.is_fragment);
  EXPECT_FALSE(d.pkt.is_first_fragment);
  EXPECT_EQ(d.pkt.frag_id, 0u);
}

TEST(DecodeTunnel, GreIsNotDecapsulated) {
  const Bytes gre = cat({{0x00, 0x00, 0x08, 0x00}, kIpv4Tcp});
  const Decoded d = decodeFrame(kLinkRaw, in4(gre, 47));
  EXPECT_EQ(d.status, DecodeStatus::kOk);
  EXPECT_EQ(d.pkt.tunnel_depth, 0);
  EXPECT_EQ(d.pkt.src_ip.toString(), "10.0.0.1");
  EXPECT_EQ(d.pkt.l4_proto, ipproto::kGre);
  EXPECT_FALSE(d.pkt.has_l4);
  EXPECT_EQ(d.pkt.payload_wire_len, gre.size());
}

TEST(DecodeTunnel, VxlanStaysUdp) {
  const Bytes vxlan =
      cat({{0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00}, ethernet(0x0800), kIpv4Tcp});
  const auto udp_len = static_cast<uint16_t>(8 + vxlan.size());
  const Decoded d = decodeFrame(kLinkRaw, in4(cat({udpHeader(33333, 4789, udp_len), vxlan}), 17));
  EXPECT_EQ(d.status, DecodeStatus::kOk);
  EXPECT_EQ(d.pkt.tunnel_depth, 0);
  EXPECT_EQ(d.pkt.src_ip.toString(), "10.0.0.1");
  EXPECT_EQ(d.pkt.dst_port, 4789);
  EXPECT_EQ(d.pkt.payload_wire_len, vxlan.size());
}

}  // namespace
}  // namespace nm::decode_test
