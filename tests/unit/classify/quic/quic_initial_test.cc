#include "classify/quic/quic_initial.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "quic_test_support.h"
#include "rfc_vectors.h"

namespace nm {
namespace {

using quic::testing::Bytes;
using quic::testing::clientHello;
using quic::testing::concat;
using quic::testing::cryptoFrame;
using quic::testing::fromHex;
using quic::testing::InitialSpec;
using quic::testing::protectInitial;

constexpr uint32_t kV2 = 0x6b3343cf;

std::span<const uint8_t> slice(const Bytes& b, size_t offset, size_t length) {
  return std::span<const uint8_t>(b).subspan(offset, length);
}

// A ClientHello big enough to need two Initial packets, and the two packets carrying it.
struct SplitHello {
  Bytes hello = clientHello("split.example.org", 1800);
  size_t cut = 1000;
  Bytes first(InitialSpec spec = {}) const {
    spec.packet_number = 0;
    spec.pad_to = 1200;
    return protectInitial(spec, cryptoFrame(0, slice(hello, 0, cut)));
  }
  Bytes second(InitialSpec spec = {}) const {
    spec.packet_number = 1;
    spec.pad_to = 1200;
    return protectInitial(spec, cryptoFrame(cut, slice(hello, cut, hello.size() - cut)));
  }
};

TEST(QuicInitial, Rfc9001ClientInitialGivesExampleCom) {
  QuicInitialReassembler r;
  EXPECT_EQ(r.addDatagram(fromHex(quic::testing::kRfc9001ClientInitial)), ParseStatus::kFound);
  EXPECT_EQ(r.sni(), "example.com");
  EXPECT_EQ(r.version(), 1U);
  // Final: later datagrams are not read.
  EXPECT_EQ(r.addDatagram(Bytes{0x00}), ParseStatus::kFound);
  EXPECT_EQ(r.sni(), "example.com");
}

TEST(QuicInitial, Rfc9369V2ClientInitialGivesExampleCom) {
  QuicInitialReassembler r;
  EXPECT_EQ(r.addDatagram(fromHex(quic::testing::kRfc9369ClientInitial)), ParseStatus::kFound);
  EXPECT_EQ(r.sni(), "example.com");
  EXPECT_EQ(r.version(), kV2);
}

TEST(QuicInitial, V1PacketTypeBitsUnderV2AreNotAnInitial) {
  // RFC 9001's packet with only the version field changed to v2: type bits 00 are a v2 Retry.
  Bytes packet = fromHex(quic::testing::kRfc9001ClientInitial);
  packet[1] = 0x6b;
  packet[2] = 0x33;
  packet[3] = 0x43;
  packet[4] = 0xcf;
  QuicInitialReassembler r;
  EXPECT_EQ(r.addDatagram(packet), ParseStatus::kNotThis);
}

TEST(QuicInitial, ReassemblesHelloSplitAcrossTwoDatagrams) {
  const SplitHello split;
  QuicInitialReassembler r;
  EXPECT_EQ(r.addDatagram(split.first()), ParseStatus::kNeedMore);
  EXPECT_EQ(r.addDatagram(split.second()), ParseStatus::kFound);
  EXPECT_EQ(r.sni(), "split.example.org");
}

TEST(QuicInitial, ReassemblesHelloSplitAcrossTwoDatagramsInReverseOrder) {
  const SplitHello split;
  QuicInitialReassembler r;
  EXPECT_EQ(r.addDatagram(split.second()), ParseStatus::kNeedMore);
  EXPECT_EQ(r.addDatagram(split.first()), ParseStatus::kFound);
  EXPECT_EQ(r.sni(), "split.example.org");
}

TEST(QuicInitial, ReassemblesTwoInitialsCoalescedInOneDatagram) {
  const SplitHello split;
  InitialSpec spec;
  spec.packet_number = 0;
  const Bytes a = protectInitial(spec, cryptoFrame(0, slice(split.hello, 0, split.cut)));
  spec.packet_number = 1;
  const Bytes b = protectInitial(
      spec, cryptoFrame(split.cut, slice(split.hello, split.cut, split.hello.size() - split.cut)));
  QuicInitialReassembler r;
  EXPECT_EQ(r.addDatagram(concat({b, a})), ParseStatus::kFound);
  EXPECT_EQ(r.sni(), "split.example.org");
}

TEST(QuicInitial, ReassemblesOutOfOrderOverlappingFragmentsInOnePacket) {
  // What Chrome does: the hello cut into pieces listed out of order, some overlapping, with
  // PING and PADDING between them.
  const Bytes hello = clientHello("chrome.example.net", 600);
  const size_t n = hello.size();
  const Bytes frames = concat({
      cryptoFrame(400, slice(hello, 400, n - 400)),
      Bytes{0x01, 0x00, 0x00},
      cryptoFrame(100, slice(hello, 100, 250)),
      cryptoFrame(0, slice(hello, 0, 120)),
      Bytes{0x01},
      cryptoFrame(300, slice(hello, 300, 150)),
      cryptoFrame(0, slice(hello, 0, 1)),
  });
  QuicInitialReassembler r;
  EXPECT_EQ(r.addDatagram(protectInitial({}, frames)), ParseStatus::kFound);
  EXPECT_EQ(r.sni(), "chrome.example.net");
}

TEST(QuicInitial, WaitsForTheMissingFragment) {
  const Bytes hello = clientHello("gap.example", 500);
  const size_t n = hello.size();
  InitialSpec spec;
  QuicInitialReassembler r;
  spec.packet_number = 0;
  EXPECT_EQ(r.addDatagram(protectInitial(spec, cryptoFrame(0, slice(hello, 0, 100)))),
            ParseStatus::kNeedMore);
  spec.packet_number = 1;
  EXPECT_EQ(r.addDatagram(protectInitial(spec, cryptoFrame(200, slice(hello, 200, n - 200)))),
            ParseStatus::kNeedMore);
  spec.packet_number = 2;
  EXPECT_EQ(r.addDatagram(protectInitial(spec, cryptoFrame(90, slice(hello, 90, 120)))),
            ParseStatus::kFound);
  EXPECT_EQ(r.sni(), "gap.example");
}

TEST(QuicInitial, DecodesTruncatedPacketNumbersAgainstTheLargestSeen) {
  // Packet 0x1ff in two bytes, then 0x200 sent as its low byte 0x00: the nonce is right only
  // if 0x00 is read as 0x200, not 0.
  const SplitHello split;
  InitialSpec spec;
  spec.packet_number = 0x1ff;
  spec.pn_length = 2;
  const Bytes a = protectInitial(spec, cryptoFrame(0, slice(split.hello, 0, split.cut)));
  spec.packet_number = 0x200;
  spec.pn_length = 1;
  const Bytes b = protectInitial(
      spec, cryptoFrame(split.cut, slice(split.hello, split.cut, split.hello.size() - split.cut)));
  QuicInitialReassembler r;
  EXPECT_EQ(r.addDatagram(a), ParseStatus::kNeedMore);
  EXPECT_EQ(r.addDatagram(b), ParseStatus::kFound);
}

TEST(QuicInitial, WalksAckPingAndConnectionCloseFrames) {
  const Bytes hello = clientHello("frames.example");
  const Bytes frames = concat({
      Bytes{0x02, 0x05, 0x00, 0x01, 0x00, 0x01, 0x01},        // ACK: one extra range
      Bytes{0x03, 0x02, 0x00, 0x00, 0x00, 0x01, 0x02, 0x03},  // ACK_ECN
      Bytes{0x01},
      Bytes{0x1c, 0x00, 0x06, 0x03, 'b', 'y', 'e'},  // CONNECTION_CLOSE with a reason
      cryptoFrame(0, hello),
  });
  QuicInitialReassembler r;
  EXPECT_EQ(r.addDatagram(protectInitial({}, frames)), ParseStatus::kFound);
  EXPECT_EQ(r.sni(), "frames.example");
}

TEST(QuicInitial, StopsAtAnUnknownFrameType) {
  const Bytes hello = clientHello("hidden.example");
  // NEW_TOKEN (0x07) has no business in an Initial; what follows it cannot be located.
  QuicInitialReassembler r;
  EXPECT_EQ(
      r.addDatagram(protectInitial({}, concat({Bytes{0x07, 0x01, 0xaa}, cryptoFrame(0, hello)}))),
      ParseStatus::kNeedMore);
}

TEST(QuicInitial, FindsAHelloWithoutServerName) {
  QuicInitialReassembler r;
  EXPECT_EQ(r.addDatagram(protectInitial({}, cryptoFrame(0, clientHello("")))),
            ParseStatus::kFound);
  EXPECT_EQ(r.sni(), "");
  EXPECT_EQ(r.version(), 1U);
}

TEST(QuicInitial, OpensDraftVersions) {
  for (uint32_t version : {0xff00001bU, 0xff00001cU, 0xff00001dU, 0xff000020U, 0xfaceb002U}) {
    InitialSpec spec;
    spec.version = version;
    QuicInitialReassembler r;
    EXPECT_EQ(r.addDatagram(protectInitial(spec, cryptoFrame(0, clientHello("draft.example")))),
              ParseStatus::kFound)
        << std::hex << version;
    EXPECT_EQ(r.version(), version);
  }
}

TEST(QuicInitial, OpensGoogleT051WithItsGQuicFrames) {
  // T05x carries TLS in gQUIC frames: CRYPTO is type 0x08 (0x06 would be gQUIC STOP_WAITING).
  const Bytes hello = clientHello("www.google.com");
  Bytes frames = quic::testing::cryptoFrame(0, hello);
  frames[0] = 0x08;
  InitialSpec spec;
  spec.version = 0x54303531;
  QuicInitialReassembler r;
  EXPECT_EQ(r.addDatagram(protectInitial(spec, concat({Bytes{0x07}, frames}))),
            ParseStatus::kFound);
  EXPECT_EQ(r.sni(), "www.google.com");

  QuicInitialReassembler ietf_frames;
  EXPECT_EQ(ietf_frames.addDatagram(protectInitial(spec, cryptoFrame(0, hello))),
            ParseStatus::kNeedMore)
      << "0x06 is not CRYPTO in T051: the walk stops there";
}

TEST(QuicInitial, EveryTruncationIsRejectedWithoutCrashing) {
  for (std::string_view hex :
       {quic::testing::kRfc9001ClientInitial, quic::testing::kRfc9369ClientInitial}) {
    const Bytes packet = fromHex(hex);
    for (size_t length = 0; length < packet.size(); ++length) {
      QuicInitialReassembler r;
      // A fresh copy of exactly `length` bytes, so ASan sees any read past its end.
      const Bytes cut(packet.begin(), packet.begin() + static_cast<ptrdiff_t>(length));
      const ParseStatus status = r.addDatagram(cut);
      EXPECT_TRUE(status == ParseStatus::kMalformed || status == ParseStatus::kNotThis)
          << "length " << length << ": " << parseStatusName(status);
    }
  }
}

TEST(QuicInitial, EveryTruncationOfACoalescedDatagramIsSafe) {
  const SplitHello split;
  const Bytes datagram = concat({split.first(), split.second()});
  const size_t first_size = split.first().size();
  for (size_t length = 0; length < datagram.size(); ++length) {
    QuicInitialReassembler r;
    const Bytes cut(datagram.begin(), datagram.begin() + static_cast<ptrdiff_t>(length));
    const ParseStatus status = r.addDatagram(cut);
    if (length < first_size) {
      EXPECT_TRUE(status == ParseStatus::kMalformed || status == ParseStatus::kNotThis)
          << "length " << length << ": " << parseStatusName(status);
    } else if (length == first_size) {
      EXPECT_EQ(status, ParseStatus::kNeedMore);
    } else if (length < first_size + 5) {
      // Too little of the second packet to even read its version: trailing bytes, ignored.
      EXPECT_EQ(status, ParseStatus::kNeedMore) << "length " << length;
    } else {
      // The first packet is whole; the cut second one is reported.
      EXPECT_EQ(status, ParseStatus::kMalformed) << "length " << length;
    }
  }
}

TEST(QuicInitial, CorruptedTagIsMalformedAndNotFinal) {
  const Bytes good = fromHex(quic::testing::kRfc9001ClientInitial);
  Bytes bad_tag = good;
  bad_tag.back() ^= 0x01;
  Bytes bad_body = good;
  bad_body[600] ^= 0x80;
  Bytes bad_header = good;
  bad_header[10] ^= 0x01;  // inside the DCID: other keys, and other associated data

  QuicInitialReassembler r;
  EXPECT_EQ(r.addDatagram(bad_tag), ParseStatus::kMalformed);
  EXPECT_EQ(r.addDatagram(bad_body), ParseStatus::kMalformed);
  EXPECT_EQ(r.addDatagram(bad_header), ParseStatus::kMalformed);
  EXPECT_EQ(r.addDatagram(good), ParseStatus::kFound);
  EXPECT_EQ(r.sni(), "example.com");
}

TEST(QuicInitial, ShortHeaderPacketIsNotThis) {
  // RFC 9001 A.5's short-header (1-RTT) packet.
  QuicInitialReassembler r;
  EXPECT_EQ(r.addDatagram(fromHex("4cfe4189655e5cd55c41f69080575d7999c25a5bfb")),
            ParseStatus::kNotThis);
}

TEST(QuicInitial, OtherDatagramsAreNotThis) {
  QuicInitialReassembler r;
  EXPECT_EQ(r.addDatagram(Bytes{}), ParseStatus::kNotThis);
  // A DNS query.
  EXPECT_EQ(r.addDatagram(fromHex("abcd01000001000000000000076578616d706c6503636f6d0000010001")),
            ParseStatus::kNotThis);
  // Version Negotiation (version 0).
  EXPECT_EQ(r.addDatagram(fromHex("c00000000008aabbccddeeff00110800000001ff00001d")),
            ParseStatus::kNotThis);
  // A version reserved to force negotiation, and gQUIC Q050.
  Bytes grease = fromHex(quic::testing::kRfc9001ClientInitial);
  grease[1] = grease[2] = grease[3] = grease[4] = 0x0a;
  EXPECT_EQ(r.addDatagram(grease), ParseStatus::kNotThis);
  Bytes q050 = fromHex(quic::testing::kRfc9001ClientInitial);
  q050[1] = 'Q';
  q050[2] = '0';
  q050[3] = '5';
  q050[4] = '0';
  EXPECT_EQ(r.addDatagram(q050), ParseStatus::kNotThis);
  // Fixed bit clear.
  Bytes no_fixed_bit = fromHex(quic::testing::kRfc9001ClientInitial);
  no_fixed_bit[0] &= 0xbf;
  EXPECT_EQ(r.addDatagram(no_fixed_bit), ParseStatus::kNotThis);
  // A lone 0-RTT packet (type 1 in v1).
  Bytes zero_rtt = fromHex("d0000000010800112233445566770004deadbeef");
  EXPECT_EQ(r.addDatagram(zero_rtt), ParseStatus::kNotThis);
}

TEST(QuicInitial, ServerInitialIsNotThisOnceTheClientIsKnown) {
  // The client (DCID 8394c8f03e515708, empty SCID, as in RFC 9001) sends half its hello; the
  // server's RFC 9001 A.3 Initial answers to the empty SCID and must be told apart.
  const SplitHello split;
  QuicInitialReassembler r;
  EXPECT_EQ(r.addDatagram(split.first()), ParseStatus::kNeedMore);
  EXPECT_EQ(r.addDatagram(fromHex(quic::testing::kRfc9001ServerInitial)), ParseStatus::kNotThis);
  EXPECT_EQ(r.addDatagram(split.second()), ParseStatus::kFound);
  EXPECT_EQ(r.sni(), "split.example.org");
}

TEST(QuicInitial, ServerInitialFirstCannotBeOpened) {
  QuicInitialReassembler r;
  EXPECT_EQ(r.addDatagram(fromHex(quic::testing::kRfc9001ServerInitial)), ParseStatus::kMalformed);
}

TEST(QuicInitial, LaterInitialsToTheServersIdUseTheFirstKeys) {
  const SplitHello split;
  InitialSpec later;
  later.dcid = fromHex("5300a1b2c3d4e5f6");  // the server's chosen connection ID
  later.key_dcid = fromHex(quic::testing::kRfcDcid);
  later.scid = fromHex("c1c2c3c4");
  InitialSpec first;
  first.scid = later.scid;
  QuicInitialReassembler r;
  EXPECT_EQ(r.addDatagram(split.first(first)), ParseStatus::kNeedMore);
  EXPECT_EQ(r.addDatagram(split.second(later)), ParseStatus::kFound);
}

TEST(QuicInitial, RekeysAfterRetry) {
  // Before the Retry: DCID A, half the hello. After it: keys from the Retry's DCID B, and the
  // client sends its whole hello again.
  const SplitHello split;
  InitialSpec before;
  before.dcid = fromHex("0102030405060708");
  InitialSpec after;
  after.dcid = fromHex("a1a2a3a4a5a6a7a8a9");
  after.token = Bytes(40, 0x77);
  QuicInitialReassembler r;
  EXPECT_EQ(r.addDatagram(split.first(before)), ParseStatus::kNeedMore);
  after.packet_number = 1;
  EXPECT_EQ(r.addDatagram(protectInitial(after, cryptoFrame(0, slice(split.hello, 0, 700)))),
            ParseStatus::kNeedMore);
  after.packet_number = 2;
  EXPECT_EQ(r.addDatagram(split.second(after)), ParseStatus::kFound);
}

TEST(QuicInitial, RekeysAtMostALimitedNumberOfTimes) {
  QuicInitialReassembler r;
  const Bytes hello = clientHello("rekey.example", 400);
  uint8_t id = 1;
  auto initialWithNewId = [&](size_t offset, size_t length) {
    InitialSpec spec;
    spec.dcid = Bytes(8, id++);
    return protectInitial(spec, cryptoFrame(offset, slice(hello, offset, length)));
  };
  EXPECT_EQ(r.addDatagram(initialWithNewId(0, 10)), ParseStatus::kNeedMore);
  for (int i = 0; i < QuicInitialReassembler::kMaxRekeys; ++i) {
    EXPECT_EQ(r.addDatagram(initialWithNewId(10 + static_cast<size_t>(i), 1)),
              ParseStatus::kNeedMore);
  }
  EXPECT_EQ(r.addDatagram(initialWithNewId(100, 1)), ParseStatus::kMalformed);
}

TEST(QuicInitial, StreamThatIsNotAClientHelloIsFinallyMalformed) {
  Bytes server_hello = clientHello("x.example");
  server_hello[0] = 0x02;
  QuicInitialReassembler r;
  EXPECT_EQ(r.addDatagram(protectInitial({}, cryptoFrame(0, server_hello))),
            ParseStatus::kMalformed);
  EXPECT_EQ(r.addDatagram(fromHex(quic::testing::kRfc9001ClientInitial)), ParseStatus::kMalformed)
      << "a broken stream stays broken";
}

TEST(QuicInitial, OversizedHelloIsMalformed) {
  // A ClientHello declaring 20000 bytes: more than the 16 KiB we keep.
  QuicInitialReassembler r;
  EXPECT_EQ(r.addDatagram(protectInitial({}, cryptoFrame(0, Bytes{0x01, 0x00, 0x4e, 0x20, 0x03}))),
            ParseStatus::kMalformed);
}

TEST(QuicInitial, CryptoDataBeyondTheCapIsMalformed) {
  QuicInitialReassembler r;
  EXPECT_EQ(r.addDatagram(protectInitial({}, cryptoFrame(16 * 1024, Bytes{0x01}))),
            ParseStatus::kMalformed);
  // The per-datagram failure is not final.
  EXPECT_EQ(r.addDatagram(protectInitial({}, cryptoFrame(0, clientHello("cap.example")))),
            ParseStatus::kFound);
}

TEST(QuicInitial, FrameOverrunningThePayloadIsMalformed) {
  Bytes frames = {0x06, 0x00, 0x44, 0x00, 0x01, 0x02};  // CRYPTO claiming 1024 bytes
  QuicInitialReassembler r;
  EXPECT_EQ(r.addDatagram(protectInitial({}, frames)), ParseStatus::kMalformed);
  EXPECT_EQ(r.addDatagram(protectInitial({}, Bytes{0x02, 0x05, 0x00, 0x40})),
            ParseStatus::kMalformed)
      << "ACK cut short";
}

TEST(QuicInitial, IgnoresTrailingZeroPaddingAfterThePacket) {
  Bytes datagram = fromHex(quic::testing::kRfc9001ClientInitial);
  datagram.resize(datagram.size() + 100, 0);
  QuicInitialReassembler r;
  EXPECT_EQ(r.addDatagram(datagram), ParseStatus::kFound);
}

TEST(QuicInitial, StepsOverA0RttPacketCoalescedAfterTheInitial) {
  const SplitHello split;
  const Bytes zero_rtt = fromHex("d0000000010800112233445566770004deadbeef");
  QuicInitialReassembler r;
  EXPECT_EQ(r.addDatagram(concat({split.first(), zero_rtt, split.second()})), ParseStatus::kFound);
}

TEST(QuicInitial, LooksAtABoundedNumberOfPacketsPerDatagram) {
  const Bytes zero_rtt = fromHex("d0000000010800112233445566770004deadbeef");
  const Bytes initial = fromHex(quic::testing::kRfc9001ClientInitial);
  auto datagramWith = [&](int leading) {
    Bytes d;
    for (int i = 0; i < leading; ++i) {
      quic::testing::append(d, zero_rtt);
    }
    quic::testing::append(d, initial);
    return d;
  };
  const int cap = QuicInitialReassembler::kMaxPacketsPerDatagram;
  QuicInitialReassembler within;
  EXPECT_EQ(within.addDatagram(datagramWith(cap - 1)), ParseStatus::kFound);
  QuicInitialReassembler beyond;
  EXPECT_EQ(beyond.addDatagram(datagramWith(cap)), ParseStatus::kNotThis);
}

}  // namespace
}  // namespace nm
