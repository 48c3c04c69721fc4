// Runs QuicInitialReassembler over nDPI's QUIC captures and compares the server names found with
// the `Hostname/SNI:` of the matching flow lines in the `.out` beside each capture (format in
// ../shared/corpus/README.md). The corpus is not part of the repository: without it these tests
// skip, loudly.

#include <gtest/gtest.h>
#include <pcap/pcap.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <regex>
#include <string>
#include <tuple>
#include <vector>

#include "classify/quic/quic_initial.h"
#include "core/net_types.h"

namespace nm {
namespace {

namespace fs = std::filesystem;

fs::path corpusDir() {
  if (const char* env = std::getenv("NM_CORPUS_DIR"); env != nullptr && *env != '\0') {
    return fs::path(env) / "ndpi";
  }
  return fs::path(NM_QUIC_TEST_CORPUS_DIR) / "ndpi";
}

// ---- A tiny capture walker: link layer -> IPv4/IPv6 -> UDP. Enough for these captures. -----

struct Endpoint {
  IpAddr ip;
  uint16_t port = 0;
  auto operator<=>(const Endpoint&) const = default;
};

struct Datagram {
  Endpoint src;
  Endpoint dst;
  std::vector<uint8_t> payload;
};

uint16_t be16(const u_char* p) {
  return static_cast<uint16_t>((p[0] << 8) | p[1]);
}

// Fills `d` from an IP packet at `p` (`n` bytes). False for non-UDP, fragments, truncation.
bool fromIp(const u_char* p, size_t n, Datagram& d) {
  if (n < 1) {
    return false;
  }
  size_t l4 = 0;
  size_t end = n;
  uint8_t proto = 0;
  if ((p[0] >> 4) == 4) {
    const size_t ihl = size_t{p[0] & 0x0fU} * 4;
    if (n < 20 || ihl < 20 || n < ihl) {
      return false;
    }
    if ((be16(p + 6) & 0x3fff) != 0) {
      return false;  // a fragment
    }
    end = std::min<size_t>(n, be16(p + 2));
    proto = p[9];
    d.src.ip = IpAddr::v4(p + 12);
    d.dst.ip = IpAddr::v4(p + 16);
    l4 = ihl;
  } else if ((p[0] >> 4) == 6) {
    if (n < 40) {
      return false;
    }
    end = std::min<size_t>(n, 40 + be16(p + 4));
    proto = p[6];
    d.src.ip = IpAddr::v6(p + 8);
    d.dst.ip = IpAddr::v6(p + 24);
    l4 = 40;
    // Hop-by-hop, routing, destination options; a fragment header ends the walk.
    while ((proto == 0 || proto == 43 || proto == 60) && l4 + 8 <= end) {
      proto = p[l4];
      l4 += (size_t{p[l4 + 1]} + 1) * 8;
    }
  } else {
    return false;
  }
  if (proto != 17 || l4 + 8 > end) {
    return false;
  }
  d.src.port = be16(p + l4);
  d.dst.port = be16(p + l4 + 2);
  const size_t udp_end = std::min(end, l4 + std::max<size_t>(8, be16(p + l4 + 4)));
  d.payload.assign(p + l4 + 8, p + udp_end);
  return true;
}

bool fromFrame(int linktype, const u_char* p, size_t n, Datagram& d) {
  size_t off = 0;
  uint16_t ethertype = 0;
  switch (linktype) {
    case DLT_EN10MB:
      if (n < 14) {
        return false;
      }
      ethertype = be16(p + 12);
      off = 14;
      while ((ethertype == 0x8100 || ethertype == 0x88a8) && off + 4 <= n) {
        ethertype = be16(p + off + 2);
        off += 4;
      }
      break;
    case DLT_LINUX_SLL:
      if (n < 16) {
        return false;
      }
      ethertype = be16(p + 14);
      off = 16;
      break;
    case DLT_RAW:
    case 101:  // LINKTYPE_RAW
    case 228:  // LINKTYPE_IPV4
    case 229:  // LINKTYPE_IPV6
      return fromIp(p, n, d);
    case DLT_NULL:
    case DLT_LOOP:
      return n > 4 && fromIp(p + 4, n - 4, d);
    default:
      return false;
  }
  if (ethertype != 0x0800 && ethertype != 0x86dd) {
    return false;
  }
  return off < n && fromIp(p + off, n - off, d);
}

std::optional<std::vector<Datagram>> readUdp(const fs::path& path, std::string& error) {
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_t* pcap = pcap_open_offline(path.c_str(), errbuf);
  if (pcap == nullptr) {
    error = errbuf;
    return std::nullopt;
  }
  const int linktype = pcap_datalink(pcap);
  std::vector<Datagram> out;
  pcap_pkthdr* header = nullptr;
  const u_char* data = nullptr;
  while (pcap_next_ex(pcap, &header, &data) == 1) {
    Datagram d;
    if (fromFrame(linktype, data, header->caplen, d)) {
      out.push_back(std::move(d));
    }
  }
  pcap_close(pcap);
  return out;
}

// ---- Feeding flows ------------------------------------------------------------------------

using FlowKey = std::pair<Endpoint, Endpoint>;  // smaller endpoint first

FlowKey keyOf(const Endpoint& a, const Endpoint& b) {
  return a < b ? FlowKey{a, b} : FlowKey{b, a};
}

struct FlowResult {
  Endpoint client;  // source of the flow's first datagram, as nDPI orients flows
  QuicInitialReassembler reassembler;
  ParseStatus last = ParseStatus::kNotThis;
  bool found = false;
};

// Feeds every flow's client-to-server datagrams, in capture order, to one reassembler per flow.
std::map<FlowKey, FlowResult> runCapture(const std::vector<Datagram>& datagrams) {
  std::map<FlowKey, FlowResult> flows;
  for (const Datagram& d : datagrams) {
    const FlowKey key = keyOf(d.src, d.dst);
    auto [it, inserted] = flows.try_emplace(key);
    FlowResult& flow = it->second;
    if (inserted) {
      flow.client = d.src;
    }
    if (d.src != flow.client || flow.found) {
      continue;
    }
    flow.last = flow.reassembler.addDatagram(d.payload);
    flow.found = flow.last == ParseStatus::kFound;
  }
  return flows;
}

// ---- The .out side ------------------------------------------------------------------------

struct ExpectedFlow {
  FlowKey key;
  std::string label;         // [proto: ...] name
  std::string sni;           // Hostname/SNI, empty when absent
  std::string quic_version;  // [QUIC ver: ...], empty when absent
  std::string line_number;   // the flow's index in the .out
};

bool parseEndpoint(const std::string& text, Endpoint& out) {
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos) {
    return false;
  }
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  out.port = static_cast<uint16_t>(std::stoi(text.substr(colon + 1)));
  return IpAddr::parse(host, out.ip);
}

std::vector<ExpectedFlow> readExpected(const fs::path& out_file) {
  // The README's flow-line expression, limited to UDP, keeping the flow index and the label.
  static const std::regex kLine(R"(^\t(\d+)\tUDP (\S+) (?:<->|->) (\S+) (?:\[VLAN: \d+\])?)"
                                R"(\[proto: (?:[A-Za-z0-9_]+:)?[0-9.]+/([^\]]+)\])");
  static const std::regex kSni(R"(\[Hostname/SNI: ([^\]]*)\])");
  static const std::regex kVersion(R"(\[QUIC ver: ([^\]]*)\])");
  std::vector<ExpectedFlow> flows;
  std::ifstream in(out_file);
  std::string line;
  while (std::getline(in, line)) {
    std::smatch m;
    if (!std::regex_search(line, m, kLine)) {
      continue;
    }
    ExpectedFlow f;
    Endpoint a;
    Endpoint b;
    if (!parseEndpoint(m[2], a) || !parseEndpoint(m[3], b)) {
      continue;
    }
    f.line_number = m[1];
    f.key = keyOf(a, b);
    f.label = m[4];
    std::smatch s;
    if (std::regex_search(line, s, kSni)) {
      f.sni = s[1];
    }
    if (std::regex_search(line, s, kVersion)) {
      f.quic_version = s[1];
    }
    flows.push_back(f);
  }
  return flows;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// gQUIC (Q0xx, Google's QUIC crypto) carries no TLS ClientHello: out of this parser's scope.
bool isGoogleQuicCrypto(const std::string& quic_version) {
  return quic_version.size() == 4 && quic_version[0] == 'Q';
}

struct Score {
  int expected = 0;      // flows whose .out names an SNI
  int hits = 0;          // ... and we found the same
  int extras = 0;        // we found an SNI the .out does not have
  int wrong = 0;         // we found a different SNI
  int out_of_scope = 0;  // misses on gQUIC flows
  std::vector<std::string> misses;

  int denominator() const { return expected + extras; }
  double rate() const { return denominator() == 0 ? 1.0 : double(hits) / denominator(); }
};

void scoreCapture(const std::string& name, Score& score, bool verbose) {
  const fs::path capture = corpusDir() / name;
  std::string error;
  const auto datagrams = readUdp(capture, error);
  ASSERT_TRUE(datagrams.has_value()) << name << ": " << error;
  const std::map<FlowKey, FlowResult> flows = runCapture(*datagrams);
  const std::vector<ExpectedFlow> expected = readExpected(capture.string() + ".out");
  for (const ExpectedFlow& e : expected) {
    const auto it = flows.find(e.key);
    const std::string ours =
        (it != flows.end() && it->second.found) ? it->second.reassembler.sni() : std::string();
    const std::string status =
        it == flows.end() ? "no datagrams" : parseStatusName(it->second.last);
    if (!e.sni.empty()) {
      ++score.expected;
      if (lower(e.sni) == ours) {
        ++score.hits;
        continue;
      }
      if (!ours.empty()) {
        ++score.wrong;
      }
      if (isGoogleQuicCrypto(e.quic_version)) {
        ++score.out_of_scope;
      }
      score.misses.push_back(name + " flow " + e.line_number + " [" + e.label + ", QUIC ver " +
                             (e.quic_version.empty() ? "?" : e.quic_version) + "]: expected '" +
                             e.sni + "', got '" + ours + "' (" + status + ")");
    } else if (!ours.empty()) {
      ++score.extras;
      score.misses.push_back(name + " flow " + e.line_number + ": no SNI expected, got '" + ours +
                             "'");
    }
  }
  if (verbose) {
    std::cout << "  " << name << ": " << datagrams->size() << " UDP datagrams, " << expected.size()
              << " UDP flow lines\n";
  }
}

#define SKIP_WITHOUT_CORPUS()                                                              \
  if (!fs::is_directory(corpusDir())) {                                                    \
    GTEST_SKIP() << "\n*** QUIC corpus tests SKIPPED: " << corpusDir()                     \
                 << " does not exist. Set NM_CORPUS_DIR to the folder holding ndpi/. ***"; \
  }

TEST(QuicCorpus, SniMatchRateOverTheQuicCapturesIsAtLeast90Percent) {
  SKIP_WITHOUT_CORPUS();
  Score score;
  for (const char* name : {"quic.pcap", "quic-29.pcap", "quic_interop_V.pcapng", "quic-27.pcap",
                           "quic_frags_ch_in_multiple_packets.pcapng",
                           "quic_frags_ch_out_of_order_same_packet_craziness.pcapng"}) {
    scoreCapture(name, score, true);
  }
  std::cout << "QUIC SNI match: " << score.hits << "/" << score.denominator() << " = "
            << 100.0 * score.rate() << "% (" << score.expected << " flows with an SNI, "
            << score.extras << " extra, " << score.wrong << " wrong, " << score.out_of_scope
            << " misses are gQUIC crypto, out of scope); IETF QUIC only: " << score.hits << "/"
            << score.denominator() - score.out_of_scope << "\n";
  for (const std::string& miss : score.misses) {
    std::cout << "  miss: " << miss << "\n";
  }
  EXPECT_EQ(score.wrong, 0);
  EXPECT_EQ(score.extras, 0);
  EXPECT_GE(score.rate(), 0.90);
  EXPECT_EQ(score.hits, score.denominator() - score.out_of_scope)
      << "every IETF QUIC (and T05x) flow with an SNI should be found";
}

// Every other capture with QUIC in it: no crash, never a wrong name, and a report of what is
// found (T05x, mvfst, 0-RTT, DoQ ...).
TEST(QuicCorpus, OtherQuicCapturesNeverGiveAWrongName) {
  SKIP_WITHOUT_CORPUS();
  Score score;
  for (const char* name : {"quic-28.pcap",
                           "quic-33.pcapng",
                           "quic-34.pcap",
                           "quic-forcing-vn-with-data.pcapng",
                           "quic-fuzz-overflow.pcapng",
                           "quic-mvfst-22_decryption_error.pcap",
                           "quic-mvfst-27.pcapng",
                           "quic-mvfst-exp.pcap",
                           "quic046.pcap",
                           "quic_0RTT.pcap",
                           "quic_cc_ack.pcapng",
                           "quic_crypto_aes_auth_size.pcap",
                           "quic_q43.pcap",
                           "quic_q50.pcap",
                           "quic_sh.pcap",
                           "quic_t50.pcap",
                           "quic_t51.pcap",
                           "doq.pcapng",
                           "doq_adguard.pcapng",
                           "youtube_quic.pcap",
                           "youtubeupload.pcap",
                           "google_meet.pcapng",
                           "snapchat_call_v1.pcapng",
                           "gquic.pcap"}) {
    if (!fs::exists(corpusDir() / name)) {
      continue;
    }
    scoreCapture(name, score, false);
  }
  std::cout << "Other QUIC captures: " << score.hits << "/" << score.denominator()
            << " SNIs matched (" << score.out_of_scope << " misses are gQUIC crypto)\n";
  for (const std::string& miss : score.misses) {
    std::cout << "  miss: " << miss << "\n";
  }
  EXPECT_EQ(score.wrong, 0);
  EXPECT_EQ(score.extras, 0);
}

TEST(QuicCorpus, HelloInTwoInitialPacketsIsReassembled) {
  SKIP_WITHOUT_CORPUS();
  // The .out shows no SNI (the hello has none), so the rate test cannot see this one.
  std::string error;
  const auto datagrams = readUdp(corpusDir() / "quic_frags_ch_in_multiple_packets.pcapng", error);
  ASSERT_TRUE(datagrams.has_value()) << error;
  QuicInitialReassembler r;
  std::vector<ParseStatus> statuses;
  for (const Datagram& d : *datagrams) {
    if (d.dst.port == 4443) {
      statuses.push_back(r.addDatagram(d.payload));
    }
  }
  ASSERT_EQ(statuses.size(), 2U);
  EXPECT_EQ(statuses[0], ParseStatus::kNeedMore);
  EXPECT_EQ(statuses[1], ParseStatus::kFound);
  EXPECT_EQ(r.sni(), "");
  EXPECT_EQ(r.version(), 1U);
}

}  // namespace
}  // namespace nm
