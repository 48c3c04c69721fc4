#include <gtest/gtest.h>

#include "support/hex.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "classify/signatures/signatures.h"

namespace nm {
namespace {

using Bytes = std::vector<uint8_t>;

using nm::testing::fromHex;

void putU16(Bytes& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}

struct Attribute {
  uint16_t type;
  Bytes value;
};

Attribute textAttribute(uint16_t type, std::string_view text) {
  return {type, Bytes(text.begin(), text.end())};
}

// An RFC 8489 message with the magic cookie and padded attributes.
Bytes stunMessage(uint16_t type, const std::vector<Attribute>& attributes, bool cookie = true) {
  Bytes body;
  for (const Attribute& a : attributes) {
    putU16(body, a.type);
    putU16(body, static_cast<uint16_t>(a.value.size()));
    body.insert(body.end(), a.value.begin(), a.value.end());
    while (body.size() % 4 != 0) {
      body.push_back(0);
    }
  }
  Bytes msg;
  putU16(msg, type);
  putU16(msg, static_cast<uint16_t>(body.size()));
  const Bytes cookie_bytes = cookie ? Bytes{0x21, 0x12, 0xA4, 0x42} : Bytes{1, 2, 3, 4};
  msg.insert(msg.end(), cookie_bytes.begin(), cookie_bytes.end());
  for (int i = 0; i < 12; ++i) {
    msg.push_back(static_cast<uint8_t>(0x30 + i));
  }
  msg.insert(msg.end(), body.begin(), body.end());
  return msg;
}

const char* match(const Bytes& payload, uint8_t proto = 17) {
  PayloadContext ctx;
  ctx.l4_proto = proto;
  ctx.payload = payload;
  return matchStunSignature(ctx);
}

std::string matchName(const Bytes& payload, uint8_t proto = 17) {
  const char* name = match(payload, proto);
  return name != nullptr ? name : "(none)";
}

// Corpus messages (nDPI test captures).
// wa_voice.pcap: WhatsApp Allocate to 31.13.86.48:3478 with its private 0x4000 attribute and an
// odd message length.
constexpr std::string_view kWhatsAppAllocate =
    "0003006a2112a442a6674f75f0ad2c001315b3364000006605030826d884ea2ea4c4944ba39f29867bf241bc1d1f"
    "5228195ff7602f3302e61e3ef4de0deb97989fa132933e675e3981c454d16a5a8caae9521d0421dba60b3b329f85"
    "8a72e5dd741369a6808d8481672dade584a273d399fe31d3f91e4545549b729bd734";
// stun_msteams_unidir.pcapng: Teams relay Binding Success with MS implementation version 7.
constexpr std::string_view kTeamsBindingResponse =
    "010100342112a442567009c2ae00e698d98f01908070000400000007002000080001e24473a09b3900080014081c"
    "187c4cf903476de30538dee3554682a1e5d080280004513d0c54";
// stun.pcap: ICE-TCP (2-byte framing) Binding Request with an MS-ICE candidate identifier.
constexpr std::string_view kSkypeTcpBinding =
    "0068000100542112a442f3439453b698fb2950bb06ed000600092f7049303a546f4564000000002400046e6bfcff"
    "80290008000000000004c2d18054000132000000807000040000000300080014fe92876ad46d7b797d42eb8d79a8"
    "05faf31d72d1802800040200fc47";
// zoom_p2p.pcapng: Zoom's classic (cookie-less) Binding Request with attribute 0x0101.
constexpr std::string_view kZoomBinding =
    "00010018fca5c232b3da5b2065219f418e9b3e1a010100143132333435363738393031323334353637383900";
// stun_signal.pcapng: Allocate Error (401) from Signal's relay, REALM signal.org.
constexpr std::string_view kSignalAllocateError =
    "011300482112a44230584d55702b71512f6b52530009001000000401556e617574686f72697a6564001500103935"
    "3365323136653630326462303765"
    "0014000a7369676e616c2e6f72670000802200044e6f6e65802800041168f89f";
// telegram_videocall.pcapng: a plain Binding Request, no app evidence.
constexpr std::string_view kPlainBinding = "000100002112a442483271554359716e6a344f69";

TEST(StunSignatures, CorpusMessages) {
  EXPECT_EQ(matchName(fromHex(kWhatsAppAllocate)), "WhatsAppCall");
  EXPECT_EQ(matchName(fromHex(kTeamsBindingResponse)), "Skype_TeamsCall");
  EXPECT_EQ(matchName(fromHex(kSkypeTcpBinding), 6), "Skype_TeamsCall");
  EXPECT_EQ(matchName(fromHex(kZoomBinding)), "Zoom");
  EXPECT_EQ(matchName(fromHex(kSignalAllocateError)), "SignalVoip");
  EXPECT_EQ(match(fromHex(kPlainBinding)), nullptr);
}

TEST(StunSignatures, RealmNamesTheOperator) {
  const std::vector<std::pair<std::string_view, std::string>> cases = {
      {"turner.facebook", "FacebookVoip"}, {"turn.l.google.com", "GoogleCall"},
      {"signal.org", "SignalVoip"},        {"whispersystems.org", "SignalVoip"},
      {"telegram.org", "TelegramVoip"},    {"viber.com", "ViberVoip"},
      {"example.org", "(none)"},
  };
  for (const auto& [realm, app] : cases) {
    const Bytes msg = stunMessage(0x0113, {{0x0009, {0, 0, 4, 1}}, textAttribute(0x0014, realm)});
    EXPECT_EQ(matchName(msg), app) << realm;
  }
}

TEST(StunSignatures, VendorAttributes) {
  EXPECT_EQ(matchName(stunMessage(0x0101, {{0x4002, Bytes(8, 1)}})), "WhatsAppCall");
  EXPECT_EQ(matchName(stunMessage(0x0800, {})), "WhatsAppCall");
  EXPECT_EQ(matchName(stunMessage(0x0003, {{0x8008, {0, 0, 0, 6}}})), "Skype_TeamsCall");
  EXPECT_EQ(matchName(stunMessage(0x0001, {{0x8054, {'1'}}})), "Skype_TeamsCall");
  EXPECT_EQ(matchName(stunMessage(0x0001, {{0x8070, {0, 0, 0, 3}}})), "Skype_TeamsCall");
  EXPECT_EQ(matchName(stunMessage(0x0001, {{0xFF03, {0, 0, 0, 0}}})), "GoogleCall");
  // Values outside what the vendors send are no evidence.
  EXPECT_EQ(match(stunMessage(0x0001, {{0x8070, {0, 1, 0, 3}}})), nullptr);
  EXPECT_EQ(match(stunMessage(0x0001, {{0x8054, {'x', 'y'}}})), nullptr);
  // Standard WebRTC attributes alone name no app.
  EXPECT_EQ(match(stunMessage(0x0001, {textAttribute(0x0006, "ab:cd"),
                                       {0x0024, {1, 2, 3, 4}},
                                       {0xC057, {0, 1, 0, 10}},
                                       {0x8028, {1, 2, 3, 4}}})),
            nullptr);
}

TEST(StunSignatures, EvidenceAfterStandardAttributes) {
  const Bytes msg = stunMessage(
      0x0001, {textAttribute(0x0006, "user:frag"), {0x0024, {1, 2, 3, 4}}, {0x8070, {0, 0, 0, 2}}});
  EXPECT_EQ(matchName(msg), "Skype_TeamsCall");
}

TEST(StunSignatures, NotStun) {
  // RTCP, DTLS and a QUIC long header.
  EXPECT_EQ(match(fromHex("80c90005000003e85445413b6f681514fa9c98c95d7a5cf38000a15e01e3e4b990e8")),
            nullptr);
  EXPECT_EQ(match(fromHex("16fefd0000000000000000002c010000200000000000000020fefd")), nullptr);
  EXPECT_EQ(match(fromHex("c3000000010800112233445566778800")), nullptr);
  // The length field must match the datagram.
  Bytes msg = stunMessage(0x0001, {{0x4000, Bytes(4, 0)}});
  msg.push_back(0);
  EXPECT_EQ(match(msg), nullptr);
  // Unknown method.
  EXPECT_EQ(match(stunMessage(0x0031, {{0x4000, Bytes(4, 0)}})), nullptr);
  // Classic STUN without cookie and an unaligned length is taken for noise.
  Bytes classic = stunMessage(0x0001, {{0x4000, Bytes(4, 0)}}, false);
  EXPECT_EQ(matchName(classic), "WhatsAppCall");
  classic.push_back(0);
  classic[3] = static_cast<uint8_t>(classic[3] + 1);
  EXPECT_EQ(match(classic), nullptr);
  // Other transports.
  EXPECT_EQ(match(fromHex(kWhatsAppAllocate), 1), nullptr);
}

TEST(StunSignatures, EveryPrefixIsSafe) {
  for (std::string_view hex : {kWhatsAppAllocate, kTeamsBindingResponse, kSkypeTcpBinding,
                               kZoomBinding, kSignalAllocateError}) {
    const Bytes full = fromHex(hex);
    for (size_t n = 0; n < full.size(); ++n) {
      const Bytes prefix(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
      EXPECT_EQ(match(prefix), nullptr) << hex.substr(0, 8) << " at " << n;
      match(prefix, 6);
    }
  }
}

TEST(StunSignatures, HostileAttributeLengths) {
  // An attribute claiming more bytes than the message holds ends the walk.
  Bytes msg = stunMessage(0x0001, {{0x0006, Bytes(4, 'a')}, {0x4000, Bytes(4, 0)}});
  msg[22] = 0xFF;
  msg[23] = 0xFF;
  EXPECT_EQ(match(msg), nullptr);
  // Many tiny attributes are bounded; evidence past the cap is not looked at.
  std::vector<Attribute> many(200, Attribute{0x8028, {}});
  many.push_back({0x4000, Bytes(4, 0)});
  EXPECT_EQ(match(stunMessage(0x0001, many)), nullptr);
  // Every single-byte corruption of a real message stays in bounds.
  const Bytes base = fromHex(kTeamsBindingResponse);
  for (size_t i = 0; i < base.size(); ++i) {
    for (uint8_t v : {uint8_t{0x00}, uint8_t{0x7F}, uint8_t{0xFF}}) {
      Bytes mutated = base;
      mutated[i] = v;
      match(mutated);
      match(mutated, 6);
    }
  }
}

}  // namespace
}  // namespace nm
