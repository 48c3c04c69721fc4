#pragma once
// Vocabulary types shared by every stage: addresses, timestamps, flow keys.
// All are small value types, cheap to copy, with no heap allocation.

#include <array>
#include <compare>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace nm {

// Nanoseconds since the Unix epoch, in packet time (pcap header) or wall time.
using Timestamp = int64_t;
inline constexpr Timestamp kNanosPerSecond = 1'000'000'000;

struct MacAddr {
  std::array<uint8_t, 6> bytes{};

  static MacAddr fromBytes(const uint8_t* p) {
    MacAddr m;
    std::memcpy(m.bytes.data(), p, 6);
    return m;
  }
  bool isZero() const { return bytes == std::array<uint8_t, 6>{}; }
  // Group bit: multicast or broadcast destination.
  bool isMulticast() const { return (bytes[0] & 0x01) != 0; }
  // "aa:bb:cc:dd:ee:ff", lower case, as the original core printed HwAddr.
  std::string toString() const;
  auto operator<=>(const MacAddr&) const = default;
};

// "aa:bb:cc:dd:ee:ff", "AA-BB-CC-DD-EE-FF" (either case) or 12 hex digits; false otherwise.
bool parseMacAddr(std::string_view text, MacAddr& out);

// An IPv4 or IPv6 address. IPv4 is stored in the first 4 bytes (network order), the rest zero.
struct IpAddr {
  std::array<uint8_t, 16> bytes{};
  uint8_t family = 0;  // 4 or 6; 0 = unset

  static IpAddr v4(const uint8_t* p) {
    IpAddr a;
    std::memcpy(a.bytes.data(), p, 4);
    a.family = 4;
    return a;
  }
  static IpAddr v6(const uint8_t* p) {
    IpAddr a;
    std::memcpy(a.bytes.data(), p, 16);
    a.family = 6;
    return a;
  }
  // Parses dotted-quad or RFC 4291 text; false on malformed input.
  static bool parse(std::string_view text, IpAddr& out);

  bool isV4() const { return family == 4; }
  bool isV6() const { return family == 6; }
  // Canonical text (inet_ntop form: "192.168.0.3", "2001:db8::1").
  std::string toString() const;
  auto operator<=>(const IpAddr&) const = default;
};

// Writes the canonical text of a 16-byte IPv6 address (RFC 5952, as inet_ntop) to `out`, which
// must hold INET6_ADDRSTRLEN (46) bytes; returns the length written, no NUL. inet_ntop is slow
// enough to show in the probe's profile, so the common case is done here.
size_t formatIpv6(const uint8_t* bytes, char* out);

// A CIDR prefix such as 192.168.0.0/16 or fd00::/8.
struct IpPrefix {
  IpAddr addr;
  uint8_t length = 0;

  // Parses "addr/len" (or a bare address = host prefix); false on malformed input.
  static bool parse(std::string_view text, IpPrefix& out);
  bool contains(const IpAddr& ip) const;
};

// True for RFC 1918, CGNAT 100.64/10, link-local (169.254/16, fe80::/10) and ULA fc00::/7:
// addresses that belong to a home or campus network rather than to a remote service.
bool isPrivateAddress(const IpAddr& ip);

namespace ipproto {
inline constexpr uint8_t kIcmp = 1;
inline constexpr uint8_t kIpInIp = 4;
inline constexpr uint8_t kTcp = 6;
inline constexpr uint8_t kUdp = 17;
inline constexpr uint8_t kIpv6 = 41;
inline constexpr uint8_t kGre = 47;
inline constexpr uint8_t kIcmpv6 = 58;
}  // namespace ipproto

// Lower-case name of the protocols reports name ("tcp", "udp", "icmp", "icmpv6"); nullptr for
// others.
const char* knownIpProtoName(uint8_t proto);
// knownIpProtoName(), else the number as text.
std::string ipProtoName(uint8_t proto);

}  // namespace nm
