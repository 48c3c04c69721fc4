#pragma once
// What kind of network an address belongs to, by real CIDR membership (RFC 6890 special-purpose
// registries), so exinfo only geolocates addresses that can have a location. The original
// compared string prefixes ("172.16." ...), which missed 172.17-31 and every IPv6 range.
//
// Pure functions over a table built once; safe from any thread.

#include <cstdint>

#include "core/net_types.h"

namespace nm {

enum class AddressScope : uint8_t {
  kPublic,         // globally routable: worth a GeoIP lookup
  kPrivate,        // RFC 1918: 10/8, 172.16/12, 192.168/16
  kLoopback,       // 127/8, ::1
  kLinkLocal,      // 169.254/16, fe80::/10
  kCgnat,          // RFC 6598 shared address space 100.64/10
  kMulticast,      // 224/4, ff00::/8
  kDocumentation,  // 192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32, 3fff::/20
  kUniqueLocal,    // fc00::/7
  kUnspecified,    // 0.0.0.0, ::, and an unset IpAddr (family 0)
  kBroadcast,      // 255.255.255.255
  kBenchmarking,   // 198.18/15, 2001:2::/48
  kReserved,       // 240/4, 0/8, 192.0.0/24, ::/8 leftovers, 100::/64: not routable
};

// IPv4-mapped IPv6 (::ffff:a.b.c.d) is classified as the IPv4 address it carries.
AddressScope classify(const IpAddr& ip);

// classify(ip) == AddressScope::kPublic.
bool isPublic(const IpAddr& ip);

// Lower-case name for tags and logs ("public", "private", "link_local", ...); never null.
const char* addressScopeName(AddressScope scope);

}  // namespace nm
