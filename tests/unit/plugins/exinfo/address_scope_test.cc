#include "plugins/exinfo/address_scope.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace nm {
namespace {

struct Case {
  const char* address;
  AddressScope scope;
};

IpAddr parse(const char* text) {
  IpAddr ip;
  EXPECT_TRUE(IpAddr::parse(text, ip)) << text;
  return ip;
}

void expectScopes(const std::vector<Case>& cases) {
  for (const auto& c : cases) {
    const IpAddr ip = parse(c.address);
    EXPECT_EQ(addressScopeName(classify(ip)), std::string(addressScopeName(c.scope))) << c.address;
    EXPECT_EQ(isPublic(ip), c.scope == AddressScope::kPublic) << c.address;
  }
}

using S = AddressScope;

// The cases the original's string-prefix test got wrong.
TEST(AddressScope, OriginalPrefixBugs) {
  expectScopes({
      {"172.20.1.1", S::kPrivate},
      {"172.31.255.255", S::kPrivate},
      {"172.32.0.1", S::kPublic},
      {"172.15.255.255", S::kPublic},
      {"172.1.2.3", S::kPublic},  // "172.1" is a string prefix of "172.16" but not in the /12
      {"fd00::1", S::kUniqueLocal},
      {"2606:4700::1", S::kPublic},
  });
}

TEST(AddressScope, Ipv4RangesAndEdges) {
  expectScopes({
      // private
      {"9.255.255.255", S::kPublic},
      {"10.0.0.0", S::kPrivate},
      {"10.255.255.255", S::kPrivate},
      {"11.0.0.0", S::kPublic},
      {"172.16.0.0", S::kPrivate},
      {"192.167.255.255", S::kPublic},
      {"192.168.0.0", S::kPrivate},
      {"192.168.255.255", S::kPrivate},
      {"192.169.0.0", S::kPublic},
      // loopback
      {"126.255.255.255", S::kPublic},
      {"127.0.0.0", S::kLoopback},
      {"127.0.0.1", S::kLoopback},
      {"127.255.255.255", S::kLoopback},
      {"128.0.0.0", S::kPublic},
      // link-local
      {"169.253.255.255", S::kPublic},
      {"169.254.0.0", S::kLinkLocal},
      {"169.254.169.254", S::kLinkLocal},
      {"169.254.255.255", S::kLinkLocal},
      {"169.255.0.0", S::kPublic},
      // CGNAT 100.64/10 = 100.64.0.0 - 100.127.255.255
      {"100.63.255.255", S::kPublic},
      {"100.64.0.0", S::kCgnat},
      {"100.100.100.100", S::kCgnat},
      {"100.127.255.255", S::kCgnat},
      {"100.128.0.0", S::kPublic},
      // multicast 224/4
      {"223.255.255.255", S::kPublic},
      {"224.0.0.0", S::kMulticast},
      {"224.0.0.251", S::kMulticast},
      {"239.255.255.250", S::kMulticast},
      {"239.255.255.255", S::kMulticast},
      // reserved 240/4, broadcast inside it
      {"240.0.0.0", S::kReserved},
      {"255.255.255.254", S::kReserved},
      {"255.255.255.255", S::kBroadcast},
      // documentation
      {"192.0.1.255", S::kPublic},
      {"192.0.2.0", S::kDocumentation},
      {"192.0.2.255", S::kDocumentation},
      {"192.0.3.0", S::kPublic},
      {"198.51.99.255", S::kPublic},
      {"198.51.100.0", S::kDocumentation},
      {"198.51.100.255", S::kDocumentation},
      {"198.51.101.0", S::kPublic},
      {"203.0.112.255", S::kPublic},
      {"203.0.113.0", S::kDocumentation},
      {"203.0.113.255", S::kDocumentation},
      {"203.0.114.0", S::kPublic},
      // benchmarking 198.18/15 = 198.18.0.0 - 198.19.255.255
      {"198.17.255.255", S::kPublic},
      {"198.18.0.0", S::kBenchmarking},
      {"198.19.255.255", S::kBenchmarking},
      {"198.20.0.0", S::kPublic},
      // unspecified and "this network"
      {"0.0.0.0", S::kUnspecified},
      {"0.0.0.1", S::kReserved},
      {"0.255.255.255", S::kReserved},
      {"1.0.0.0", S::kPublic},
      // IETF protocol assignments
      {"192.0.0.8", S::kReserved},
      // well-known public services
      {"8.8.8.8", S::kPublic},
      {"1.1.1.1", S::kPublic},
      {"81.2.69.160", S::kPublic},
  });
}

TEST(AddressScope, Ipv6RangesAndEdges) {
  expectScopes({
      {"::", S::kUnspecified},
      {"::1", S::kLoopback},
      {"::2", S::kReserved},
      {"ff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", S::kReserved},
      {"100::", S::kReserved},
      {"100::ffff:ffff:ffff:ffff", S::kReserved},
      {"100:0:0:1::", S::kPublic},
      {"2001:2::1", S::kBenchmarking},
      {"2001:2:0:ffff::1", S::kBenchmarking},
      {"2001:2:1::1", S::kPublic},
      {"2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", S::kPublic},
      {"2001:db8::", S::kDocumentation},
      {"2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", S::kDocumentation},
      {"2001:db9::", S::kPublic},
      {"3fff::1", S::kDocumentation},
      {"3fff:fff::1", S::kDocumentation},
      {"3fff:1000::1", S::kPublic},
      {"fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", S::kPublic},
      {"fc00::", S::kUniqueLocal},
      {"fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", S::kUniqueLocal},
      {"fe00::", S::kPublic},
      {"fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff", S::kPublic},
      {"fe80::", S::kLinkLocal},
      {"fe80::1ff:fe23:4567:890a", S::kLinkLocal},
      {"febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", S::kLinkLocal},
      {"fec0::1", S::kReserved},
      {"ff00::", S::kMulticast},
      {"ff02::fb", S::kMulticast},
      {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", S::kMulticast},
      {"2001:4860:4860::8888", S::kPublic},
      {"2001:218::1", S::kPublic},
      {"2600:6000::1", S::kPublic},
      {"2002:c000:204::1", S::kPublic},  // 6to4 of a documentation address: routable prefix
  });
}

TEST(AddressScope, Ipv4MappedIpv6IsClassifiedAsIpv4) {
  expectScopes({
      {"::ffff:10.1.2.3", S::kPrivate},
      {"::ffff:172.20.1.1", S::kPrivate},
      {"::ffff:172.32.0.1", S::kPublic},
      {"::ffff:127.0.0.1", S::kLoopback},
      {"::ffff:100.64.0.1", S::kCgnat},
      {"::ffff:255.255.255.255", S::kBroadcast},
      {"::ffff:0.0.0.0", S::kUnspecified},
      {"::ffff:8.8.8.8", S::kPublic},
      {"::ffff:192.0.2.1", S::kDocumentation},
      // Not mapped: ::fffe:... and ::1:ffff:... stay in ::/8.
      {"::fffe:808:808", S::kReserved},
      {"::1:ffff:808:808", S::kReserved},
  });
}

TEST(AddressScope, UnsetAddressIsUnspecified) {
  EXPECT_EQ(classify(IpAddr{}), AddressScope::kUnspecified);
  EXPECT_FALSE(isPublic(IpAddr{}));
}

TEST(AddressScope, EveryScopeHasADistinctName) {
  std::vector<std::string> names;
  for (int s = 0; s <= static_cast<int>(AddressScope::kReserved); ++s) {
    names.emplace_back(addressScopeName(static_cast<AddressScope>(s)));
  }
  for (size_t i = 0; i < names.size(); ++i) {
    EXPECT_NE(names[i], "unknown");
    for (size_t j = i + 1; j < names.size(); ++j) {
      EXPECT_NE(names[i], names[j]);
    }
  }
  EXPECT_STREQ(addressScopeName(AddressScope::kLinkLocal), "link_local");
  EXPECT_STREQ(addressScopeName(AddressScope::kPublic), "public");
}

// The replacement agrees with core's isPrivateAddress on the ranges both cover.
TEST(AddressScope, AgreesWithCoreIsPrivateAddress) {
  for (const char* text : {"10.9.8.7", "172.16.0.1", "172.31.0.1", "192.168.1.1", "100.64.1.1",
                           "169.254.1.1", "fe80::1", "fd12::1", "fc00::1"}) {
    const IpAddr ip = parse(text);
    EXPECT_TRUE(isPrivateAddress(ip)) << text;
    EXPECT_FALSE(isPublic(ip)) << text;
  }
}

}  // namespace
}  // namespace nm
