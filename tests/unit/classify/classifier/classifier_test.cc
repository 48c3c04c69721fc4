#include "classify/classifier.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "flow/flow_table.h"
#include "support/packets.h"

namespace nm {
namespace {

using testing::packet;
using testing::PacketSpec;
using testing::reply;

constexpr char kServices[] = R"(
[[service]]
name = "Netflix"
type = "video"
domains = ["netflix.com", "nflxvideo.net"]
prefixes = ["198.51.100.0/24"]

[[service]]
name = "Example Video"
type = "video"
domains = ["video.example"]
)";

// A minimal TLS 1.2 ClientHello record carrying only a server_name extension.
std::vector<uint8_t> clientHello(const std::string& sni) {
  std::vector<uint8_t> ext;
  const auto n = static_cast<uint16_t>(sni.size());
  const uint16_t list_len = n + 3;
  ext = {0x00,
         0x00,
         static_cast<uint8_t>((list_len + 2) >> 8),
         static_cast<uint8_t>(list_len + 2),
         static_cast<uint8_t>(list_len >> 8),
         static_cast<uint8_t>(list_len),
         0x00,
         static_cast<uint8_t>(n >> 8),
         static_cast<uint8_t>(n)};
  ext.insert(ext.end(), sni.begin(), sni.end());
  std::vector<uint8_t> body = {0x03, 0x03};
  body.insert(body.end(), 32, 0x11);                  // random
  body.push_back(0);                                  // session id
  body.insert(body.end(), {0x00, 0x02, 0x13, 0x01});  // one cipher suite
  body.insert(body.end(), {0x01, 0x00});              // null compression
  body.push_back(static_cast<uint8_t>(ext.size() >> 8));
  body.push_back(static_cast<uint8_t>(ext.size()));
  body.insert(body.end(), ext.begin(), ext.end());
  std::vector<uint8_t> hs = {0x01, 0x00, static_cast<uint8_t>(body.size() >> 8),
                             static_cast<uint8_t>(body.size())};
  hs.insert(hs.end(), body.begin(), body.end());
  std::vector<uint8_t> rec = {0x16, 0x03, 0x01, static_cast<uint8_t>(hs.size() >> 8),
                              static_cast<uint8_t>(hs.size())};
  rec.insert(rec.end(), hs.begin(), hs.end());
  return rec;
}

// A DNS response: `name` A `addr` (4 bytes) with `ttl`.
std::vector<uint8_t> dnsResponse(const std::string& name, const std::vector<uint8_t>& addr) {
  std::vector<uint8_t> m = {0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0};
  size_t start = 0;
  while (start <= name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string::npos) {
      dot = name.size();
    }
    m.push_back(static_cast<uint8_t>(dot - start));
    m.insert(m.end(), name.begin() + static_cast<long>(start),
             name.begin() + static_cast<long>(dot));
    start = dot + 1;
  }
  m.push_back(0);
  m.insert(m.end(), {0, 1, 0, 1});                                      // A IN
  m.insert(m.end(), {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4});  // ptr, A IN, ttl 3600
  m.insert(m.end(), addr.begin(), addr.end());
  return m;
}

class ClassifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<std::string> errors;
    ASSERT_TRUE(ServiceMap::parse(kServices, "test", services_, errors)) << errors.size();
    ClassifierConfig config;
    config.ndpi = false;
    classifier_ = std::make_unique<Classifier>(services_, config);
    table_ = std::make_unique<FlowTable>(FlowTableConfig{});
  }
  Flow& feed(const PacketSpec& s, const std::vector<uint8_t>& payload = {}) {
    DecodedPacket p = packet(s);
    p.payload = payload.data();
    p.payload_caplen = p.payload_wire_len = static_cast<uint32_t>(payload.size());
    Flow& f = table_->observe(p);
    classifier_->inspect(f, p);
    return f;
  }
  static std::string service(const Flow& f) { return f.label.service ? *f.label.service : ""; }
  static std::string domain(const Flow& f) { return f.label.domain ? *f.label.domain : ""; }
  static Evidence evidence(const Flow& f) { return static_cast<Evidence>(f.label.evidence); }

  ServiceMap services_;
  std::unique_ptr<Classifier> classifier_;
  std::unique_ptr<FlowTable> table_;
};

