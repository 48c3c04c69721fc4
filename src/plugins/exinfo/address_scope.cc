#include "plugins/exinfo/address_scope.h"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <string_view>
#include <vector>

namespace nm {
namespace {

struct ScopeRange {
  std::string_view cidr;
  AddressScope scope;
};

// First match wins, so a range nested in a wider one comes before it (255.255.255.255 inside
// 240/4, ::1 inside ::/8).
constexpr std::array kRanges = {
    ScopeRange{"255.255.255.255/32", AddressScope::kBroadcast},
    ScopeRange{"0.0.0.0/32", AddressScope::kUnspecified},
    ScopeRange{"0.0.0.0/8", AddressScope::kReserved},  // "this network" (RFC 791)
    ScopeRange{"10.0.0.0/8", AddressScope::kPrivate},
    ScopeRange{"100.64.0.0/10", AddressScope::kCgnat},
    ScopeRange{"127.0.0.0/8", AddressScope::kLoopback},
    ScopeRange{"169.254.0.0/16", AddressScope::kLinkLocal},
    ScopeRange{"172.16.0.0/12", AddressScope::kPrivate},
    ScopeRange{"192.0.0.0/24", AddressScope::kReserved},  // IETF protocol assignments
    ScopeRange{"192.0.2.0/24", AddressScope::kDocumentation},
    ScopeRange{"192.168.0.0/16", AddressScope::kPrivate},
    ScopeRange{"198.18.0.0/15", AddressScope::kBenchmarking},
    ScopeRange{"198.51.100.0/24", AddressScope::kDocumentation},
    ScopeRange{"203.0.113.0/24", AddressScope::kDocumentation},
    ScopeRange{"224.0.0.0/4", AddressScope::kMulticast},
    ScopeRange{"240.0.0.0/4", AddressScope::kReserved},
    ScopeRange{"::/128", AddressScope::kUnspecified},
    ScopeRange{"::1/128", AddressScope::kLoopback},
    // ::ffff:0:0/96 never reaches the table: classify() unwraps it first.
    ScopeRange{"::/8", AddressScope::kReserved},      // deprecated IPv4-compatible etc.
    ScopeRange{"100::/64", AddressScope::kReserved},  // discard-only (RFC 6666)
    ScopeRange{"2001:2::/48", AddressScope::kBenchmarking},
    ScopeRange{"2001:db8::/32", AddressScope::kDocumentation},
    ScopeRange{"3fff::/20", AddressScope::kDocumentation},  // RFC 9637
    ScopeRange{"fc00::/7", AddressScope::kUniqueLocal},
    ScopeRange{"fe80::/10", AddressScope::kLinkLocal},
    ScopeRange{"fec0::/10", AddressScope::kReserved},  // deprecated site-local (RFC 3879)
    ScopeRange{"ff00::/8", AddressScope::kMulticast},
};

struct ParsedRange {
  IpPrefix prefix;
  AddressScope scope;
};

// One family's ranges, and which first bytes any of them can start with: most addresses seen
// are public and fail that one table lookup, so the list is walked only for the rest.
struct FamilyRanges {
  std::vector<ParsedRange> ranges;
  std::array<bool, 256> first_byte_special{};
};

struct Tables {
  FamilyRanges v4;
  FamilyRanges v6;
};

const Tables& tables() {
  static const Tables t = [] {
    Tables out;
    for (const auto& r : kRanges) {
      ParsedRange p{{}, r.scope};
      if (!IpPrefix::parse(r.cidr, p.prefix)) {
        std::abort();  // a typo in the table above; the unit tests catch it first
      }
      FamilyRanges& f = p.prefix.addr.isV4() ? out.v4 : out.v6;
      // The first bytes the prefix covers: one when it is 8 bits or longer, else a run.
      const unsigned bits = std::min<unsigned>(p.prefix.length, 8);
      const unsigned first = p.prefix.addr.bytes[0] & (0xffu << (8 - bits)) & 0xffu;
      for (unsigned b = first; b < first + (1u << (8 - bits)); ++b) {
        f.first_byte_special[b] = true;
      }
      f.ranges.push_back(p);
    }
    return out;
  }();
  return t;
}

bool isV4Mapped(const IpAddr& ip) {
  static constexpr std::array<uint8_t, 12> kMappedPrefix = {0, 0, 0, 0, 0,    0,
                                                            0, 0, 0, 0, 0xff, 0xff};
  for (size_t i = 0; i < kMappedPrefix.size(); ++i) {
    if (ip.bytes[i] != kMappedPrefix[i]) {
      return false;
    }
  }
  return true;
}

}  // namespace

AddressScope classify(const IpAddr& ip) {
  if (ip.isV6() && isV4Mapped(ip)) {
    return classify(IpAddr::v4(ip.bytes.data() + 12));
  }
  if (!ip.isV4() && !ip.isV6()) {
    return AddressScope::kUnspecified;
  }
  const FamilyRanges& f = ip.isV4() ? tables().v4 : tables().v6;
  if (!f.first_byte_special[ip.bytes[0]]) {
    return AddressScope::kPublic;
  }
  for (const auto& r : f.ranges) {
    if (r.prefix.contains(ip)) {
      return r.scope;
    }
  }
  return AddressScope::kPublic;
}

bool isPublic(const IpAddr& ip) {
  return classify(ip) == AddressScope::kPublic;
}

const char* addressScopeName(AddressScope scope) {
  switch (scope) {
    case AddressScope::kPublic:
      return "public";
    case AddressScope::kPrivate:
      return "private";
    case AddressScope::kLoopback:
      return "loopback";
    case AddressScope::kLinkLocal:
      return "link_local";
    case AddressScope::kCgnat:
      return "cgnat";
    case AddressScope::kMulticast:
      return "multicast";
    case AddressScope::kDocumentation:
      return "documentation";
    case AddressScope::kUniqueLocal:
      return "unique_local";
    case AddressScope::kUnspecified:
      return "unspecified";
    case AddressScope::kBroadcast:
      return "broadcast";
    case AddressScope::kBenchmarking:
      return "benchmarking";
    case AddressScope::kReserved:
      return "reserved";
  }
  return "unknown";
}

}  // namespace nm
