#include "classify/signatures/signatures.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace nm {
namespace {

using Bytes = std::span<const uint8_t>;

constexpr uint8_t kTcp = 6;
constexpr uint8_t kUdp = 17;
constexpr uint8_t kAnyL4 = 0;

bool hasPrefix(Bytes p, std::string_view magic) {
  if (p.size() < magic.size()) {
    return false;
  }
  for (size_t i = 0; i < magic.size(); ++i) {
    if (p[i] != static_cast<uint8_t>(magic[i])) {
      return false;
    }
  }
  return true;
}

bool contains(Bytes p, std::string_view needle) {
  const std::string_view hay(reinterpret_cast<const char*>(p.data()), p.size());
  return hay.find(needle) != std::string_view::npos;
}

uint16_t be16(Bytes p, size_t at) {
  return static_cast<uint16_t>(p[at] << 8 | p[at + 1]);
}

uint32_t be32(Bytes p, size_t at) {
  return static_cast<uint32_t>(p[at]) << 24 | static_cast<uint32_t>(p[at + 1]) << 16 |
         static_cast<uint32_t>(p[at + 2]) << 8 | p[at + 3];
}

bool eitherPort(const PayloadContext& ctx, uint16_t port) {
  return ctx.local_port == port || ctx.remote_port == port;
}

bool eitherPortIn(const PayloadContext& ctx, uint16_t lo, uint16_t hi) {
  return (ctx.local_port >= lo && ctx.local_port <= hi) ||
         (ctx.remote_port >= lo && ctx.remote_port <= hi);
}

// WhatsApp's chat transport opens with "ED\0\1" (edge routing preamble) or "WA" plus a
// two-byte protocol version, before the Noise handshake; both arrive in the first packets.
bool isWhatsApp(const PayloadContext& ctx) {
  const Bytes p = ctx.payload;
  if (ctx.payload_index > 2 || p.size() < 4) {
    return false;
  }
  if (hasPrefix(p, std::string_view("ED\0\1", 4))) {
    return true;
  }
  return p[0] == 'W' && p[1] == 'A' && p[2] < 0x10 && p[3] < 0x10;
}

// Avast's resolver speaks plain DNS over UDP 443; the query name is under securedns.avast.com,
// written in random letter case (DNS 0x20), so labels compare case-insensitively.
bool labelEquals(Bytes p, size_t at, std::string_view want) {
  if (at + 1 + want.size() > p.size() || p[at] != want.size()) {
    return false;
  }
  for (size_t i = 0; i < want.size(); ++i) {
    if ((p[at + 1 + i] | 0x20) != static_cast<uint8_t>(want[i])) {
      return false;
    }
  }
  return true;
}

bool isAvastSecureDns(const PayloadContext& ctx) {
  const Bytes p = ctx.payload;
  constexpr size_t kHeader = 12;
  constexpr size_t kMaxLabels = 16;
  if (!eitherPort(ctx, 443) || p.size() < kHeader + 1 || be16(p, 4) != 1) {
    return false;
  }
  size_t at = kHeader;
  for (size_t n = 0; n < kMaxLabels && at < p.size() && p[at] != 0; ++n) {
    if (p[at] > 63) {
      return false;
    }
    if (labelEquals(p, at, "securedns")) {
      return labelEquals(p, at + 10, "avast");
    }
    at += 1 + p[at];
  }
  return false;
}

// Discord voice: the 74-byte IP discovery request/response (type 1/2, length 70) and the
// 8-byte 0x1337cafe keepalive its RTC servers echo.
bool isDiscord(const PayloadContext& ctx) {
  const Bytes p = ctx.payload;
  constexpr size_t kDiscoverySize = 74;
  if (p.size() == kDiscoverySize) {
    const uint16_t type = be16(p, 0);
    return (type == 1 || type == 2) && be16(p, 2) == kDiscoverySize - 4;
  }
  if (p.size() == 8) {
    return be32(p, 0) == 0x1337cafe && p[5] == 0 && p[6] == 0 && p[7] == 0;
  }
  return false;
}

// Agora SD-RTN: a 4-byte id, zeroes around the message type, then tagged fields whose first
// tag is a length-4 name ("SNI\0" in the edge request, "PEID" in the answer).
bool isSdRtn(const PayloadContext& ctx) {
  const Bytes p = ctx.payload;
  if (p.size() < 17 || p[4] != 0 || p[5] != 0 || p[7] != 0 || p[12] != 4) {
    return false;
  }
  const Bytes tag = p.subspan(13);
  return hasPrefix(tag, std::string_view("SNI\0", 4)) || hasPrefix(tag, "PEID");
}

// Dropbox LAN sync: JSON discovery broadcasts ("host_int") and "Bus17Cmd" messages on 17500.
bool isDropboxLanSync(const PayloadContext& ctx) {
  return eitherPort(ctx, 17500) &&
         (contains(ctx.payload, "\"host_int\"") || contains(ctx.payload, "Bus17Cmd"));
}

// Tuya local protocol frames: 0x000055aa prefix and 0x0000aa55 suffix on UDP 6666/6667.
bool isTuyaLp(const PayloadContext& ctx) {
  const Bytes p = ctx.payload;
  if (!eitherPortIn(ctx, 6666, 6667) || p.size() < 24) {
    return false;
  }
  return be32(p, 0) == 0x000055aa && be32(p, p.size() - 4) == 0x0000aa55;
}

// TP-Link smart home: JSON obfuscated by an autokey XOR starting at 171; TCP adds a 4-byte
// length. The first two clear bytes of a command are always '{"'.
bool isTplinkShp(const PayloadContext& ctx) {
  Bytes p = ctx.payload;
  if (!eitherPort(ctx, 9999)) {
    return false;
  }
  if (ctx.l4_proto == kTcp) {
    if (p.size() < 6 || be32(p, 0) != p.size() - 4) {
      return false;
    }
    p = p.subspan(4);
  }
  if (p.size() < 2) {
    return false;
  }
  constexpr uint8_t kKey = 171;
  return (p[0] ^ kKey) == '{' && (p[1] ^ p[0]) == '"';
}

// Spotify Connect LAN discovery ("SpotUdp0") and the legacy access point handshake on 4070.
bool isSpotify(const PayloadContext& ctx) {
  if (ctx.l4_proto == kUdp) {
    return eitherPort(ctx, 57621) && hasPrefix(ctx.payload, "SpotUdp0");
  }
  return ctx.remote_port == 4070 && ctx.payload.size() > 8 &&
         hasPrefix(ctx.payload, std::string_view("\0\4\0\0", 4));
}

// Viber: TCP 4244/5242 frames start with their own little-endian length, then either a zero
// word at offset 4 (older clients) or 0xfcff at offset 6; UDP 7985-7987
// packets carry a two-byte session id, a small message type and a zero byte.
bool isViber(const PayloadContext& ctx) {
  const Bytes p = ctx.payload;
  if (ctx.l4_proto == kTcp) {
    if (ctx.remote_port != 4244 && ctx.remote_port != 5242) {
      return false;
    }
    if (p.size() < 8 || (p[0] | p[1] << 8) != static_cast<int>(p.size())) {
      return false;
    }
    return be16(p, 4) == 0 || (p[6] == 0xfc && p[7] == 0xff);
  }
  if (!eitherPortIn(ctx, 7985, 7987) || p.size() < 12) {
    return false;
  }
  return p[2] != 0 && p[2] < 0x40 && p[3] == 0;
}

// Nintendo Switch peer-to-peer traffic: 0x32ab9864 header and packet kind 2. Kind 1 also goes
// to cloud relays nDPI credits to the hosting provider, so it is left to the IP prefixes.
bool isNintendo(const PayloadContext& ctx) {
  const Bytes p = ctx.payload;
  return p.size() >= 16 && be32(p, 0) == 0x32ab9864 && p[4] == 2;
}

// Xiaomi push (port 5222): 0xc2fe magic, then a 32-bit body length 12 bytes short of the frame.
// A bare 12-byte keepalive is too little to go on.
bool isXiaomi(const PayloadContext& ctx) {
  const Bytes p = ctx.payload;
  if (!eitherPort(ctx, 5222) || p.size() < 12) {
    return false;
  }
  return p.size() > 12 && p[0] == 0xc2 && p[1] == 0xfe && be32(p, 4) + 12 == p.size();
}

// TeamViewer: 0x17 0x24 command header, at the start on TCP 5938 and at offset 11 on UDP.
bool isTeamViewer(const PayloadContext& ctx) {
  const Bytes p = ctx.payload;
  if (ctx.l4_proto == kTcp) {
    return eitherPort(ctx, 5938) && p.size() >= 8 && p[0] == 0x17 && p[1] == 0x24;
  }
  return p.size() >= 16 && p[0] == 0 && p[11] == 0x17 && p[12] == 0x24;
}

// Zoom peer-to-peer media setup: 0x1f020100 header, then at offset 24 a 32-bit length and the
// peer's address as dotted text.
bool isZoomP2p(const PayloadContext& ctx) {
  const Bytes p = ctx.payload;
  constexpr size_t kAddrAt = 28;
  if (p.size() < kAddrAt + 7 || be32(p, 0) != 0x1f020100 || p[6] != 1 || p[7] != 0) {
    return false;
  }
  const uint32_t len = be32(p, 24);
  if (len < 7 || len > 45 || kAddrAt + len > p.size()) {
    return false;
  }
  for (size_t i = kAddrAt; i < kAddrAt + len; ++i) {
    const uint8_t c = p[i];
    if (!(c == '.' || c == ':' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return true;
}

// LINE calls: an RTP-like header whose first byte is 0xd8-0xdb and whose bytes 4-5 are 0x0602.
bool isLineCall(const PayloadContext& ctx) {
  const Bytes p = ctx.payload;
  return p.size() >= 20 && (p[0] & 0xfc) == 0xd8 && p[4] == 0x06 && p[5] == 0x02;
}

// League of Legends: Wild Rift: a 22-byte hello framed by 0x0102c841 ... "A0B1", or the
// 69-byte 0x04000000 connect that opens a match session. UDP flows are decided on their first
// packet, so the connect stands alone here (nDPI also waits for the 359-byte answer).
bool isLolWildRift(const PayloadContext& ctx) {
  const Bytes p = ctx.payload;
  if (p.size() == 22) {
    return be32(p, 0) == 0x0102c841 && be32(p, 18) == 0x41304231;
  }
  return p.size() == 69 && ctx.payload_index == 0 && ctx.upstream && be32(p, 0) == 0x04000000;
}

struct AppSignature {
  const char* name;
  uint8_t l4_proto;  // kAnyL4 for both
  bool (*matches)(const PayloadContext&);
};

// Ordered from the most specific magic to the loosest rule, so a precise match wins.
constexpr std::array kSignatures = {
    AppSignature{"WhatsApp", kTcp, isWhatsApp},
    AppSignature{"Discord", kUdp, isDiscord},
    AppSignature{"Nintendo", kUdp, isNintendo},
    AppSignature{"TuyaLP", kUdp, isTuyaLp},
    AppSignature{"SD-RTN", kUdp, isSdRtn},
    AppSignature{"AVASTSecureDNS", kUdp, isAvastSecureDns},
    AppSignature{"Dropbox", kUdp, isDropboxLanSync},
    AppSignature{"TPLINK_SHP", kAnyL4, isTplinkShp},
    AppSignature{"Spotify", kAnyL4, isSpotify},
    AppSignature{"Xiaomi", kTcp, isXiaomi},
    AppSignature{"TeamViewer", kAnyL4, isTeamViewer},
    AppSignature{"Zoom", kUdp, isZoomP2p},
    AppSignature{"Viber", kAnyL4, isViber},
    AppSignature{"LineCall", kUdp, isLineCall},
    AppSignature{"LoLWildRift", kUdp, isLolWildRift},
};

}  // namespace

const char* matchAppSignature(const PayloadContext& ctx) {
  for (const AppSignature& sig : kSignatures) {
    if (sig.l4_proto != kAnyL4 && sig.l4_proto != ctx.l4_proto) {
      continue;
    }
    if (sig.matches(ctx)) {
      return sig.name;
    }
  }
  return nullptr;
}

}  // namespace nm