TEST_F(ClassifierTest, TlsSniNamesTheServiceAndFreesTheState) {
  PacketSpec syn;
  syn.flags = tcpflag::kSyn;
  syn.seq = 999;
  feed(syn);
  PacketSpec data;
  data.seq = 1000;
  Flow& f = feed(data, clientHello("occ-0-1.nflxvideo.net"));
  EXPECT_TRUE(f.label.decided);
  EXPECT_EQ(service(f), "Netflix");
  EXPECT_EQ(domain(f), "occ-0-1.nflxvideo.net");
  EXPECT_EQ(evidence(f), Evidence::kTlsSni);
  EXPECT_FALSE(f.analysis);
}

TEST_F(ClassifierTest, ClientHelloAcrossSegmentsInAnyOrder) {
  const auto hello = clientHello("www.video.example");
  const size_t cut = hello.size() / 2;
  const std::vector<uint8_t> first(hello.begin(), hello.begin() + static_cast<long>(cut));
  const std::vector<uint8_t> second(hello.begin() + static_cast<long>(cut), hello.end());
  PacketSpec syn;
  syn.flags = tcpflag::kSyn;
  syn.seq = 99;
  feed(syn);
  PacketSpec late;
  late.seq = 100 + static_cast<uint32_t>(cut);
  Flow& f = feed(late, second);  // arrives first
  EXPECT_FALSE(f.label.decided);
  PacketSpec early;
  early.seq = 100;
  feed(early, first);
  EXPECT_TRUE(f.label.decided);
  EXPECT_EQ(service(f), "Example Video");
  EXPECT_EQ(evidence(f), Evidence::kTlsSni);
}

TEST_F(ClassifierTest, DnsAnswersNameLaterFlowsPerClient) {
  PacketSpec query;
  query.proto = ipproto::kUdp;
  query.dst = "192.168.1.1";
  query.dport = 53;
  query.sport = 40000;
  Flow& dns = feed(reply(query), dnsResponse("www.netflix.com", {203, 0, 113, 77}));
  EXPECT_EQ(service(dns), "Netflix");
  EXPECT_EQ(evidence(dns), Evidence::kDnsQuery);

  PacketSpec https;
  https.dst = "203.0.113.77";
  https.t = 1;
  Flow& f = feed(https);
  EXPECT_EQ(service(f), "Netflix");  // provisional, before any SNI
  EXPECT_EQ(domain(f), "www.netflix.com");
  EXPECT_EQ(evidence(f), Evidence::kDnsAnswer);

  PacketSpec other = https;
  other.src = "192.168.1.99";
  Flow& g = feed(other);
  EXPECT_EQ(service(g), "Netflix");
  EXPECT_EQ(evidence(g), Evidence::kDnsAnswerOtherHost);
}

TEST_F(ClassifierTest, HttpHostWhenNoTls) {
  PacketSpec req;
  req.dport = 80;
  const std::string get = "GET / HTTP/1.1\r\nHost: WWW.Netflix.com:80\r\n\r\n";
  Flow& f = feed(req, std::vector<uint8_t>(get.begin(), get.end()));
  EXPECT_TRUE(f.label.decided);
  EXPECT_EQ(service(f), "Netflix");
  EXPECT_EQ(domain(f), "www.netflix.com");
  EXPECT_EQ(evidence(f), Evidence::kHttpHost);
}

TEST_F(ClassifierTest, IpPrefixWhenThereIsNoName) {
  PacketSpec s;
  s.dst = "198.51.100.20";
  s.proto = ipproto::kUdp;
  s.dport = 9000;
  const std::vector<uint8_t> junk = {1, 2, 3, 4};
  Flow& f = feed(s, junk);
  EXPECT_FALSE(f.label.decided);     // not QUIC, but a signature may still show up
  EXPECT_EQ(service(f), "Netflix");  // provisional
  for (int i = 1; i < 8; ++i) {
    feed(s, junk);
  }
  EXPECT_TRUE(f.label.decided);  // payload signatures had their packets
  EXPECT_EQ(service(f), "Netflix");
  EXPECT_EQ(f.label.domain, nullptr);
  EXPECT_EQ(evidence(f), Evidence::kIpPrefix);
}

