#include "core/net_types.h"

#include <arpa/inet.h>

#include <charconv>
#include "core/hex.h"

namespace nm {

std::string MacAddr::toString() const {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s(17, ':');
  for (size_t i = 0; i < 6; ++i) {
    s[i * 3] = kHex[bytes[i] >> 4];
    s[i * 3 + 1] = kHex[bytes[i] & 0x0f];
  }
  return s;
}

bool IpAddr::parse(std::string_view text, IpAddr& out) {
  // inet_pton stops at a NUL: "::\0junk" must not parse as "::".
  if (text.size() >= INET6_ADDRSTRLEN || text.find('\0') != std::string_view::npos) {
    return false;
  }
  char buf[INET6_ADDRSTRLEN] = {};
  std::memcpy(buf, text.data(), text.size());
  IpAddr a;
  if (inet_pton(AF_INET, buf, a.bytes.data()) == 1) {
    a.family = 4;
  } else if (inet_pton(AF_INET6, buf, a.bytes.data()) == 1) {
    a.family = 6;
  } else {
    return false;
  }
  out = a;
  return true;
}

size_t formatIpv6(const uint8_t* bytes, char* out) {
  // Embedded IPv4 forms (::ffff:a.b.c.d and friends) are rare: let libc spell them.
  static constexpr uint8_t kZero[10] = {};
  if (std::memcmp(bytes, kZero, sizeof kZero) == 0) {
    char buf[INET6_ADDRSTRLEN] = {};
    inet_ntop(AF_INET6, bytes, buf, sizeof buf);
    const size_t n = std::strlen(buf);
    std::memcpy(out, buf, n);
    return n;
  }
  uint16_t words[8];
  for (int i = 0; i < 8; ++i) {
    words[i] = static_cast<uint16_t>(bytes[2 * i] << 8 | bytes[2 * i + 1]);
  }
  // The first longest run of two or more zero words becomes "::".
  int best = -1;
  int best_len = 1;
  for (int i = 0; i < 8;) {
    if (words[i] != 0) {
      ++i;
      continue;
    }
    int j = i;
    while (j < 8 && words[j] == 0) {
      ++j;
    }
    if (j - i > best_len) {
      best = i;
      best_len = j - i;
    }
    i = j;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  char* p = out;
  for (int i = 0; i < 8; ++i) {
    if (i == best) {
      *p++ = ':';
      if (i == 0) {
        *p++ = ':';
      }
      i += best_len - 1;
      continue;
    }
    const uint16_t w = words[i];
    bool started = false;
    for (int shift = 12; shift >= 0; shift -= 4) {
      const int nibble = (w >> shift) & 0xf;
      if (nibble != 0 || started || shift == 0) {
        *p++ = kHex[nibble];
        started = true;
      }
    }
    if (i != 7) {
      *p++ = ':';
    }
  }
  return static_cast<size_t>(p - out);
}

std::string IpAddr::toString() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (family == 4) {
    inet_ntop(AF_INET, bytes.data(), buf, sizeof buf);
    return buf;
  }
  if (family == 6) {
    return std::string(buf, formatIpv6(bytes.data(), buf));
  }
  return buf;
}

bool IpPrefix::parse(std::string_view text, IpPrefix& out) {
  IpPrefix p;
  auto slash = text.find('/');
  if (!IpAddr::parse(text.substr(0, slash), p.addr)) {
    return false;
  }
  const int max_len = p.addr.isV4() ? 32 : 128;
  int len = max_len;
  if (slash != std::string_view::npos) {
    auto digits = text.substr(slash + 1);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), len);
    if (ec != std::errc() || end != digits.data() + digits.size() || len < 0 || len > max_len) {
      return false;
    }
  }
  p.length = static_cast<uint8_t>(len);
  out = p;
  return true;
}

bool IpPrefix::contains(const IpAddr& ip) const {
  if (ip.family != addr.family) {
    return false;
  }
  const size_t full = length / 8;
  if (std::memcmp(ip.bytes.data(), addr.bytes.data(), full) != 0) {
    return false;
  }
  const unsigned rest = length % 8;
  if (rest == 0) {
    return true;
  }
  const auto mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (ip.bytes[full] & mask) == (addr.bytes[full] & mask);
}

bool isPrivateAddress(const IpAddr& ip) {
  const auto& b = ip.bytes;
  if (ip.isV4()) {
    return b[0] == 10 || (b[0] == 172 && (b[1] & 0xf0) == 16) || (b[0] == 192 && b[1] == 168) ||
           (b[0] == 100 && (b[1] & 0xc0) == 64) || (b[0] == 169 && b[1] == 254);
  }
  if (ip.isV6()) {
    return (b[0] & 0xfe) == 0xfc || (b[0] == 0xfe && (b[1] & 0xc0) == 0x80);
  }
  return false;
}

const char* knownIpProtoName(uint8_t proto) {
  switch (proto) {
    case ipproto::kTcp:
      return "tcp";
    case ipproto::kUdp:
      return "udp";
    case ipproto::kIcmp:
      return "icmp";
    case ipproto::kIcmpv6:
      return "icmpv6";
    default:
      return nullptr;
  }
}

std::string ipProtoName(uint8_t proto) {
  const char* name = knownIpProtoName(proto);
  return name != nullptr ? name : std::to_string(proto);
}

bool parseMacAddr(std::string_view text, MacAddr& out) {
  const bool separated = text.size() == 17;
  if (!separated && text.size() != 12) {
    return false;
  }
  const char sep = separated ? text[2] : '\0';
  if (separated && sep != ':' && sep != '-') {
    return false;
  }
  const size_t stride = separated ? 3 : 2;
  MacAddr mac;
  for (size_t i = 0; i < 6; ++i) {
    const size_t at = i * stride;
    if (separated && i > 0 && text[at - 1] != sep) {
      return false;
    }
    const int h = hexDigitValue(text[at]);
    const int l = hexDigitValue(text[at + 1]);
    if (h < 0 || l < 0) {
      return false;
    }
    mac.bytes[i] = static_cast<uint8_t>(h * 16 + l);
  }
  out = mac;
  return true;
}

}  // namespace nm
