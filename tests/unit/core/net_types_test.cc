#include "core/net_types.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <cstring>
#include <random>

namespace nm {
namespace {

IpAddr ip(const char* text) {
  IpAddr a;
  EXPECT_TRUE(IpAddr::parse(text, a)) << text;
  return a;
}

TEST(IpAddrTest, ParsesAndPrintsBothFamilies) {
  EXPECT_EQ(ip("192.168.0.3").toString(), "192.168.0.3");
  EXPECT_TRUE(ip("192.168.0.3").isV4());
  EXPECT_EQ(ip("2001:DB8:0:0::1").toString(), "2001:db8::1");
  EXPECT_TRUE(ip("::1").isV6());
}

TEST(IpAddrTest, RejectsMalformedText) {
  IpAddr a;
  EXPECT_FALSE(IpAddr::parse("", a));
  EXPECT_FALSE(IpAddr::parse("256.1.1.1", a));
  EXPECT_FALSE(IpAddr::parse("1.2.3", a));
  EXPECT_FALSE(IpAddr::parse("2001:db8::1::2", a));
  EXPECT_FALSE(IpAddr::parse(std::string(100, '1'), a));
  EXPECT_FALSE(IpAddr::parse(std::string_view("::\0junk", 7), a));
}

TEST(IpAddrTest, FamiliesNeverCompareEqual) {
  EXPECT_NE(ip("0.0.0.0"), ip("::"));
}

TEST(IpPrefixTest, ContainsRespectsPartialBytes) {
  IpPrefix p;
  ASSERT_TRUE(IpPrefix::parse("172.16.0.0/12", p));
  EXPECT_TRUE(p.contains(ip("172.16.0.1")));
  EXPECT_TRUE(p.contains(ip("172.31.255.255")));
  EXPECT_FALSE(p.contains(ip("172.32.0.0")));
  EXPECT_FALSE(p.contains(ip("172.15.255.255")));
  EXPECT_FALSE(p.contains(ip("::ffff:172.16.0.1")));
}

TEST(IpPrefixTest, ZeroLengthAndHostPrefixes) {
  IpPrefix any;
  ASSERT_TRUE(IpPrefix::parse("::/0", any));
  EXPECT_TRUE(any.contains(ip("2001:db8::1")));
  EXPECT_FALSE(any.contains(ip("10.0.0.1")));
  IpPrefix host;
  ASSERT_TRUE(IpPrefix::parse("10.1.2.3", host));
  EXPECT_EQ(host.length, 32);
  EXPECT_TRUE(host.contains(ip("10.1.2.3")));
  EXPECT_FALSE(host.contains(ip("10.1.2.4")));
}

TEST(IpPrefixTest, RejectsBadLengths) {
  IpPrefix p;
  EXPECT_FALSE(IpPrefix::parse("10.0.0.0/33", p));
  EXPECT_FALSE(IpPrefix::parse("fd00::/129", p));
  EXPECT_FALSE(IpPrefix::parse("10.0.0.0/", p));
  EXPECT_FALSE(IpPrefix::parse("10.0.0.0/8x", p));
  EXPECT_FALSE(IpPrefix::parse("10.0.0.0/-1", p));
}

TEST(FormatIpv6Test, AgreesWithInetNtop) {
  std::mt19937 rng(42);
  for (int i = 0; i < 200000; ++i) {
    uint8_t b[16];
    for (auto& x : b) {
      // Mostly zero bytes, so runs of zero words of every length and place occur.
      x = (rng() % 3 == 0) ? static_cast<uint8_t>(rng()) : 0;
    }
    if (i % 7 == 0) {
      std::memset(b, 0, 10);  // the embedded-IPv4 corner
      b[10] = b[11] = (i % 2) ? 0xff : 0;
    }
    char mine[INET6_ADDRSTRLEN] = {};
    char libc[INET6_ADDRSTRLEN] = {};
    const size_t n = formatIpv6(b, mine);
    ASSERT_NE(inet_ntop(AF_INET6, b, libc, sizeof libc), nullptr);
    ASSERT_EQ(std::string(mine, n), std::string(libc)) << i;
  }
}

TEST(PrivateAddressTest, HomeRangesAreLocal) {
  for (const char* text :
       {"10.0.0.1", "172.16.0.1", "172.31.255.254", "192.168.1.1", "100.64.0.1", "100.127.255.255",
        "169.254.3.4", "fe80::1", "fc00::1", "fd12:3456::1"}) {
    EXPECT_TRUE(isPrivateAddress(ip(text))) << text;
  }
}

TEST(PrivateAddressTest, PublicRangesAreRemote) {
  for (const char* text : {"8.8.8.8", "172.15.0.1", "172.32.0.1", "100.63.255.255", "100.128.0.1",
                           "192.169.0.1", "11.0.0.1", "2001:db8::1", "2a03:2880::1", "fec0::1"}) {
    EXPECT_FALSE(isPrivateAddress(ip(text))) << text;
  }
}

TEST(MacAddrTest, PrintsLowerCaseColonSeparated) {
  const uint8_t bytes[] = {0x74, 0xD0, 0x2B, 0x00, 0x0A, 0xFF};
  EXPECT_EQ(MacAddr::fromBytes(bytes).toString(), "74:d0:2b:00:0a:ff");
}

TEST(IpProtoNameTest, KnownAndNumbered) {
  EXPECT_EQ(ipProtoName(6), "tcp");
  EXPECT_EQ(ipProtoName(17), "udp");
  EXPECT_EQ(ipProtoName(58), "icmpv6");
  EXPECT_EQ(ipProtoName(47), "47");
}

}  // namespace
}  // namespace nm