TEST_F(ClassifierTest, NameWithoutServiceIsOtherAndNothingIsUnknown) {
  PacketSpec named;
  Flow& f = feed(named, clientHello("intranet.corp.example"));
  EXPECT_TRUE(f.label.decided);
  EXPECT_EQ(f.label.service, nullptr);
  EXPECT_EQ(domain(f), "intranet.corp.example");
  EXPECT_EQ(evidence(f), Evidence::kTlsSni);

  PacketSpec silent;
  silent.sport = 1234;
  Flow* g = nullptr;
  for (int i = 0; i < 30; ++i) {
    g = &feed(i % 2 ? reply(silent) : silent);
  }
  EXPECT_TRUE(g->label.decided);
  EXPECT_EQ(g->label.service, nullptr);
  EXPECT_EQ(g->label.domain, nullptr);
  EXPECT_EQ(evidence(*g), Evidence::kNone);
}

TEST_F(ClassifierTest, SocketCacheCarriesASignatureToTheSameLocalSocket) {
  std::vector<std::string> errors;
  ServiceMap services;
  ASSERT_TRUE(ServiceMap::parse(R"([[service]]
name = "Spotify"
type = "audio"
domains = ["spotify.com"]
ndpi = ["Spotify"]
)",
                                "test", services, errors));
  ClassifierConfig config;
  config.ndpi = false;
  Classifier classifier(services, config);
  FlowTable table(FlowTableConfig{});
  auto feedTo = [&](const PacketSpec& spec, const std::string& text) -> Flow& {
    DecodedPacket p = packet(spec);
    p.payload = reinterpret_cast<const uint8_t*>(text.data());
    p.payload_caplen = p.payload_wire_len = static_cast<uint32_t>(text.size());
    Flow& f = table.observe(p);
    classifier.inspect(f, p);
    return f;
  };
  PacketSpec discovery;  // Spotify's LAN discovery broadcast from port 57621
  discovery.proto = ipproto::kUdp;
  discovery.sport = 57621;
  discovery.dst = "192.168.1.255";
  discovery.dport = 57621;
  Flow& a = feedTo(discovery, std::string("SpotUdp0") + std::string(36, '\x01'));
  ASSERT_NE(a.label.service, nullptr);
  EXPECT_EQ(*a.label.service, "Spotify");
  EXPECT_EQ(static_cast<Evidence>(a.label.evidence), Evidence::kPayloadSignature);

  PacketSpec other = discovery;  // same local socket, another peer, no signature
  other.dst = "198.51.100.80";
  other.dport = 4000;
  Flow& b = feedTo(other, "opaque");
  ASSERT_NE(b.label.service, nullptr);
  EXPECT_EQ(*b.label.service, "Spotify");
  EXPECT_EQ(static_cast<Evidence>(b.label.evidence), Evidence::kSocketCache);

  PacketSpec elsewhere = other;  // another local port: nothing carried over
  elsewhere.sport = 40000;
  EXPECT_EQ(feedTo(elsewhere, "opaque").label.service, nullptr);
}

TEST_F(ClassifierTest, FinalizeSettlesUndecidedFlows) {
  PacketSpec s;
  s.dst = "198.51.100.5";
  Flow& f = feed(s);  // TCP, waiting for a ClientHello
  EXPECT_FALSE(f.label.decided);
  EXPECT_EQ(service(f), "Netflix");  // provisional from the prefix
  classifier_->finalize(f);
  EXPECT_TRUE(f.label.decided);
  EXPECT_FALSE(f.analysis);
  EXPECT_EQ(classifier_->stats().flows_decided, 1u);
}

TEST_F(ClassifierTest, HostileBytesNeverDecideWrongly) {
  PacketSpec s;
  const std::vector<uint8_t> bogus = {0x16, 0x03, 0x01, 0xff, 0xff, 0x01, 0xff, 0xff, 0xff};
  Flow& f = feed(s, bogus);
  s.seq = 9;
  feed(s, bogus);
  EXPECT_EQ(f.label.domain, nullptr);
}

}  // namespace
}  // namespace nm
