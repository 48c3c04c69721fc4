// Unit tests for the application payload signatures. Fixtures are real packets from the nDPI
// corpus (../shared/corpus/ndpi), inlined as hex; the comment above each names its capture.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "support/hex.h"

#include "classify/signatures/signatures.h"

namespace nm {
namespace {

constexpr uint8_t kTcp = 6;
constexpr uint8_t kUdp = 17;

// whatsapp.pcap, 4 bytes
constexpr std::string_view kWhatsAppEd = "45440001";
// whatsapp.pcap, 4 bytes
constexpr std::string_view kWhatsAppWa = "57410502";
// avast_securedns.pcapng, 39 bytes
constexpr std::string_view kAvast =
    "48c401000001000000000000013209536543555265646e5305615661735403436f4d0000100001";
// discord.pcap, 74 bytes
constexpr std::string_view kDiscordDiscovery =
    "000100460000ace3000000000000000000000000000000000000000000000000000000000000000000000000"
    "000000000000000000000000000000000000000000000000000000006f74";
// discord.pcap, 8 bytes
constexpr std::string_view kDiscordKeepalive = "1337cafe0e000000";
// agora-sd-rtn.pcap, 234 bytes
constexpr std::string_view kSdRtn =
    "005a384c000021000000000004534e49001c0032332d3234382d3138362d3137392e656467652e61676f7261"
    "2e696f50444d4400004350544f81004e4f4e432000000097e74ee75756f55fec185134542d92669bcc5b1ce1"
    "819c6e11aa23268c504145414404004145534750554253410004a599ec3e433361ee3082aafe8c3e8a905b1e"
    "907e63e81a2335120f09b90f754692e3175029854e495bdb1cea3ae33fb6e8bcccf08844d64e4fea9c9246da"
    "8d304b455853040050323536434352542800ff97c18fe511981f706d04c608b82799d916090cb86890161294"
    "967edfa17948a847b1ed1a1f3e62";
// zoom_p2p.pcapng, 132 bytes
constexpr std::string_view kDropbox =
    "7b2276657273696f6e223a205b322c20305d2c2022706f7274223a2031373530302c2022686f73745f696e74"
    "223a203332363639323835353335313432313235303230373039383235383834383339343838373338372c20"
    "22646973706c61796e616d65223a2022222c20226e616d65737061636573223a205b39323434363431375d7d";
// tuya_lp.pcap, 172 bytes
constexpr std::string_view kTuya =
    "000055aa00000000000000130000009c0000000097b93fee4b69c95feeb3d33bda3529521cc4eac0d354180e"
    "dccd3eae080a6ffe3ffa50ee21d36294854bd6d8a73edd114570f45f0765d3125d642f9a5bfbc6c7c2d91fea"
    "632b8557eb918162c1fc96744dc7fe823e307927fb0a44b0dfae2c8de31599c316ff65d7e1449cd24d2d2819"
    "091450d58f913116aedf0f6bfdca4510eedd5c953bb9377560ae90dfbc45dbe2d855db4b0000aa55";
// tplink_shp.pcap, 29 bytes
constexpr std::string_view kTplink = "d0f281f88bff9af7d5ef94b6d1b4c09fec95e68fe187e8caf08bf68bf6";
// android.pcap, 44 bytes
constexpr std::string_view kSpotify =
    "53706f7455647030dc1574282e52624c000100044895c203a241de2089b978d820564bd50c91c0e8a3e60a78";
// viber.pcap, 96 bytes
constexpr std::string_view kViberTcp =
    "60002e0eea14fcff038059001b000000000000002e0eea14c82598f848afdef36f1ee53c8b39ad99dd712ca8"
    "03190000002e0669372dce6d938011d3bb3f649010cedc137482d40cd759b7c0fb72480bb93300edb8e03f04"
    "84fb4e320001a00f";
// viber.pcap, 34 bytes
constexpr std::string_view kViberUdp =
    "edf61900ac19358c8f64e44725df4d4ee1cd371b5c9abc26d9d30b4b01bb39b30000";
// nintendo.pcap, 60 bytes
constexpr std::string_view kNintendo =
    "32ab9864025603cb960133e0c648f83493fb68c9e9cdf041450509198b26bd1f937ed8baffd356d26555b5d6"
    "1f98094ed25399c7cfaaa44dd0f50aeb";
// xiaomi.pcap, 66 bytes
constexpr std::string_view kXiaomi =
    "c2fe000500000036000200160000001808001a0a7869616f6d692e636f6d2a04434f4e4e48000a0a35333836"
    "3337303736391204376630341a02080022007da80b77";
// teamviewer.pcap, 37 bytes
constexpr std::string_view kTeamViewerTcp =
    "17240a200000000000000000004800800001000000148000006fb78c804805532216142004";
// teamviewer.pcap, 96 bytes
constexpr std::string_view kTeamViewerUdp =
    "0000000000000000000003172447500005000000000000000000000039332e34372e3232342e323431000000"
    "c58c000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000";
// zoom_p2p.pcapng, 84 bytes
constexpr std::string_view kZoomP2p =
    "1f0201000800010004004cf45ce00000000700000063c1b20000000c31302e37382e31342e31373800000024"
    "43354541444641312d453244302d343137452d383746322d37423042464634333933363200000000";
// line.pcap, 160 bytes
constexpr std::string_view kLineCall =
    "d89c00720602e7547cdbfb1d3bdf56fb00c5f6345fadbd3802f74ca9781be74c19bcb2ee5e54829325a37135"
    "22fdc293b2014662670a201f7a0000001852dcd41a91613d439bbcdd4c00e30ba2df58d398f991306c92354e"
    "ea9d1ffe255f53e75f9ca974f06ca4f2274397380e2c38277a41959b3cb9b0edf8d9f8f68170e1d3801ebc04"
    "7077bd990c25c92fcb2034771d741d841d4593251f8c6cbb0bbe20c1";

// lol_wild_rift_udp.pcap, 22 bytes
constexpr std::string_view kLolHello = "0102c8410000000100010000001e0004000441304231";
// lol_wild_rift_udp.pcap, 69 bytes
constexpr std::string_view kLolConnect =
    "04000000a1f57415bf29e6de395315ecdf659ab27d9a17c99b130868cc2f28ecf98ded0801147de15cbd3ff2"
    "296a92b1d8c6354bc006303d0836609c7de0ca4773b29d2381";

using nm::testing::fromHex;

struct Case {
  const char* expected;
  std::string_view hex;
  uint8_t l4_proto;
  uint16_t local_port;
  uint16_t remote_port;
};

// Ports as the classifier saw the flow in its capture (local is the capture's client side).
const Case kCases[] = {
    {"WhatsApp", kWhatsAppEd, kTcp, 44804, 5222},
    {"WhatsApp", kWhatsAppWa, kTcp, 49026, 5222},
    {"AVASTSecureDNS", kAvast, kUdp, 57970, 443},
    {"Discord", kDiscordDiscovery, kUdp, 57955, 50004},
    {"Discord", kDiscordKeepalive, kUdp, 56271, 50004},
    {"SD-RTN", kSdRtn, kUdp, 35778, 8130},
    {"Dropbox", kDropbox, kUdp, 17500, 17500},
    {"TuyaLP", kTuya, kUdp, 59727, 6667},
    {"TPLINK_SHP", kTplink, kUdp, 9999, 9999},
    {"Spotify", kSpotify, kUdp, 57621, 57621},
    {"Viber", kViberTcp, kTcp, 42900, 4244},
    {"Viber", kViberUdp, kUdp, 47171, 7987},
    {"Nintendo", kNintendo, kUdp, 52119, 49432},
    {"Xiaomi", kXiaomi, kTcp, 39180, 5222},
    {"TeamViewer", kTeamViewerTcp, kTcp, 35732, 5938},
    {"TeamViewer", kTeamViewerUdp, kUdp, 34417, 36037},
    {"Zoom", kZoomP2p, kUdp, 49579, 49586},
    {"LineCall", kLineCall, kUdp, 51170, 29070},
    {"LoLWildRift", kLolHello, kUdp, 44513, 18001},
    {"LoLWildRift", kLolConnect, kUdp, 47462, 15004},
};

PayloadContext contextFor(const Case& c, const std::vector<uint8_t>& bytes) {
  PayloadContext ctx;
  ctx.l4_proto = c.l4_proto;
  ctx.local_port = c.local_port;
  ctx.remote_port = c.remote_port;
  ctx.upstream = true;
  ctx.payload_index = 0;
  ctx.payload = bytes;
  return ctx;
}

std::string nameOf(const char* name) {
  return name ? name : "(none)";
}

TEST(AppSignaturesTest, RecognisesCorpusPackets) {
  for (const Case& c : kCases) {
    const std::vector<uint8_t> bytes = fromHex(c.hex);
    EXPECT_EQ(nameOf(matchAppSignature(contextFor(c, bytes))), c.expected) << c.hex;
  }
}

TEST(AppSignaturesTest, EveryPrefixIsSafe) {
  for (const Case& c : kCases) {
    const std::vector<uint8_t> bytes = fromHex(c.hex);
    for (size_t n = 0; n <= bytes.size(); ++n) {
      // A copy of exactly n bytes, so a read past the end is caught by sanitizers.
      const std::vector<uint8_t> prefix(bytes.begin(), bytes.begin() + static_cast<long>(n));
      PayloadContext ctx = contextFor(c, prefix);
      const char* got = matchAppSignature(ctx);
      if (got != nullptr) {
        EXPECT_EQ(std::string(got), c.expected) << c.expected << " prefix " << n;
      }
    }
  }
}

TEST(AppSignaturesTest, EmptyAndOneByteNeverMatch) {
  const std::vector<uint8_t> empty;
  for (const Case& c : kCases) {
    EXPECT_EQ(matchAppSignature(contextFor(c, empty)), nullptr);
    for (int b = 0; b < 256; ++b) {
      const std::vector<uint8_t> one = {static_cast<uint8_t>(b)};
      EXPECT_EQ(matchAppSignature(contextFor(c, one)), nullptr);
    }
  }
}

// Flips one byte the signature depends on and expects no match.
void expectNoMatchWithByte(const Case& c, size_t at, uint8_t value) {
  std::vector<uint8_t> bytes = fromHex(c.hex);
  ASSERT_LT(at, bytes.size());
  bytes[at] = value;
  EXPECT_EQ(matchAppSignature(contextFor(c, bytes)), nullptr) << c.expected << " @" << at;
}

const Case& caseNamed(std::string_view hex) {
  for (const Case& c : kCases) {
    if (c.hex == hex) {
      return c;
    }
  }
  return kCases[0];
}

TEST(AppSignaturesTest, NearMissesDoNotMatch) {
  expectNoMatchWithByte(caseNamed(kWhatsAppEd), 3, 0x02);
  expectNoMatchWithByte(caseNamed(kWhatsAppWa), 2, 0x41);
  expectNoMatchWithByte(caseNamed(kAvast), 28, 'x');  // "aVaSt" -> "aVaxt"
  expectNoMatchWithByte(caseNamed(kDiscordDiscovery), 3, 0x47);
  expectNoMatchWithByte(caseNamed(kDiscordKeepalive), 3, 0xff);
  expectNoMatchWithByte(caseNamed(kSdRtn), 13, 'X');
  expectNoMatchWithByte(caseNamed(kTuya), 3, 0xab);
  expectNoMatchWithByte(caseNamed(kTuya), 171, 0x56);
  expectNoMatchWithByte(caseNamed(kTplink), 0, 0xd1);
  expectNoMatchWithByte(caseNamed(kSpotify), 7, '1');
  expectNoMatchWithByte(caseNamed(kViberTcp), 0, 0x61);
  expectNoMatchWithByte(caseNamed(kViberUdp), 3, 0x01);
  expectNoMatchWithByte(caseNamed(kNintendo), 4, 0x01);
  expectNoMatchWithByte(caseNamed(kXiaomi), 7, 0x37);
  expectNoMatchWithByte(caseNamed(kTeamViewerTcp), 1, 0x25);
  expectNoMatchWithByte(caseNamed(kTeamViewerUdp), 12, 0x25);
  expectNoMatchWithByte(caseNamed(kZoomP2p), 30, 'z');
  expectNoMatchWithByte(caseNamed(kLineCall), 5, 0x03);
  expectNoMatchWithByte(caseNamed(kLolHello), 21, 0x32);
  expectNoMatchWithByte(caseNamed(kLolConnect), 0, 0x05);

  // Xiaomi's header alone (a keepalive) is not enough.
  Case keepalive = caseNamed(kXiaomi);
  keepalive.hex = "c2fe0005000000000d2301c6";
  EXPECT_EQ(matchAppSignature(contextFor(keepalive, fromHex(keepalive.hex))), nullptr);

  // Dropbox JSON without the discovery keys.
  Case json = caseNamed(kDropbox);
  const std::string plain = "7b2276657273696f6e223a205b322c20305d7d";  // {"version": [2, 0]}
  json.hex = plain;
  EXPECT_EQ(matchAppSignature(contextFor(json, fromHex(json.hex))), nullptr);
}

TEST(AppSignaturesTest, PortsAndDirection) {
  auto withPorts = [](const Case& c, uint16_t local, uint16_t remote) {
    Case moved = c;
    moved.local_port = local;
    moved.remote_port = remote;
    return nameOf(matchAppSignature(contextFor(moved, fromHex(c.hex))));
  };
  // Port-bound signatures need their port on either side...
  EXPECT_EQ(withPorts(caseNamed(kTuya), 6666, 40000), "TuyaLP");
  EXPECT_EQ(withPorts(caseNamed(kTuya), 40000, 40001), "(none)");
  EXPECT_EQ(withPorts(caseNamed(kTplink), 40000, 9999), "TPLINK_SHP");
  EXPECT_EQ(withPorts(caseNamed(kTplink), 40000, 9998), "(none)");
  EXPECT_EQ(withPorts(caseNamed(kDropbox), 40000, 17501), "(none)");
  EXPECT_EQ(withPorts(caseNamed(kSpotify), 40000, 57621), "Spotify");
  EXPECT_EQ(withPorts(caseNamed(kSpotify), 40000, 57622), "(none)");
  EXPECT_EQ(withPorts(caseNamed(kAvast), 57970, 53), "(none)");
  EXPECT_EQ(withPorts(caseNamed(kXiaomi), 39180, 443), "(none)");
  EXPECT_EQ(withPorts(caseNamed(kViberUdp), 7985, 47171), "Viber");
  // ...but a TCP server port must be the remote one: the client speaks first.
  EXPECT_EQ(withPorts(caseNamed(kViberTcp), 4244, 42900), "(none)");
  // Magic-only signatures do not depend on ports.
  EXPECT_EQ(withPorts(caseNamed(kNintendo), 1, 2), "Nintendo");
  EXPECT_EQ(withPorts(caseNamed(kDiscordKeepalive), 1, 2), "Discord");

  // The transport must be the one the protocol uses.
  Case udp = caseNamed(kWhatsAppEd);
  udp.l4_proto = kUdp;
  EXPECT_EQ(matchAppSignature(contextFor(udp, fromHex(udp.hex))), nullptr);
  Case tcp = caseNamed(kDiscordKeepalive);
  tcp.l4_proto = kTcp;
  EXPECT_EQ(matchAppSignature(contextFor(tcp, fromHex(tcp.hex))), nullptr);

  // The Wild Rift connect only counts as the client's opening datagram.
  const std::vector<uint8_t> connect = fromHex(kLolConnect);
  PayloadContext reply = contextFor(caseNamed(kLolConnect), connect);
  reply.upstream = false;
  EXPECT_EQ(matchAppSignature(reply), nullptr);

  // WhatsApp's preamble only counts at the start of a flow.
  const std::vector<uint8_t> ed = fromHex(kWhatsAppEd);
  PayloadContext late = contextFor(caseNamed(kWhatsAppEd), ed);
  late.payload_index = 5;
  EXPECT_EQ(matchAppSignature(late), nullptr);
  late.payload_index = 1;
  late.upstream = false;
  EXPECT_STREQ(matchAppSignature(late), "WhatsApp");
}

TEST(AppSignaturesTest, TplinkTcpCarriesLengthPrefix) {
  std::vector<uint8_t> bytes = fromHex(kTplink);
  std::vector<uint8_t> framed = {0, 0, 0, static_cast<uint8_t>(bytes.size())};
  framed.insert(framed.end(), bytes.begin(), bytes.end());
  Case c = caseNamed(kTplink);
  c.l4_proto = kTcp;
  c.local_port = 50000;
  EXPECT_STREQ(matchAppSignature(contextFor(c, framed)), "TPLINK_SHP");
  framed[3] = static_cast<uint8_t>(framed[3] + 1);  // length no longer matches
  EXPECT_EQ(matchAppSignature(contextFor(c, framed)), nullptr);
}

}  // namespace
}  // namespace nm
