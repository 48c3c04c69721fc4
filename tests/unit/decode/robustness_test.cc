// Hostile input: every prefix of valid frames, deterministic mutations, and the fuzzer's crash
// regressions and seeds. Each frame is decoded from an exactly-sized heap buffer, so a build with
// -fsanitize=address turns any over-read into a failure.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "decode_test_util.h"
#include "fuzz_frame.h"

namespace nm::decode_test {
namespace {

struct SweepCase {
  const char* name;
  int linktype;
  Bytes frame;
  size_t payload_offset;  // where the transport payload starts
};

Bytes ipv6WithFirstFragment(const Bytes& inner_ipv4) {
  const Bytes frag = {0x04, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x09};
  return cat({ipv6Header(44, static_cast<uint16_t>(8 + inner_ipv4.size())), frag, inner_ipv4});
}

// Ethernet, QinQ, IPv6, Hop-by-Hop, Fragment (first), AH, UDP, "abcd".
Bytes ethernetVlanIpv6ExtChain() {
  const Bytes hbh = {44, 0x00, 0x01, 0x04, 0x00, 0x00, 0x00, 0x00};
  const Bytes frag = {51, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x2a};
  const Bytes ah = cat(
      {{17, 0x04, 0x00, 0x00, 0x00, 0x00, 0x10, 0x01, 0x00, 0x00, 0x00, 0x01}, Bytes(12, 0xaa)});
  const Bytes chain = cat({hbh, frag, ah, udpDatagram()});
  return cat({ethernet(0x8100),
              {0x00, 0x64},
              be16(0x86dd),
              ipv6Header(0, static_cast<uint16_t>(chain.size())),
              chain});
}

std::vector<SweepCase> sweepCases() {
  const Bytes icmp_echo = {0x08, 0x00, 0xf7, 0xfe, 0x00, 0x01, 0x00, 0x01};
  return {
      {"ethernet_ipv4_tcp", kLinkEthernet, cat({ethernet(0x0800), kIpv4Tcp}), 14 + 52},
      {"ethernet_vlan_ipv6_ext_udp", kLinkEthernet, ethernetVlanIpv6ExtChain(), 18 + 40 + 40 + 8},
      {"pppoe_ipv4_tcp", kLinkEthernet,
       cat({ethernet(0x8864), {0x11, 0x00, 0x00, 0x01, 0x00, 0x3b, 0x00, 0x21}, kIpv4Tcp}),
       14 + 8 + 52},
      {"mpls_ipv6_udp", kLinkEthernet,
       cat({ethernet(0x8847), {0x00, 0x06, 0x40, 0x40, 0x00, 0x0c, 0x81, 0x40}, kIpv6Udp}),
       14 + 8 + 48},
      {"sll_ipv4_tcp", kLinkSll,
       cat({{0, 0, 0, 1, 0, 6, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0, 0, 0x08, 0x00}, kIpv4Tcp}),
       16 + 52},
      {"sll2_ipv6_udp", kLinkSll2,
       cat({{0x86, 0xdd, 0, 0, 0, 0, 0, 1, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0}, kIpv6Udp}),
       20 + 48},
      {"raw_ipv4_tcp", kLinkRawPcap, kIpv4Tcp, 52},
      {"raw_ipv6_udp", kLinkRaw, kIpv6Udp, 48},
      {"linktype_ipv4", kLinkIpv4, kIpv4Tcp, 52},
      {"linktype_ipv6", kLinkIpv6, kIpv6Udp, 48},
      {"null_ipv6", kLinkNull, cat({{30, 0, 0, 0}, kIpv6Udp}), 4 + 48},
      {"loop_ipv4", kLinkLoop, cat({{0, 0, 0, 2}, kIpv4Tcp}), 4 + 52},
      {"ppp_ipv4", kLinkPpp, cat({{0xff, 0x03, 0x00, 0x21}, kIpv4Tcp}), 4 + 52},
      {"chdlc_ipv6", kLinkCiscoHdlc, cat({{0x0f, 0x00, 0x86, 0xdd}, kIpv6Udp}), 4 + 48},
      {"ppi_ethernet_ipv4", kLinkPpi, cat({{0, 0, 8, 0, 1, 0, 0, 0}, ethernet(0x0800), kIpv4Tcp}),
       8 + 14 + 52},
      {"six_in_four", kLinkRaw,
       cat({ipv4Header(41, static_cast<uint16_t>(20 + kIpv6Udp.size())), kIpv6Udp}), 20 + 48},
      {"four_in_six_fragment", kLinkRaw, ipv6WithFirstFragment(kIpv4Tcp), 40 + 8 + 52},
      {"ipv4_icmp", kLinkRaw, cat({ipv4Header(1, 28), icmp_echo}), 20 + 4},
  };
}

void expectInvariants(const Decoded& d, size_t caplen, uint32_t wirelen, int linktype) {
  RawPacket raw;
  raw.ts = kTs;
  raw.caplen = static_cast<uint32_t>(caplen);
  raw.wirelen = wirelen;
  raw.linktype = linktype;
  raw.data = d.buffer.get();
  EXPECT_TRUE(fuzz::decodeInvariantsHold(raw, d.status, d.pkt)) << decodeStatusName(d.status);
}

// Every prefix is decoded as a snap-length cut (the wire held the whole frame): nothing before
// the payload decodes as kOk, and from there on the payload grows one byte at a time.
TEST(DecodeRobustness, EveryPrefixOfEveryLinkType) {
  for (const SweepCase& c : sweepCases()) {
    SCOPED_TRACE(c.name);
    const Decoded whole = decodeFrame(c.linktype, c.frame);
    ASSERT_EQ(whole.status, DecodeStatus::kOk) << decodeStatusName(whole.status);
    const auto full_payload = static_cast<uint32_t>(c.frame.size() - c.payload_offset);
    ASSERT_EQ(whole.pkt.payload_caplen, full_payload);
    const auto wirelen = static_cast<uint32_t>(c.frame.size());
    for (size_t n = 0; n <= c.frame.size(); ++n) {
      SCOPED_TRACE(n);
      const Decoded d = decodeFrame(c.linktype, c.frame, n);
      expectInvariants(d, n, wirelen, c.linktype);
      EXPECT_EQ(d.pkt.wire_len, wirelen);
      if (n < c.payload_offset) {
        EXPECT_NE(d.status, DecodeStatus::kOk);
      } else {
        EXPECT_EQ(d.status, DecodeStatus::kOk) << decodeStatusName(d.status);
        EXPECT_EQ(d.pkt.payload_caplen, n - c.payload_offset);
        EXPECT_EQ(d.pkt.payload_wire_len, full_payload);
      }
    }
  }
}

// The same prefixes as frames that really were that short on the wire: the IP lengths lie and
// are clamped.
TEST(DecodeRobustness, EveryPrefixAsAShortWireFrame) {
  for (const SweepCase& c : sweepCases()) {
    SCOPED_TRACE(c.name);
    for (size_t n = 1; n <= c.frame.size(); ++n) {
      SCOPED_TRACE(n);
      const Decoded d = decodeFrame(c.linktype, c.frame, n, static_cast<uint32_t>(n));
      expectInvariants(d, n, static_cast<uint32_t>(n), c.linktype);
      if (n >= c.payload_offset) {
        EXPECT_EQ(d.status, DecodeStatus::kOk) << decodeStatusName(d.status);
        EXPECT_EQ(d.pkt.payload_wire_len, n - c.payload_offset);
      }
    }
  }
}

// Exact statuses, layer by layer, for the common path.
TEST(DecodeRobustness, EthernetIpv4TcpStatusAtEachCut) {
  const Bytes frame = cat({ethernet(0x0800), kIpv4Tcp});
  for (size_t n = 0; n <= frame.size(); ++n) {
    SCOPED_TRACE(n);
    const Decoded d = decodeFrame(kLinkEthernet, frame, n);
    DecodeStatus expected = DecodeStatus::kOk;
    if (n < 14) {
      expected = DecodeStatus::kTruncatedLink;
    } else if (n < 34) {
      expected = DecodeStatus::kTruncatedIpv4;
    } else if (n < 66) {
      expected = DecodeStatus::kTruncatedTcp;
    }
    EXPECT_EQ(d.status, expected) << decodeStatusName(d.status);
    EXPECT_EQ(d.pkt.has_mac, n >= 14);
    EXPECT_EQ(d.pkt.ip_version, n >= 34 ? 4 : 0);
    EXPECT_EQ(d.pkt.has_l4, n >= 38);
    EXPECT_EQ(d.pkt.dst_port, n >= 38 ? 443 : 0);
    EXPECT_EQ(d.pkt.tcp_flags, n >= 66 ? 0x18 : 0);
  }
}

TEST(DecodeRobustness, VlanIpv6ExtensionChainStatusAtEachCut) {
  const Bytes frame = ethernetVlanIpv6ExtChain();
  ASSERT_EQ(frame.size(), 110u);
  for (size_t n = 0; n <= frame.size(); ++n) {
    SCOPED_TRACE(n);
    const Decoded d = decodeFrame(kLinkEthernet, frame, n);
    DecodeStatus expected = DecodeStatus::kOk;
    if (n < 14) {
      expected = DecodeStatus::kTruncatedLink;
    } else if (n < 18) {
      expected = DecodeStatus::kTruncatedVlan;
    } else if (n < 58) {
      expected = DecodeStatus::kTruncatedIpv6;
    } else if (n < 98) {
      expected = DecodeStatus::kTruncatedIpv6ExtHeader;
    } else if (n < 106) {
      expected = DecodeStatus::kTruncatedUdp;
    }
    EXPECT_EQ(d.status, expected) << decodeStatusName(d.status);
    EXPECT_EQ(d.pkt.vlan_id, n >= 18 ? 100 : 0);
    EXPECT_EQ(d.pkt.has_l4, n >= 102);
    if (n >= 98) {
      EXPECT_TRUE(d.pkt.is_first_fragment);
      EXPECT_EQ(d.pkt.frag_id, 42u);
    }
  }
}

// A fixed-seed mutation run over the sweep frames, also decoded under other link types: finds
// in a unit test run what the fuzzer would, for the structure these frames exercise.
TEST(DecodeRobustness, MutatedFramesKeepTheInvariants) {
  std::mt19937 rng(20240601);
  auto below = [&rng](size_t bound) {
    return static_cast<size_t>(rng() % static_cast<uint32_t>(bound));
  };
  size_t decoded = 0;
  for (const SweepCase& c : sweepCases()) {
    SCOPED_TRACE(c.name);
    for (int iteration = 0; iteration < 20000; ++iteration) {
      Bytes frame = c.frame;
      const size_t edits = 1 + below(4);
      for (size_t e = 0; e < edits; ++e) {
        frame[below(frame.size())] = static_cast<uint8_t>(rng());
      }
      const size_t caplen = below(4) == 0 ? below(frame.size() + 1) : frame.size();
      uint32_t wirelen = static_cast<uint32_t>(frame.size());
      if (below(4) == 0) {
        wirelen += static_cast<uint32_t>(rng() % 70000);
      }
      int linktype = c.linktype;
      if (below(8) == 0) {
        linktype = fuzz::kLinkTypes[below(fuzz::kLinkTypes.size())];
      }
      const Decoded d = decodeFrame(linktype, frame, caplen, wirelen);
      RawPacket raw;
      raw.ts = kTs;
      raw.caplen = static_cast<uint32_t>(std::min(caplen, frame.size()));
      raw.wirelen = wirelen;
      raw.data = d.buffer.get();
      if (!fuzz::decodeInvariantsHold(raw, d.status, d.pkt)) {
        ADD_FAILURE() << "iteration " << iteration << " status " << decodeStatusName(d.status);
        return;
      }
      ++decoded;
    }
  }
  EXPECT_EQ(decoded, sweepCases().size() * 20000);
}

std::vector<std::filesystem::path> filesIn(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> files;
  if (std::filesystem::is_directory(dir)) {
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      if (entry.is_regular_file()) {
        files.push_back(entry.path());
      }
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

Bytes readFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Decodes a fuzzer input exactly as fuzz_decode.cc does, from an exactly-sized buffer.
DecodeStatus decodeFuzzInput(const Bytes& input, bool& invariants_hold) {
  auto buffer = std::make_unique<uint8_t[]>(input.size());
  std::copy(input.begin(), input.end(), buffer.get());
  RawPacket raw;
  invariants_hold = true;
  if (!fuzz::frameFromInput(buffer.get(), input.size(), raw)) {
    return DecodeStatus::kCount;
  }
  DecodedPacket pkt;
  const DecodeStatus status = decode(raw, pkt);
  invariants_hold = fuzz::decodeInvariantsHold(raw, status, pkt);
  return status;
}

// Every crasher the fuzzer ever found stays fixed (the seeds ride along, so the replay itself is
// known to run).
TEST(DecodeFuzzRegressions, ReplayKeepsTheInvariants) {
  const std::filesystem::path fuzz_dir(NM_FUZZ_DIR);
  std::vector<std::filesystem::path> inputs = filesIn(fuzz_dir / "regressions");
  const std::vector<std::filesystem::path> seeds = filesIn(fuzz_dir / "seeds");
  inputs.insert(inputs.end(), seeds.begin(), seeds.end());
  ASSERT_GE(inputs.size(), 13u) << "fuzz/seeds missing?";
  for (const auto& path : inputs) {
    SCOPED_TRACE(path.filename().string());
    bool invariants_hold = false;
    decodeFuzzInput(readFile(path), invariants_hold);
    EXPECT_TRUE(invariants_hold);
  }
}

// The seed corpus really is made of valid frames, one or more per link type.
TEST(DecodeFuzzSeeds, EverySeedDecodes) {
  const auto seeds = filesIn(std::filesystem::path(NM_FUZZ_DIR) / "seeds");
  ASSERT_GE(seeds.size(), 13u);
  for (const auto& path : seeds) {
    SCOPED_TRACE(path.filename().string());
    bool invariants_hold = false;
    const DecodeStatus status = decodeFuzzInput(readFile(path), invariants_hold);
    EXPECT_TRUE(invariants_hold);
    EXPECT_EQ(status, DecodeStatus::kOk) << decodeStatusName(status);
  }
}

}  // namespace
}  // namespace nm::decode_test
