// Transport layer (TCP, UDP, ICMP, others), status names and hasIpLayer().

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "decode_test_util.h"

namespace nm::decode_test {
namespace {

// TCP 1234 -> 80, seq 1, ack 2, the given data offset and flags, window 0xffff.
Bytes tcpHeader(uint8_t data_offset, uint8_t flags) {
  return {0x04,
          0xd2,
          0x00,
          0x50,
          0x00,
          0x00,
          0x00,
          0x01,
          0x00,
          0x00,
          0x00,
          0x02,
          static_cast<uint8_t>(data_offset << 4),
          flags,
          0xff,
          0xff,
          0x00,
          0x00,
          0x00,
          0x00};
}

Bytes inIpv4(uint8_t proto, const Bytes& l4) {
  return cat({ipv4Header(proto, static_cast<uint16_t>(20 + l4.size())), l4});
}

// --- TCP ------------------------------------------------------------------------------------

TEST(DecodeTcp, SynWithoutOptionsOrPayload) {
  const Decoded d = decodeFrame(kLinkRaw, inIpv4(6, tcpHeader(5, tcpflag::kSyn)));
  EXPECT_EQ(d.status, DecodeStatus::kOk);
  EXPECT_TRUE(d.pkt.has_l4);
  EXPECT_EQ(d.pkt.src_port, 1234);
  EXPECT_EQ(d.pkt.dst_port, 80);
  EXPECT_EQ(d.pkt.tcp_flags, tcpflag::kSyn);
  EXPECT_EQ(d.pkt.tcp_seq, 1u);
  EXPECT_EQ(d.pkt.tcp_ack, 2u);
  EXPECT_EQ(d.pkt.payload_caplen, 0u);
  EXPECT_EQ(d.pkt.payload_wire_len, 0u);
}

TEST(DecodeTcp, WholeFlagsByteIsReported) {
  // CWR | ECE | SYN: an ECN-setup SYN.
  const Decoded d = decodeFrame(kLinkRaw, inIpv4(6, tcpHeader(5, 0xc2)));
  EXPECT_EQ(d.pkt.tcp_flags, 0xc2);
}

TEST(DecodeTcp, DataOffsetBelowFiveIsBadButKeepsPorts) {
  const Decoded d = decodeFrame(kLinkRaw, inIpv4(6, tcpHeader(4, tcpflag::kSyn)));
  EXPECT_EQ(d.status, DecodeStatus::kBadTcpHeader);
  EXPECT_TRUE(hasIpLayer(d.status));
  EXPECT_EQ(d.pkt.src_ip.toString(), "10.0.0.1");
  EXPECT_TRUE(d.pkt.has_l4);
  EXPECT_EQ(d.pkt.src_port, 1234);
  EXPECT_EQ(d.pkt.dst_port, 80);
  EXPECT_EQ(d.pkt.tcp_flags, 0);
  EXPECT_EQ(d.pkt.payload_wire_len, 0u);
}

TEST(DecodeTcp, DataOffsetBeyondTheFrameIsTruncated) {
  // Data offset 15 = 60 bytes; the segment has 20 + 8.
  const Decoded d =
      decodeFrame(kLinkRaw, inIpv4(6, cat({tcpHeader(15, tcpflag::kAck), Bytes(8, 0x01)})));
  EXPECT_EQ(d.status, DecodeStatus::kTruncatedTcp);
  EXPECT_TRUE(d.pkt.has_l4);
  EXPECT_EQ(d.pkt.src_port, 1234);
  EXPECT_EQ(d.pkt.tcp_flags, 0);
  EXPECT_EQ(d.pkt.tcp_seq, 0u);
  EXPECT_EQ(d.pkt.payload, nullptr);
}

TEST(DecodeTcp, FewerThanFourBytesHasNoPorts) {
  const Decoded d = decodeFrame(kLinkRaw, inIpv4(6, {0x04, 0xd2, 0x00}));
  EXPECT_EQ(d.status, DecodeStatus::kTruncatedTcp);
  EXPECT_TRUE(hasIpLayer(d.status));
  EXPECT_EQ(d.pkt.dst_ip.toString(), "10.0.0.2");
  EXPECT_EQ(d.pkt.l4_proto, ipproto::kTcp);
  EXPECT_FALSE(d.pkt.has_l4);
  EXPECT_EQ(d.pkt.src_port, 0);
}

// --- UDP ------------------------------------------------------------------------------------

TEST(DecodeUdp, PayloadLengthComesFromIpNotUdpLength) {
  const Bytes payload = {1, 2, 3, 4, 5, 6};
  for (uint16_t udp_len : std::initializer_list<uint16_t>{0, 2, 14, 200}) {
    SCOPED_TRACE(udp_len);
    const Decoded d = decodeFrame(kLinkRaw, inIpv4(17, cat({udpHeader(7, 9, udp_len), payload})));
    EXPECT_EQ(d.status, DecodeStatus::kOk);
    EXPECT_EQ(d.pkt.src_port, 7);
    EXPECT_EQ(d.pkt.dst_port, 9);
    EXPECT_EQ(d.pkt.payload_caplen, 6u);
    EXPECT_EQ(d.pkt.payload_wire_len, 6u);
  }
}

TEST(DecodeUdp, HeaderCutAfterPorts) {
  const Bytes frame = inIpv4(17, cat({udpHeader(7, 9, 12), {'w', 'x', 'y', 'z'}}));
  const Decoded d = decodeFrame(kLinkRaw, frame, 20 + 6);
  EXPECT_EQ(d.status, DecodeStatus::kTruncatedUdp);
  EXPECT_TRUE(hasIpLayer(d.status));
  EXPECT_TRUE(d.pkt.has_l4);
  EXPECT_EQ(d.pkt.src_port, 7);
  EXPECT_EQ(d.pkt.dst_port, 9);
  EXPECT_EQ(d.pkt.payload_caplen, 0u);
}

TEST(DecodeUdp, HeaderCutBeforePorts) {
  const Bytes frame = inIpv4(17, udpHeader(7, 9, 8));
  const Decoded d = decodeFrame(kLinkRaw, frame, 20 + 3);
  EXPECT_EQ(d.status, DecodeStatus::kTruncatedUdp);
  EXPECT_FALSE(d.pkt.has_l4);
}

// --- ICMP and other protocols ---------------------------------------------------------------

TEST(DecodeIcmp, EchoRequestHasNoPorts) {
  const Bytes echo = {0x08, 0x00, 0xf7, 0xfe, 0x00, 0x01, 0x00, 0x01, 'p', 'i', 'n', 'g'};
  const Decoded d = decodeFrame(kLinkRaw, inIpv4(1, echo));
  EXPECT_EQ(d.status, DecodeStatus::kOk);
  EXPECT_EQ(d.pkt.l4_proto, ipproto::kIcmp);
  EXPECT_TRUE(d.pkt.has_l4);
  EXPECT_EQ(d.pkt.src_port, 0);
  EXPECT_EQ(d.pkt.dst_port, 0);
  // Payload starts after the 4-byte type/code/checksum.
  EXPECT_EQ(d.pkt.payload_caplen, 8u);
  EXPECT_EQ(d.pkt.payload_wire_len, 8u);
}

TEST(DecodeIcmp, Icmpv6) {
  const Bytes echo = {0x80, 0x00, 0x12, 0x34, 0x00, 0x01, 0x00, 0x01};
  const Decoded d = decodeFrame(kLinkIpv6, cat({ipv6Header(58, 8), echo}));
  EXPECT_EQ(d.status, DecodeStatus::kOk);
  EXPECT_EQ(d.pkt.l4_proto, ipproto::kIcmpv6);
  EXPECT_TRUE(d.pkt.has_l4);
  EXPECT_EQ(d.pkt.payload_wire_len, 4u);
}

TEST(DecodeIcmp, FewerThanFourBytes) {
  const Decoded d = decodeFrame(kLinkRaw, inIpv4(1, {0x08, 0x00, 0xf7}));
  EXPECT_EQ(d.status, DecodeStatus::kTruncatedIcmp);
  EXPECT_TRUE(hasIpLayer(d.status));
  EXPECT_FALSE(d.pkt.has_l4);
  EXPECT_EQ(d.pkt.src_ip.toString(), "10.0.0.1");
}

TEST(DecodeOtherProtocols, IpFieldsWithoutPorts) {
  for (uint8_t proto : std::initializer_list<uint8_t>{50, 132, 47, 89}) {  // ESP, SCTP, GRE, OSPF
    SCOPED_TRACE(static_cast<int>(proto));
    const Decoded d = decodeFrame(kLinkRaw, inIpv4(proto, Bytes(16, 0x5a)));
    EXPECT_EQ(d.status, DecodeStatus::kOk);
    EXPECT_EQ(d.pkt.l4_proto, proto);
    EXPECT_EQ(d.pkt.src_ip.toString(), "10.0.0.1");
    EXPECT_FALSE(d.pkt.has_l4);
    EXPECT_EQ(d.pkt.payload_caplen, 16u);
    EXPECT_EQ(d.pkt.payload_wire_len, 16u);
  }
}

// --- The output struct ----------------------------------------------------------------------

TEST(DecodeOutput, IsFullyOverwritten) {
  const Bytes vlan_tcp = cat({ethernet(0x8100), {0x00, 0x64}, be16(0x0800), kIpv4Tcp});
  Bytes buffer = vlan_tcp;
  RawPacket raw;
  raw.data = buffer.data();
  raw.caplen = raw.wirelen = static_cast<uint32_t>(buffer.size());
  raw.linktype = kLinkEthernet;
  DecodedPacket pkt;
  ASSERT_EQ(decode(raw, pkt), DecodeStatus::kOk);
  ASSERT_EQ(pkt.vlan_id, 100);

  const Bytes raw_ip = kIpv6Udp;
  raw.data = raw_ip.data();
  raw.caplen = raw.wirelen = static_cast<uint32_t>(raw_ip.size());
  raw.linktype = kLinkRaw;
  raw.ts = 5;
  ASSERT_EQ(decode(raw, pkt), DecodeStatus::kOk);
  EXPECT_FALSE(pkt.has_mac);
  EXPECT_TRUE(pkt.src_mac.isZero());
  EXPECT_EQ(pkt.vlan_id, 0);
  EXPECT_EQ(pkt.tcp_seq, 0u);
  EXPECT_EQ(pkt.tcp_flags, 0);
  EXPECT_EQ(pkt.ts, 5);

  raw.linktype = 9999;
  ASSERT_EQ(decode(raw, pkt), DecodeStatus::kUnsupportedLinkType);
  EXPECT_EQ(pkt.ip_version, 0);
  EXPECT_FALSE(pkt.has_l4);
  EXPECT_EQ(pkt.payload, nullptr);
  EXPECT_EQ(pkt.wire_len, raw_ip.size());
}

TEST(DecodeOutput, NullDataWithZeroLength) {
  RawPacket raw;
  raw.linktype = kLinkEthernet;
  raw.wirelen = 60;
  DecodedPacket pkt;
  EXPECT_EQ(decode(raw, pkt), DecodeStatus::kTruncatedLink);
  EXPECT_EQ(pkt.wire_len, 60u);
}

// --- Status names and hasIpLayer ------------------------------------------------------------

TEST(DecodeStatusName, UniqueDottedSnakeCaseNames) {
  std::set<std::string> names;
  for (int i = 0; i < static_cast<int>(DecodeStatus::kCount); ++i) {
    const std::string name = decodeStatusName(static_cast<DecodeStatus>(i));
    SCOPED_TRACE(name);
    EXPECT_EQ(name.rfind("decode.", 0), 0u);
    EXPECT_GT(name.size(), 7u);
    EXPECT_EQ(name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_.", 0),
              std::string::npos);
    EXPECT_TRUE(names.insert(name).second) << "duplicate";
  }
  EXPECT_EQ(names.size(), static_cast<size_t>(DecodeStatus::kCount));
  EXPECT_STREQ(decodeStatusName(DecodeStatus::kTruncatedIpv4), "decode.truncated_ipv4");
  EXPECT_STREQ(decodeStatusName(DecodeStatus::kNotIp), "decode.not_ip");
}

TEST(DecodeHasIpLayer, TrueOnlyWhenAddressesWereDecoded) {
  const std::set<DecodeStatus> with_ip = {DecodeStatus::kOk, DecodeStatus::kTruncatedTcp,
                                          DecodeStatus::kBadTcpHeader, DecodeStatus::kTruncatedUdp,
                                          DecodeStatus::kTruncatedIcmp};
  for (int i = 0; i < static_cast<int>(DecodeStatus::kCount); ++i) {
    const auto status = static_cast<DecodeStatus>(i);
    EXPECT_EQ(hasIpLayer(status), with_ip.count(status) == 1) << decodeStatusName(status);
  }
}

}  // namespace
}  // namespace nm::decode_test
