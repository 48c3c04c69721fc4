// Link layers: every supported DLT, VLAN stacks, PPPoE, MPLS, and what is not IP.

#include <gtest/gtest.h>

#include "decode_test_util.h"

namespace nm::decode_test {
namespace {

TEST(DecodeEthernet, Ipv4TcpWithOptions) {
  const Decoded d = decodeFrame(kLinkEthernet, cat({ethernet(0x0800), kIpv4Tcp}));
  expectIpv4Tcp(d);
  EXPECT_EQ(d.pkt.ts, kTs);
  EXPECT_EQ(d.pkt.wire_len, 71u);
  EXPECT_TRUE(d.pkt.has_mac);
  EXPECT_EQ(d.pkt.dst_mac.toString(), "00:11:22:33:44:55");
  EXPECT_EQ(d.pkt.src_mac.toString(), "66:77:88:99:aa:bb");
  EXPECT_EQ(d.pkt.vlan_id, 0);
  EXPECT_EQ(d.pkt.tunnel_depth, 0);
  EXPECT_EQ(d.pkt.payload, d.buffer.get() + 14 + kIpv4TcpHeaderBytes);
}

TEST(DecodeEthernet, Ipv6Udp) {
  const Decoded d = decodeFrame(kLinkEthernet, cat({ethernet(0x86dd), kIpv6Udp}));
  expectIpv6Udp(d);
  EXPECT_TRUE(d.pkt.has_mac);
}

TEST(DecodeEthernet, ArpIsNotIp) {
  const Bytes arp = {0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x66, 0x77,
                     0x88, 0x99, 0xaa, 0xbb, 10,   0,    0,    1,    0x00, 0x00,
                     0x00, 0x00, 0x00, 0x00, 10,   0,    0,    2};
  const Decoded d = decodeFrame(kLinkEthernet, cat({ethernet(0x0806), arp}));
  EXPECT_EQ(d.status, DecodeStatus::kNotIp);
  EXPECT_FALSE(hasIpLayer(d.status));
  EXPECT_TRUE(d.pkt.has_mac);
  EXPECT_EQ(d.pkt.src_mac.toString(), "66:77:88:99:aa:bb");
  EXPECT_EQ(d.pkt.ip_version, 0);
  EXPECT_EQ(d.pkt.wire_len, 42u);
  EXPECT_EQ(d.pkt.ts, kTs);
}

TEST(DecodeEthernet, Ieee8023LengthFieldIsNotIp) {
  // 802.3 with an LLC header (STP): the type field is a length.
  const Bytes llc = {0x42, 0x42, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00};
  const Decoded d = decodeFrame(kLinkEthernet, cat({ethernet(0x0026), llc}));
  EXPECT_EQ(d.status, DecodeStatus::kNotIp);
}

TEST(DecodeEthernet, ShorterThanHeaderIsTruncatedLink) {
  const Decoded d = decodeFrame(kLinkEthernet, Bytes(13, 0xab));
  EXPECT_EQ(d.status, DecodeStatus::kTruncatedLink);
  EXPECT_FALSE(d.pkt.has_mac);
  EXPECT_EQ(d.pkt.wire_len, 13u);
}

// --- VLAN -----------------------------------------------------------------------------------

struct VlanCase {
  uint16_t tpid;
  Bytes tci;
  uint16_t vlan_id;
};

class DecodeVlan : public ::testing::TestWithParam<VlanCase> {};

TEST_P(DecodeVlan, SingleTag) {
  const VlanCase& c = GetParam();
  const Decoded d =
      decodeFrame(kLinkEthernet, cat({ethernet(c.tpid), c.tci, be16(0x0800), kIpv4Tcp}));
  expectIpv4Tcp(d);
  EXPECT_EQ(d.pkt.vlan_id, c.vlan_id);
}

INSTANTIATE_TEST_SUITE_P(Tpids, DecodeVlan,
                         ::testing::Values(VlanCase{0x8100, {0x20, 0x64}, 100},   // PCP 1
                                           VlanCase{0x88a8, {0xff, 0xff}, 4095},  // all bits set
                                           VlanCase{0x9100, {0x00, 0x07}, 7}));

TEST(DecodeVlan, QinQReportsInnermostTag) {
  const Bytes frame =
      cat({ethernet(0x88a8), {0x00, 0xc8}, be16(0x8100), {0x00, 0x64}, be16(0x86dd), kIpv6Udp});
  const Decoded d = decodeFrame(kLinkEthernet, frame);
  expectIpv6Udp(d);
  EXPECT_EQ(d.pkt.vlan_id, 100);
}

Bytes vlanStack(int tags) {
  Bytes frame = ethernet(0x8100);
  for (int i = 1; i <= tags; ++i) {
    const uint16_t next = i == tags ? 0x0800 : 0x8100;
    frame = cat({frame, be16(static_cast<uint16_t>(i)), be16(next)});
  }
  return cat({frame, kIpv4Tcp});
}

TEST(DecodeVlan, EightTagsAreAccepted) {
  const Decoded d = decodeFrame(kLinkEthernet, vlanStack(8));
  expectIpv4Tcp(d);
  EXPECT_EQ(d.pkt.vlan_id, 8);
}

TEST(DecodeVlan, NineTagsAreTooMany) {
  const Decoded d = decodeFrame(kLinkEthernet, vlanStack(9));
  EXPECT_EQ(d.status, DecodeStatus::kTooManyVlanTags);
  EXPECT_FALSE(hasIpLayer(d.status));
  EXPECT_EQ(d.pkt.ip_version, 0);
}

TEST(DecodeVlan, TagCutOff) {
  const Decoded d = decodeFrame(kLinkEthernet, cat({ethernet(0x8100), {0x00, 0x64, 0x08}}));
  EXPECT_EQ(d.status, DecodeStatus::kTruncatedVlan);
}

// --- PPPoE ----------------------------------------------------------------------------------

Bytes pppoeSession(uint16_t ppp_proto, const Bytes& payload) {
  const auto length = static_cast<uint16_t>(payload.size() + 2);
  return cat({ethernet(0x8864), {0x11, 0x00, 0x12, 0x34}, be16(length), be16(ppp_proto), payload});
}

TEST(DecodePppoe, Ipv4) {
  const Decoded d = decodeFrame(kLinkEthernet, pppoeSession(0x0021, kIpv4Tcp));
  expectIpv4Tcp(d);
  EXPECT_TRUE(d.pkt.has_mac);
}

TEST(DecodePppoe, Ipv6) {
  expectIpv6Udp(decodeFrame(kLinkEthernet, pppoeSession(0x0057, kIpv6Udp)));
}

TEST(DecodePppoe, LcpIsNotIp) {
  const Bytes lcp_echo = {0x09, 0x01, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00};
  EXPECT_EQ(decodeFrame(kLinkEthernet, pppoeSession(0xc021, lcp_echo)).status,
            DecodeStatus::kNotIp);
}

TEST(DecodePppoe, HeaderCutOff) {
  // 6-byte PPPoE header present, PPP protocol missing one byte.
  const Decoded d = decodeFrame(kLinkEthernet, pppoeSession(0x0021, kIpv4Tcp), 14 + 7);
  EXPECT_EQ(d.status, DecodeStatus::kTruncatedPppoe);
}

TEST(DecodePppoe, InsideVlan) {
  const Bytes inner = pppoeSession(0x0021, kIpv4Tcp);
  const Bytes frame = cat({ethernet(0x8100), {0x00, 0x2a}, Bytes(inner.begin() + 12, inner.end())});
  const Decoded d = decodeFrame(kLinkEthernet, frame);
  expectIpv4Tcp(d);
  EXPECT_EQ(d.pkt.vlan_id, 42);
}

// --- MPLS -----------------------------------------------------------------------------------

// Label 100 (not bottom), label 200 (bottom of stack), TTL 64.
const Bytes kLabel100 = {0x00, 0x06, 0x40, 0x40};
const Bytes kLabel200Bottom = {0x00, 0x0c, 0x81, 0x40};

TEST(DecodeMpls, OneLabelIpv4) {
  expectIpv4Tcp(decodeFrame(kLinkEthernet, cat({ethernet(0x8847), kLabel200Bottom, kIpv4Tcp})));
}

TEST(DecodeMpls, TwoLabelsIpv6) {
  expectIpv6Udp(
      decodeFrame(kLinkEthernet, cat({ethernet(0x8847), kLabel100, kLabel200Bottom, kIpv6Udp})));
}

TEST(DecodeMpls, MulticastEthertype) {
  expectIpv4Tcp(decodeFrame(kLinkEthernet, cat({ethernet(0x8848), kLabel200Bottom, kIpv4Tcp})));
}

TEST(DecodeMpls, PseudowireControlWordIsNotIp) {
  const Bytes control_word = {0x00, 0x00, 0x00, 0x00};
  const Decoded d = decodeFrame(
      kLinkEthernet, cat({ethernet(0x8847), kLabel200Bottom, control_word, ethernet(0x0800)}));
  EXPECT_EQ(d.status, DecodeStatus::kNotIp);
}

TEST(DecodeMpls, SixteenLabelsAreAcceptedSeventeenAreTooMany) {
  Bytes stack;
  for (int i = 0; i < 15; ++i) {
    stack = cat({stack, kLabel100});
  }
  expectIpv4Tcp(
      decodeFrame(kLinkEthernet, cat({ethernet(0x8847), stack, kLabel200Bottom, kIpv4Tcp})));
  const Decoded d = decodeFrame(
      kLinkEthernet, cat({ethernet(0x8847), stack, kLabel100, kLabel200Bottom, kIpv4Tcp}));
  EXPECT_EQ(d.status, DecodeStatus::kTooManyMplsLabels);
}

TEST(DecodeMpls, StackCutOffBeforeBottom) {
  const Decoded d = decodeFrame(kLinkEthernet, cat({ethernet(0x8847), kLabel100, {0x00, 0x0c}}));
  EXPECT_EQ(d.status, DecodeStatus::kTruncatedMpls);
}

TEST(DecodeMpls, NothingAfterBottomLabel) {
  const Decoded d = decodeFrame(kLinkEthernet, cat({ethernet(0x8847), kLabel200Bottom}));
  EXPECT_EQ(d.status, DecodeStatus::kTruncatedMpls);
}

// --- Linux cooked capture -------------------------------------------------------------------

TEST(DecodeSll, SenderAddressBecomesSourceMac) {
  const Bytes sll = {0x00, 0x04,                                      // outgoing
                     0x00, 0x01,                                      // ARPHRD_ETHER
                     0x00, 0x06,                                      // address length
                     0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0x00, 0x00,  // address
                     0x08, 0x00};
  const Decoded d = decodeFrame(kLinkSll, cat({sll, kIpv4Tcp}));
  expectIpv4Tcp(d);
  EXPECT_TRUE(d.pkt.has_mac);
  EXPECT_EQ(d.pkt.src_mac.toString(), "66:77:88:99:aa:bb");
  EXPECT_TRUE(d.pkt.dst_mac.isZero());
}

TEST(DecodeSll, NoAddressMeansNoMac) {
  const Bytes sll = {0x00, 0x00, 0xff, 0xfe, 0x00, 0x00,  // ARPHRD_NONE (tun), no address
                     0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x86, 0xdd};
  const Decoded d = decodeFrame(kLinkSll, cat({sll, kIpv6Udp}));
  expectIpv6Udp(d);
  EXPECT_FALSE(d.pkt.has_mac);
  EXPECT_TRUE(d.pkt.src_mac.isZero());
}

TEST(DecodeSll, VlanTagInProtocolField) {
  const Bytes sll = {0x00, 0x00, 0x00, 0x01, 0x00, 0x06, 0x66, 0x77,
                     0x88, 0x99, 0xaa, 0xbb, 0x00, 0x00, 0x81, 0x00};
  const Decoded d = decodeFrame(kLinkSll, cat({sll, {0x00, 0x64}, be16(0x0800), kIpv4Tcp}));
  expectIpv4Tcp(d);
  EXPECT_EQ(d.pkt.vlan_id, 100);
}

TEST(DecodeSll, ShortHeader) {
  EXPECT_EQ(decodeFrame(kLinkSll, Bytes(15, 0)).status, DecodeStatus::kTruncatedLink);
}

TEST(DecodeSll2, Ipv4WithAddress) {
  const Bytes sll2 = {0x08, 0x00,              // protocol
                      0x00, 0x00,              // reserved
                      0x00, 0x00, 0x00, 0x02,  // interface index
                      0x00, 0x01,              // ARPHRD_ETHER
                      0x00,                    // to us
                      0x06,                    // address length
                      0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0x00, 0x00};
  const Decoded d = decodeFrame(kLinkSll2, cat({sll2, kIpv4Tcp}));
  expectIpv4Tcp(d);
  EXPECT_TRUE(d.pkt.has_mac);
  EXPECT_EQ(d.pkt.src_mac.toString(), "66:77:88:99:aa:bb");
  EXPECT_TRUE(d.pkt.dst_mac.isZero());
}

TEST(DecodeSll2, Ipv6WithoutAddress) {
  const Bytes sll2 = {0x86, 0xdd, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0xff, 0xfe,
                      0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
  const Decoded d = decodeFrame(kLinkSll2, cat({sll2, kIpv6Udp}));
  expectIpv6Udp(d);
  EXPECT_FALSE(d.pkt.has_mac);
}

TEST(DecodeSll2, ShortHeader) {
  EXPECT_EQ(decodeFrame(kLinkSll2, Bytes(19, 0)).status, DecodeStatus::kTruncatedLink);
}

// --- Raw IP ---------------------------------------------------------------------------------

class DecodeRawIp : public ::testing::TestWithParam<int> {};

TEST_P(DecodeRawIp, VersionNibbleDecides) {
  const Decoded v4 = decodeFrame(GetParam(), kIpv4Tcp);
  expectIpv4Tcp(v4);
  EXPECT_FALSE(v4.pkt.has_mac);
  expectIpv6Udp(decodeFrame(GetParam(), kIpv6Udp));
}

TEST_P(DecodeRawIp, OtherVersionIsNotIp) {
  Bytes frame = kIpv4Tcp;
  frame[0] = 0x55;
  EXPECT_EQ(decodeFrame(GetParam(), frame).status, DecodeStatus::kNotIp);
}

TEST_P(DecodeRawIp, EmptyFrame) {
  EXPECT_EQ(decodeFrame(GetParam(), {}).status, DecodeStatus::kTruncatedLink);
}

INSTANTIATE_TEST_SUITE_P(LinkTypes, DecodeRawIp,
                         ::testing::Values(kLinkRaw, kLinkRawOpenBsd, kLinkRawPcap));

TEST(DecodeLinktypeIpv4, Ipv4) {
  expectIpv4Tcp(decodeFrame(kLinkIpv4, kIpv4Tcp));
}

TEST(DecodeLinktypeIpv4, Ipv6BytesAreABadIpv4Header) {
  EXPECT_EQ(decodeFrame(kLinkIpv4, kIpv6Udp).status, DecodeStatus::kBadIpv4Header);
}

TEST(DecodeLinktypeIpv6, Ipv6) {
  expectIpv6Udp(decodeFrame(kLinkIpv6, kIpv6Udp));
}

TEST(DecodeLinktypeIpv6, Ipv4BytesAreABadIpv6Header) {
  Bytes frame = cat({kIpv4Tcp, Bytes(10, 0)});  // long enough for an IPv6 header
  EXPECT_EQ(decodeFrame(kLinkIpv6, frame).status, DecodeStatus::kBadIpv6Header);
}

// --- BSD loopback ---------------------------------------------------------------------------

TEST(DecodeNull, Ipv4InBothByteOrders) {
  expectIpv4Tcp(decodeFrame(kLinkNull, cat({{0x02, 0x00, 0x00, 0x00}, kIpv4Tcp})));
  expectIpv4Tcp(decodeFrame(kLinkNull, cat({{0x00, 0x00, 0x00, 0x02}, kIpv4Tcp})));
}

TEST(DecodeNull, Ipv6FamilyOfEveryOsInBothByteOrders) {
  for (uint8_t af : std::initializer_list<uint8_t>{10, 24, 28, 30}) {
    SCOPED_TRACE(static_cast<int>(af));
    expectIpv6Udp(decodeFrame(kLinkNull, cat({{af, 0x00, 0x00, 0x00}, kIpv6Udp})));
    expectIpv6Udp(decodeFrame(kLinkNull, cat({{0x00, 0x00, 0x00, af}, kIpv6Udp})));
  }
}

TEST(DecodeNull, OtherFamilyIsNotIp) {
  // AF_ISO (7).
  const Decoded d = decodeFrame(kLinkNull, cat({{0x07, 0x00, 0x00, 0x00}, kIpv4Tcp}));
  EXPECT_EQ(d.status, DecodeStatus::kNotIp);
  EXPECT_FALSE(d.pkt.has_mac);
}

TEST(DecodeNull, ShortHeader) {
  EXPECT_EQ(decodeFrame(kLinkNull, {0x02, 0x00, 0x00}).status, DecodeStatus::kTruncatedLink);
}

TEST(DecodeLoop, NetworkOrder) {
  expectIpv4Tcp(decodeFrame(kLinkLoop, cat({{0x00, 0x00, 0x00, 0x02}, kIpv4Tcp})));
  expectIpv6Udp(decodeFrame(kLinkLoop, cat({{0x00, 0x00, 0x00, 0x18}, kIpv6Udp})));
}

TEST(DecodeLoop, HostOrderIsNotAccepted) {
  EXPECT_EQ(decodeFrame(kLinkLoop, cat({{0x02, 0x00, 0x00, 0x00}, kIpv4Tcp})).status,
            DecodeStatus::kNotIp);
}

// --- PPP and Cisco HDLC ---------------------------------------------------------------------

TEST(DecodePpp, WithAddressAndControl) {
  expectIpv4Tcp(decodeFrame(kLinkPpp, cat({{0xff, 0x03, 0x00, 0x21}, kIpv4Tcp})));
  expectIpv6Udp(decodeFrame(kLinkPpp, cat({{0xff, 0x03, 0x00, 0x57}, kIpv6Udp})));
}

TEST(DecodePpp, WithoutAddressAndControl) {
  expectIpv4Tcp(decodeFrame(kLinkPpp, cat({{0x00, 0x21}, kIpv4Tcp})));
  expectIpv6Udp(decodeFrame(kLinkPpp, cat({{0x00, 0x57}, kIpv6Udp})));
}

TEST(DecodePpp, CompressedProtocolField) {
  expectIpv4Tcp(decodeFrame(kLinkPpp, cat({{0xff, 0x03, 0x21}, kIpv4Tcp})));
  expectIpv6Udp(decodeFrame(kLinkPpp, cat({{0x57}, kIpv6Udp})));
}

TEST(DecodePpp, AddressWithoutControlIsNotSkipped) {
  // 0xff alone is an (odd, compressed) protocol number, not the start of address/control.
  EXPECT_EQ(decodeFrame(kLinkPpp, cat({{0xff, 0x00, 0x21}, kIpv4Tcp})).status,
            DecodeStatus::kNotIp);
}

TEST(DecodePpp, LcpIsNotIp) {
  EXPECT_EQ(decodeFrame(kLinkPpp, {0xff, 0x03, 0xc0, 0x21, 0x01, 0x01, 0x00, 0x04}).status,
            DecodeStatus::kNotIp);
}

TEST(DecodePpp, ProtocolCutOff) {
  EXPECT_EQ(decodeFrame(kLinkPpp, {0xff, 0x03}).status, DecodeStatus::kTruncatedLink);
  EXPECT_EQ(decodeFrame(kLinkPpp, {0xff, 0x03, 0x00}).status, DecodeStatus::kTruncatedLink);
  EXPECT_EQ(decodeFrame(kLinkPpp, {}).status, DecodeStatus::kTruncatedLink);
}

TEST(DecodeCiscoHdlc, Ipv4AndIpv6) {
  expectIpv4Tcp(decodeFrame(kLinkCiscoHdlc, cat({{0x0f, 0x00, 0x08, 0x00}, kIpv4Tcp})));
  expectIpv6Udp(decodeFrame(kLinkCiscoHdlc, cat({{0x8f, 0x00, 0x86, 0xdd}, kIpv6Udp})));
}

TEST(DecodeCiscoHdlc, Mpls) {
  expectIpv4Tcp(
      decodeFrame(kLinkCiscoHdlc, cat({{0x0f, 0x00, 0x88, 0x47}, kLabel200Bottom, kIpv4Tcp})));
}

TEST(DecodeCiscoHdlc, SlarpIsNotIp) {
  EXPECT_EQ(decodeFrame(kLinkCiscoHdlc, cat({{0x8f, 0x00, 0x80, 0x35}, Bytes(18, 0)})).status,
            DecodeStatus::kNotIp);
}

TEST(DecodeCiscoHdlc, ShortHeader) {
  EXPECT_EQ(decodeFrame(kLinkCiscoHdlc, {0x0f, 0x00, 0x08}).status, DecodeStatus::kTruncatedLink);
}

// --- PPI ------------------------------------------------------------------------------------

// version 0, flags 0, header length (LE), DLT (LE).
Bytes ppiHeader(uint16_t length, uint32_t dlt) {
  return {0x00,
          0x00,
          static_cast<uint8_t>(length),
          static_cast<uint8_t>(length >> 8),
          static_cast<uint8_t>(dlt),
          static_cast<uint8_t>(dlt >> 8),
          static_cast<uint8_t>(dlt >> 16),
          static_cast<uint8_t>(dlt >> 24)};
}

TEST(DecodePpi, WrapsEthernet) {
  const Decoded d = decodeFrame(kLinkPpi, cat({ppiHeader(8, 1), ethernet(0x0800), kIpv4Tcp}));
  expectIpv4Tcp(d);
  EXPECT_TRUE(d.pkt.has_mac);
  EXPECT_EQ(d.pkt.src_mac.toString(), "66:77:88:99:aa:bb");
}

TEST(DecodePpi, SkipsFieldsByHeaderLength) {
  // A 12-byte field (e.g. 802.11-Common would be longer; the content is not read).
  const Bytes fields(12, 0xee);
  expectIpv4Tcp(decodeFrame(kLinkPpi, cat({ppiHeader(20, 1), fields, ethernet(0x0800), kIpv4Tcp})));
}

TEST(DecodePpi, WrapsLinuxCooked) {
  const Bytes sll = {0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
                     0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x86, 0xdd};
  expectIpv6Udp(decodeFrame(kLinkPpi, cat({ppiHeader(8, 113), sll, kIpv6Udp})));
}

TEST(DecodePpi, HeaderLengthBelowEightIsBad) {
  EXPECT_EQ(decodeFrame(kLinkPpi, cat({ppiHeader(4, 1), ethernet(0x0800), kIpv4Tcp})).status,
            DecodeStatus::kBadPpiHeader);
}

TEST(DecodePpi, HeaderLengthBeyondFrame) {
  const Bytes frame = cat({ppiHeader(0x0100, 1), ethernet(0x0800), kIpv4Tcp});
  EXPECT_EQ(decodeFrame(kLinkPpi, frame).status, DecodeStatus::kTruncatedLink);
}

TEST(DecodePpi, NestedPpiAndUnknownDltAreUnsupported) {
  EXPECT_EQ(
      decodeFrame(kLinkPpi, cat({ppiHeader(8, 192), ppiHeader(8, 1), ethernet(0x0800), kIpv4Tcp}))
          .status,
      DecodeStatus::kUnsupportedLinkType);
  EXPECT_EQ(decodeFrame(kLinkPpi, cat({ppiHeader(8, 105), Bytes(30, 0)})).status,
            DecodeStatus::kUnsupportedLinkType);
  EXPECT_EQ(decodeFrame(kLinkPpi, cat({ppiHeader(8, 0x80000001u), Bytes(30, 0)})).status,
            DecodeStatus::kUnsupportedLinkType);
}

TEST(DecodePpi, ShortHeader) {
  EXPECT_EQ(decodeFrame(kLinkPpi, {0x00, 0x00, 0x08, 0x00, 0x01, 0x00, 0x00}).status,
            DecodeStatus::kTruncatedLink);
}

// --- Unsupported ----------------------------------------------------------------------------

TEST(DecodeUnsupported, UnknownLinkTypes) {
  for (int linktype : {105, 127, 147, 2, -1, 1 << 30}) {
    SCOPED_TRACE(linktype);
    const Decoded d = decodeFrame(linktype, cat({ethernet(0x0800), kIpv4Tcp}));
    EXPECT_EQ(d.status, DecodeStatus::kUnsupportedLinkType);
    EXPECT_EQ(d.pkt.wire_len, 71u);
    EXPECT_EQ(d.pkt.ts, kTs);
    EXPECT_FALSE(d.pkt.has_mac);
  }
}

}  // namespace
}  // namespace nm::decode_test
