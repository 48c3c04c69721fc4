// STUN/TURN messages of calling apps. STUN itself names no application; the evidence is in what
// vendors add to it: private attribute types (WhatsApp's 0x4000 block, Microsoft's MS-TURN and
// ICE extensions, Zoom's 0x0101/0x0103), the TURN REALM their relays announce, and one message
// type WhatsApp invented. Plain STUN returns nullptr so the flow keeps its DNS/IP evidence.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "classify/signatures/signatures.h"

namespace nm {
namespace {

constexpr size_t kHeaderSize = 20;
constexpr uint32_t kMagicCookie = 0x2112A442;
// RFC 8489 messages are short; a bigger "header" is almost surely something else.
constexpr size_t kMaxMessageSize = 1500;
// Attributes examined per message: enough for any real message, bounded for hostile ones.
constexpr int kMaxAttributes = 64;

constexpr const char* kWhatsAppCall = "WhatsAppCall";
constexpr const char* kTeamsCall = "Skype_TeamsCall";
constexpr const char* kZoom = "Zoom";
constexpr const char* kGoogleCall = "GoogleCall";

uint16_t readU16(std::span<const uint8_t> b, size_t at) {
  return static_cast<uint16_t>((b[at] << 8) | b[at + 1]);
}

uint32_t readU32(std::span<const uint8_t> b, size_t at) {
  return (static_cast<uint32_t>(readU16(b, at)) << 16) | readU16(b, at + 2);
}

// The header fields that make a buffer a STUN message; `body` is the attribute area.
struct StunMessage {
  uint16_t type = 0;
  std::span<const uint8_t> body;
};

// Accepts RFC 8489 (magic cookie) and RFC 3489 classic messages. `exact` demands that the
// message fill the buffer, as it does in a UDP datagram.
bool parseStunMessage(std::span<const uint8_t> b, bool exact, StunMessage& msg) {
  if (b.size() < kHeaderSize || b.size() > kMaxMessageSize + kHeaderSize) {
    return false;
  }
  const uint16_t type = readU16(b, 0);
  const size_t length = readU16(b, 2);
  if ((type & 0xC000) != 0 || type == 0) {
    return false;
  }
  if (exact ? kHeaderSize + length != b.size() : kHeaderSize + length > b.size()) {
    return false;
  }
  // 0x0800 is WhatsApp's own message type; everything else must be a known method (binding
  // through the RFC 6062 TCP methods), whatever its class bits say.
  const uint16_t method = type & 0x3EEF;
  const bool cookie = readU32(b, 4) == kMagicCookie;
  if (type == 0x0800) {
    if (!cookie) {
      return false;
    }
  } else if (method > 0x000C) {
    return false;
  }
  // Without the cookie the only check left is the length: insist on 4-byte alignment, which
  // classic STUN keeps and random bytes rarely do.
  if (!cookie && (length % 4) != 0) {
    return false;
  }
  msg.type = type;
  msg.body = b.subspan(kHeaderSize, length);
  return true;
}

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

// TURN relays name their realm after the operator.
const char* appFromRealm(std::span<const uint8_t> value) {
  const std::string_view realm(reinterpret_cast<const char*>(value.data()), value.size());
  if (contains(realm, "facebook")) {
    return "FacebookVoip";
  }
  if (contains(realm, "google.com")) {
    return kGoogleCall;
  }
  if (contains(realm, "signal.org") || contains(realm, "whispersystems.org")) {
    return "SignalVoip";
  }
  if (contains(realm, "telegram.org")) {
    return "TelegramVoip";
  }
  if (contains(realm, "viber.com")) {
    return "ViberVoip";
  }
  return nullptr;
}

// One attribute's verdict, or nullptr when it is standard or unknown.
const char* appFromAttribute(uint16_t type, std::span<const uint8_t> value) {
  switch (type) {
    case 0x4000:
    case 0x4001:
    case 0x4002:
      // WhatsApp's relays speak a private attribute block in the comprehension-required range.
      return kWhatsAppCall;
    case 0x0101:
    case 0x0103:
      // Zoom's clients put these below the RFC 3489 range; no standard defines them.
      return kZoom;
    case 0x0014:
      return appFromRealm(value);
    case 0x8054:
      // MS-ICE candidate identifier: a short index, as one digit or one byte and three zeros.
      if ((value.size() == 1 && value[0] >= '0' && value[0] <= '9') ||
          (value.size() == 4 && value[1] == 0 && value[2] == 0 && value[3] == 0)) {
        return kTeamsCall;
      }
      return nullptr;
    case 0x8070:
      // MS-ICE2 implementation version: 2 and 3 in Skype for Business, 7 in new Teams.
      if (value.size() == 4 && readU32(value, 0) >= 2 && readU32(value, 0) <= 15) {
        return kTeamsCall;
      }
      return nullptr;
    case 0x8008:  // MS-TURN MS-VERSION
    case 0x8055:  // MS-TURN service quality
    case 0x8006:  // The rest: Microsoft-private, seen only in Skype/Teams calls.
    case 0x8037:
    case 0x8095:
      return kTeamsCall;
    case 0xFF03:
      return kGoogleCall;
    default:
      return nullptr;
  }
}

const char* appFromMessage(const StunMessage& msg) {
  if (msg.type == 0x0800) {
    return kWhatsAppCall;
  }
  std::span<const uint8_t> rest = msg.body;
  for (int i = 0; i < kMaxAttributes && rest.size() >= 4; ++i) {
    const uint16_t type = readU16(rest, 0);
    const size_t length = readU16(rest, 2);
    if (length > rest.size() - 4) {
      return nullptr;
    }
    if (const char* app = appFromAttribute(type, rest.subspan(4, length))) {
      return app;
    }
    // Values are padded to 4 bytes; WhatsApp sometimes omits the final padding.
    const size_t padded = 4 + ((length + 3) & ~size_t{3});
    if (padded >= rest.size()) {
      break;
    }
    rest = rest.subspan(padded);
  }
  return nullptr;
}

}  // namespace

const char* matchStunSignature(const PayloadContext& ctx) {
  StunMessage msg;
  if (ctx.l4_proto == 17) {
    if (parseStunMessage(ctx.payload, true, msg)) {
      return appFromMessage(msg);
    }
    return nullptr;
  }
  if (ctx.l4_proto != 6) {
    return nullptr;
  }
  if (parseStunMessage(ctx.payload, false, msg)) {
    return appFromMessage(msg);
  }
  // ICE-TCP (RFC 6544) frames each message with a 2-byte length.
  if (ctx.payload.size() > 2 && parseStunMessage(ctx.payload.subspan(2), false, msg)) {
    return appFromMessage(msg);
  }
  return nullptr;
}

}  // namespace nm
