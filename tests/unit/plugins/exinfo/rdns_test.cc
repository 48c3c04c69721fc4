#include "plugins/exinfo/rdns_resolver.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "support/dnsmasq.h"

namespace nm {
namespace {

using Clock = std::chrono::steady_clock;
using Bytes = std::vector<uint8_t>;

IpAddr ip(const char* text) {
  IpAddr a;
  EXPECT_TRUE(IpAddr::parse(text, a)) << text;
  return a;
}

uint64_t counter(MetricsRegistry& m, const char* name, MetricLabels labels = {}) {
  return m.counter(name, "", std::move(labels)).value();
}
uint64_t answersWith(MetricsRegistry& m, const char* status) {
  return counter(m, "netmicroscope_rdns_answers_total", {{"status", status}});
}
int64_t gauge(MetricsRegistry& m, const char* name) {
  return m.gauge(name, "").value();
}

// Polls `done` until it holds or `seconds` pass.
bool eventually(const std::function<bool()>& done, double seconds = 10) {
  const auto deadline = Clock::now() + std::chrono::duration<double>(seconds);
  while (Clock::now() < deadline) {
    if (done()) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return done();
}

// Drains until `count` answers arrived or the deadline passed.
std::vector<RdnsAnswer> collect(RdnsResolver& r, size_t count, double seconds = 20) {
  std::vector<RdnsAnswer> out;
  eventually(
      [&] {
        r.drain(out);
        return out.size() >= count;
      },
      seconds);
  return out;
}

// ---- DNS message building -------------------------------------------------------------------

void put16(Bytes& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}
void put32(Bytes& b, uint32_t v) {
  put16(b, static_cast<uint16_t>(v >> 16));
  put16(b, static_cast<uint16_t>(v));
}
// Labels of `dotted`; then a pointer to `pointer` when >= 0, else the root label.
void putName(Bytes& b, const std::string& dotted, int pointer = -1) {
  size_t start = 0;
  while (start < dotted.size()) {
    size_t dot = dotted.find('.', start);
    if (dot == std::string::npos) {
      dot = dotted.size();
    }
    b.push_back(static_cast<uint8_t>(dot - start));
    b.insert(b.end(), dotted.begin() + static_cast<long>(start),
             dotted.begin() + static_cast<long>(dot));
    start = dot + 1;
  }
  if (pointer >= 0) {
    put16(b, static_cast<uint16_t>(0xc000 | pointer));
  } else {
    b.push_back(0);
  }
}
void putHeader(Bytes& b, uint16_t flags, uint16_t qd, uint16_t an, uint16_t ns, uint16_t ar) {
  put16(b, 0x1234);
  put16(b, flags);
  put16(b, qd);
  put16(b, an);
  put16(b, ns);
  put16(b, ar);
}
void putQuestion(Bytes& b, const std::string& name, uint16_t type = 12) {
  putName(b, name);
  put16(b, type);
  put16(b, 1);
}
// Record header after the owner name; returns the offset of the rdlength to patch.
size_t putRecordHead(Bytes& b, uint16_t type, uint32_t ttl) {
  put16(b, type);
  put16(b, 1);
  put32(b, ttl);
  const size_t at = b.size();
  put16(b, 0);
  return at;
}
void patchLength(Bytes& b, size_t at) {
  const size_t len = b.size() - at - 2;
  b[at] = static_cast<uint8_t>(len >> 8);
  b[at + 1] = static_cast<uint8_t>(len);
}

constexpr uint16_t kResponse = 0x8180;  // QR, RD, RA, NOERROR
constexpr int kQuestionName = 12;       // offset of the question's name

RdnsAnswer parse(const Bytes& b, uint32_t negative_ttl = 999) {
  return parsePtrResponse(b.data(), b.size(), negative_ttl);
}

// A PTR answer whose target is "host" + a pointer to "in-addr.arpa" inside the question name.
Bytes compressedPtr(uint32_t ttl) {
  Bytes b;
  putHeader(b, kResponse, 1, 1, 0, 0);
  putQuestion(b, "1.2.0.192.in-addr.arpa");
  put16(b, 0xc000 | kQuestionName);
  const size_t len = putRecordHead(b, 12, ttl);
  putName(b, "host", kQuestionName + 2 + 2 + 2 + 4);  // past "1", "2", "0", "192"
  patchLength(b, len);
  return b;
}

// RFC 2317: 1.2.0.192.in-addr.arpa CNAME 1.0/25.2.0.192.in-addr.arpa, which has the PTR; plus an
// authority NS and an additional A record so that truncation hits every section.
Bytes classlessDelegation() {
  Bytes b;
  putHeader(b, kResponse, 1, 2, 1, 1);
  putQuestion(b, "1.2.0.192.in-addr.arpa");
  put16(b, 0xc000 | kQuestionName);
  size_t len = putRecordHead(b, 5, 4000);
  const size_t cname_target = b.size();
  putName(b, "1.0/25", kQuestionName + 2);  // + "2.0.192.in-addr.arpa"
  patchLength(b, len);
  put16(b, static_cast<uint16_t>(0xc000 | cname_target));
  len = putRecordHead(b, 12, 1800);
  putName(b, "web.example.org");
  patchLength(b, len);
  put16(b, 0xc000 | (kQuestionName + 2 + 2 + 2));  // "192.in-addr.arpa"
  len = putRecordHead(b, 2, 86400);
  putName(b, "ns.example.org");
  patchLength(b, len);
  putName(b, "ns.example.org");
  len = putRecordHead(b, 1, 86400);
  put32(b, 0xc0000201);
  patchLength(b, len);
  return b;
}

Bytes negativeWithSoa(uint16_t rcode, uint32_t soa_ttl, uint32_t minimum) {
  Bytes b;
  putHeader(b, static_cast<uint16_t>(kResponse | rcode), 1, 0, 1, 0);
  putQuestion(b, "9.9.9.9.in-addr.arpa");
  put16(b, 0xc000 | (kQuestionName + 2 + 2 + 2));  // "9.in-addr.arpa"
  const size_t len = putRecordHead(b, 6, soa_ttl);
  putName(b, "ns.example.org");
  putName(b, "hostmaster.example.org");
  put32(b, 2024010101);  // serial
  put32(b, 7200);        // refresh
  put32(b, 900);         // retry
  put32(b, 1209600);     // expire
  put32(b, minimum);
  patchLength(b, len);
  return b;
}

// ---- reverseName / parsePtrResponse ---------------------------------------------------------

TEST(RdnsReverseName, Ipv4AndIpv6) {
  EXPECT_EQ(reverseName(ip("192.0.2.1")), "1.2.0.192.in-addr.arpa");
  EXPECT_EQ(reverseName(ip("10.0.0.255")), "255.0.0.10.in-addr.arpa");
  EXPECT_EQ(reverseName(ip("2001:db8::7")),
            "7.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
  EXPECT_EQ(reverseName(ip("fe80::aBcD")),
            "d.c.b.a.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.e.f.ip6.arpa");
  EXPECT_EQ(reverseName(IpAddr{}), "");
}

TEST(RdnsParse, CompressedPtrTarget) {
  const RdnsAnswer a = parse(compressedPtr(321));
  EXPECT_EQ(a.status, RdnsStatus::kName) << a.error;
  EXPECT_EQ(a.name, "host.in-addr.arpa");
  EXPECT_EQ(a.ttl_s, 321u);
}

TEST(RdnsParse, CnameThenPtrAsInRfc2317) {
  const RdnsAnswer a = parse(classlessDelegation());
  EXPECT_EQ(a.status, RdnsStatus::kName) << a.error;
  EXPECT_EQ(a.name, "web.example.org");
  EXPECT_EQ(a.ttl_s, 1800u);  // the PTR's TTL, not the CNAME's
}

TEST(RdnsParse, FirstPtrNameAndSmallestPtrTtl) {
  Bytes b;
  putHeader(b, kResponse, 1, 2, 0, 0);
  putQuestion(b, "1.2.0.192.in-addr.arpa");
  put16(b, 0xc000 | kQuestionName);
  size_t len = putRecordHead(b, 12, 500);
  putName(b, "first.example.org");
  patchLength(b, len);
  put16(b, 0xc000 | kQuestionName);
  len = putRecordHead(b, 12, 0x8000'0001);  // top bit set: counts as 0 (RFC 2181)
  putName(b, "second.example.org");
  patchLength(b, len);
  const RdnsAnswer a = parse(b);
  EXPECT_EQ(a.status, RdnsStatus::kName) << a.error;
  EXPECT_EQ(a.name, "first.example.org");
  EXPECT_EQ(a.ttl_s, 0u);
}

TEST(RdnsParse, PointerLoopsAreMalformed) {
  // The PTR target points at itself.
  Bytes self;
  putHeader(self, kResponse, 1, 1, 0, 0);
  putQuestion(self, "1.2.0.192.in-addr.arpa");
  put16(self, 0xc000 | kQuestionName);
  size_t len = putRecordHead(self, 12, 60);
  put16(self, static_cast<uint16_t>(0xc000 | self.size()));
  patchLength(self, len);
  RdnsAnswer a = parse(self);
  EXPECT_EQ(a.status, RdnsStatus::kFailed);
  EXPECT_FALSE(a.error.empty());

  // Two labels pointing at each other.
  Bytes pair;
  putHeader(pair, kResponse, 1, 1, 0, 0);
  putQuestion(pair, "1.2.0.192.in-addr.arpa");
  put16(pair, 0xc000 | kQuestionName);
  len = putRecordHead(pair, 12, 60);
  const size_t first = pair.size();
  pair.push_back(1);
  pair.push_back('a');
  put16(pair, static_cast<uint16_t>(0xc000 | (first + 4)));
  pair.push_back(1);
  pair.push_back('b');
  put16(pair, static_cast<uint16_t>(0xc000 | first));
  patchLength(pair, len);
  a = parse(pair);
  EXPECT_EQ(a.status, RdnsStatus::kFailed);
  EXPECT_FALSE(a.error.empty());
}

// A PTR answer for the question with `rdata` as the target, raw.
Bytes ptrWithRawTarget(const Bytes& rdata) {
  Bytes b;
  putHeader(b, kResponse, 1, 1, 0, 0);
  putQuestion(b, "1.2.0.192.in-addr.arpa");
  put16(b, 0xc000 | kQuestionName);
  const size_t len = putRecordHead(b, 12, 60);
  b.insert(b.end(), rdata.begin(), rdata.end());
  patchLength(b, len);
  return b;
}

TEST(RdnsParse, PtrTargetMustBeAHostName) {
  EXPECT_EQ(parse(ptrWithRawTarget({3, 'w', '_', '1', 2, 'e', '-', 0})).name, "w_1.e-");
  // c-ares 1.18 would expand "a" + a label holding one NUL byte to "a.", losing the label.
  EXPECT_EQ(parse(ptrWithRawTarget({1, 'a', 1, 0, 0})).status, RdnsStatus::kFailed);
  // Bytes c-ares escapes ("a\.b", "a\032b") are no host name to show.
  EXPECT_EQ(parse(ptrWithRawTarget({3, 'a', '.', 'b', 0})).status, RdnsStatus::kFailed);
  EXPECT_EQ(parse(ptrWithRawTarget({3, 'a', ' ', 'b', 0})).status, RdnsStatus::kFailed);
  EXPECT_EQ(parse(ptrWithRawTarget({0})).status, RdnsStatus::kFailed);  // the root
  // What the fuzzer found first: an escaped '.' ending the name, then a NUL label.
  const Bytes crasher = {0x43, 0x42, 0x85, 0x80, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
                         0x00, 0x00, 0x17, 0x00, 0x01, 0xc0, 0x0c, 0x00, 0x0c, 0x00, 0x01, 0x00,
                         0x00, 0x01, 0x41, 0x00, 0x11, 0x0d, 0x77, 0x65, 0x62, 0x07, 0x65, 0x5d,
                         0x70, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2e, 0x01, 0x00, 0x00};
  const RdnsAnswer a = parse(crasher);
  EXPECT_EQ(a.status, RdnsStatus::kFailed) << a.name;
  EXPECT_TRUE(a.name.empty());
}

TEST(RdnsParse, EveryTruncationFails) {
  for (const Bytes& full :
       {classlessDelegation(), compressedPtr(60), negativeWithSoa(3, 900, 300)}) {
    ASSERT_NE(parse(full).status, RdnsStatus::kFailed);
    for (size_t cut = 0; cut < full.size(); ++cut) {
      const Bytes part(full.begin(), full.begin() + static_cast<long>(cut));
      const RdnsAnswer a = parsePtrResponse(part.data(), part.size(), 60);
      EXPECT_EQ(a.status, RdnsStatus::kFailed) << "cut at " << cut;
      EXPECT_FALSE(a.error.empty()) << "cut at " << cut;
    }
  }
  EXPECT_EQ(parsePtrResponse(nullptr, 0, 60).status, RdnsStatus::kFailed);
}

TEST(RdnsParse, RdlengthBeyondTheMessageFails) {
  Bytes b = compressedPtr(60);
  b[b.size() - 8] = 0xff;  // rdlength low byte (rdata: "host" label + pointer = 7 bytes)
  EXPECT_EQ(parse(b).status, RdnsStatus::kFailed);
}

TEST(RdnsParse, NegativeTtlFromSoa) {
  RdnsAnswer a = parse(negativeWithSoa(3, 900, 300), 999);
  EXPECT_EQ(a.status, RdnsStatus::kNoName) << a.error;
  EXPECT_EQ(a.ttl_s, 300u);  // MINIMUM below the SOA's TTL
  a = parse(negativeWithSoa(3, 200, 300), 999);
  EXPECT_EQ(a.status, RdnsStatus::kNoName);
  EXPECT_EQ(a.ttl_s, 200u);                      // the SOA's TTL below MINIMUM
  a = parse(negativeWithSoa(0, 900, 450), 999);  // NOERROR, no answer: NODATA
  EXPECT_EQ(a.status, RdnsStatus::kNoName);
  EXPECT_EQ(a.ttl_s, 450u);
}

TEST(RdnsParse, NegativeWithoutSoaUsesTheDefault) {
  Bytes b;
  putHeader(b, kResponse | 3, 1, 0, 0, 0);
  putQuestion(b, "9.9.9.9.in-addr.arpa");
  RdnsAnswer a = parse(b, 777);
  EXPECT_EQ(a.status, RdnsStatus::kNoName);
  EXPECT_EQ(a.ttl_s, 777u);
  EXPECT_TRUE(a.name.empty());

  // A CNAME and no PTR is no name either.
  Bytes c;
  putHeader(c, kResponse, 1, 1, 0, 0);
  putQuestion(c, "9.9.9.9.in-addr.arpa");
  put16(c, 0xc000 | kQuestionName);
  const size_t len = putRecordHead(c, 5, 60);
  putName(c, "elsewhere.example.org");
  patchLength(c, len);
  a = parse(c, 778);
  EXPECT_EQ(a.status, RdnsStatus::kNoName);
  EXPECT_EQ(a.ttl_s, 778u);
}

TEST(RdnsParse, ErrorRcodesAndQueriesFail) {
  std::map<int, std::string> errors;
  for (int rcode : {1, 2, 4, 5, 9}) {
    Bytes b;
    putHeader(b, static_cast<uint16_t>(kResponse | rcode), 1, 0, 0, 0);
    putQuestion(b, "1.2.0.192.in-addr.arpa");
    const RdnsAnswer a = parse(b);
    EXPECT_EQ(a.status, RdnsStatus::kFailed) << rcode;
    errors[rcode] = a.error;
  }
  EXPECT_NE(errors[2], errors[5]);  // SERVFAIL and REFUSED say different things
  EXPECT_NE(errors[2].find("failure"), std::string::npos) << errors[2];
  EXPECT_NE(errors[5].find("refused"), std::string::npos) << errors[5];

  Bytes query = compressedPtr(60);
  query[2] = static_cast<uint8_t>(query[2] & 0x7f);  // QR clear: a query, not a response
  const RdnsAnswer a = parse(query);
  EXPECT_EQ(a.status, RdnsStatus::kFailed);
  EXPECT_NE(a.error.find("QR"), std::string::npos) << a.error;
}

// The fuzzer's seeds are real dnsmasq answers (fuzz/seeds-fuzz_rdns_answer/).
Bytes readSeed(const char* name) {
  const std::string path = std::string(NM_RDNS_SEEDS) + "/" + name;
  Bytes b;
  if (FILE* f = std::fopen(path.c_str(), "rb")) {
    uint8_t buf[4096];
    size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) {
      b.insert(b.end(), buf, buf + n);
    }
    std::fclose(f);
  }
  EXPECT_FALSE(b.empty()) << path;
  return b;
}

TEST(RdnsParse, CapturedDnsmasqAnswers) {
  RdnsAnswer a = parse(readSeed("dnsmasq_ptr_v4"));
  EXPECT_EQ(a.status, RdnsStatus::kName) << a.error;
  EXPECT_EQ(a.name, "web.example.org");
  EXPECT_EQ(a.ttl_s, 321u);
  a = parse(readSeed("dnsmasq_ptr_v6"));
  EXPECT_EQ(a.name, "v6.example.net") << a.error;
  a = parse(readSeed("dnsmasq_nxdomain"), 555);
  EXPECT_EQ(a.status, RdnsStatus::kNoName) << a.error;
  EXPECT_EQ(a.ttl_s, 555u);
}

// ---- token bucket ---------------------------------------------------------------------------

constexpr int64_t kMs = 1'000'000;

TEST(RdnsTokenBucketTest, BurstThenEmpty) {
  RdnsTokenBucket bucket(5, 0);
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(bucket.tryTake(0)) << i;
  }
  EXPECT_FALSE(bucket.tryTake(0));
  EXPECT_EQ(bucket.nsUntilToken(0), 200 * kMs);
}

TEST(RdnsTokenBucketTest, RefillsAtTheRateUpToTheBurst) {
  RdnsTokenBucket bucket(5, 0);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(bucket.tryTake(0));
  }
  EXPECT_FALSE(bucket.tryTake(199 * kMs));
  EXPECT_EQ(bucket.nsUntilToken(199 * kMs), 1 * kMs);
  EXPECT_TRUE(bucket.tryTake(200 * kMs));
  EXPECT_FALSE(bucket.tryTake(200 * kMs));
  // A long idle spell refills to the burst, not beyond.
  int taken = 0;
  while (bucket.tryTake(3'600'000 * kMs)) {
    ++taken;
  }
  EXPECT_EQ(taken, 5);
  // Time going backwards adds nothing.
  EXPECT_FALSE(bucket.tryTake(1 * kMs));
}

TEST(RdnsTokenBucketTest, SlowRateHasBurstOne) {
  RdnsTokenBucket bucket(0.5, 0);
  EXPECT_TRUE(bucket.tryTake(0));
  EXPECT_FALSE(bucket.tryTake(0));
  const int64_t wait = bucket.nsUntilToken(0);
  EXPECT_EQ(wait, 2'000 * kMs);
  EXPECT_FALSE(bucket.tryTake(wait - 1));
  EXPECT_TRUE(bucket.tryTake(wait));
  EXPECT_TRUE(bucket.tryTake(10'000 * kMs + wait));  // idle 10 s: still only one
  EXPECT_FALSE(bucket.tryTake(10'000 * kMs + wait));
}

TEST(RdnsTokenBucketTest, NoOverspendOverTime) {
  // Taking greedily every millisecond for 10 s at 20/s: the burst plus what 10 s refill.
  RdnsTokenBucket bucket(20, 0);
  int taken = 0;
  for (int64_t t = 0; t <= 10'000 * kMs; t += kMs) {
    while (bucket.tryTake(t)) {
      ++taken;
    }
  }
  EXPECT_EQ(taken, 20 + 200);
  // Waking exactly when nsUntilToken() says always finds a token, and a nanosecond earlier none.
  int64_t t = 20'000 * kMs;
  for (int i = 0; i < 1000; ++i) {
    t += (i % 13) * kMs;
    const int64_t wait = bucket.nsUntilToken(t);
    if (wait > 0) {
      ASSERT_FALSE(bucket.tryTake(t + wait - 1)) << i;
    }
    t += wait;
    ASSERT_TRUE(bucket.tryTake(t)) << i;
  }
}

// ---- against real servers -------------------------------------------------------------------

uint16_t boundPort(int fd) {
  sockaddr_in addr{};
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  return ntohs(addr.sin_port);
}

int udpSocketOnLoopback() {
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ADD_FAILURE() << "cannot bind a UDP socket on 127.0.0.1";
  }
  return fd;
}

// A port with nothing listening on it (for ICMP port unreachable).
uint16_t freeUdpPort() {
  const int fd = udpSocketOnLoopback();
  const uint16_t port = boundPort(fd);
  close(fd);
  return port;
}

// A UDP socket that receives queries and never answers them.
class BlackHole {
 public:
  BlackHole() : fd_(udpSocketOnLoopback()), port_(boundPort(fd_)) {}
  ~BlackHole() { close(fd_); }
  std::string servers() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_;
  uint16_t port_;
};

class RdnsServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!test::Dnsmasq::available()) {
      GTEST_SKIP() << test::Dnsmasq::kBinary << " is missing (Debian package dnsmasq-base): "
                   << "skipping the tests against a DNS server";
    }
    std::string why;
    ASSERT_TRUE(dns_.start(
        {"--ptr-record=1.2.0.192.in-addr.arpa,web.example.org",
         "--host-record=big.example.net,198.51.100.7", "--host-record=v6.example.net,2001:db8::7"},
        321, why))
        << why;
    options_.servers = dns_.server();
    options_.timeout_ms = 1'000;
    options_.tries = 2;
    options_.queries_per_second = 1'000;
  }
  void TearDown() override { dns_.stop(); }

  std::unique_ptr<RdnsResolver> start() {
    std::string error;
    auto r = RdnsResolver::start(options_, metrics_, error);
    EXPECT_NE(r, nullptr) << error;
    return r;
  }

  // One lookup through a fresh resolver.
  RdnsAnswer lookup(const char* address) {
    auto r = start();
    if (r == nullptr) {
      return {};
    }
    EXPECT_TRUE(r->request(ip(address)));
    const auto out = collect(*r, 1);
    EXPECT_EQ(out.size(), 1u) << address;
    return out.empty() ? RdnsAnswer{} : out.front();
  }

  test::Dnsmasq dns_;
  RdnsOptions options_;
  MetricsRegistry metrics_;
};

TEST_F(RdnsServerTest, Ipv4NameWithTtl) {
  const RdnsAnswer a = lookup("192.0.2.1");
  EXPECT_EQ(a.ip, ip("192.0.2.1"));
  EXPECT_EQ(a.status, RdnsStatus::kName) << a.error;
  EXPECT_EQ(a.name, "web.example.org");
  EXPECT_EQ(a.ttl_s, 321u);
  EXPECT_EQ(counter(metrics_, "netmicroscope_rdns_queries_total"), 1u);
  EXPECT_EQ(answersWith(metrics_, "name"), 1u);
  EXPECT_EQ(gauge(metrics_, "netmicroscope_rdns_in_flight"), 0);
  EXPECT_EQ(gauge(metrics_, "netmicroscope_rdns_queued"), 0);
}

TEST_F(RdnsServerTest, HostRecordPtr) {
  const RdnsAnswer a = lookup("198.51.100.7");
  EXPECT_EQ(a.status, RdnsStatus::kName) << a.error;
  EXPECT_EQ(a.name, "big.example.net");
  EXPECT_EQ(a.ttl_s, 321u);
}

TEST_F(RdnsServerTest, Ipv6Ptr) {
  const RdnsAnswer a = lookup("2001:db8::7");
  EXPECT_EQ(a.ip, ip("2001:db8::7"));
  EXPECT_EQ(a.status, RdnsStatus::kName) << a.error;
  EXPECT_EQ(a.name, "v6.example.net");
}

TEST_F(RdnsServerTest, NxDomainIsNoNameWithTheNegativeTtl) {
  options_.negative_ttl_s = 777;
  const RdnsAnswer a = lookup("9.9.9.9");
  EXPECT_EQ(a.status, RdnsStatus::kNoName) << a.error;
  EXPECT_EQ(a.ttl_s, 777u);
  EXPECT_TRUE(a.name.empty());
  EXPECT_EQ(answersWith(metrics_, "no_name"), 1u);
}

TEST_F(RdnsServerTest, TtlClampedToTheBounds) {
  options_.min_ttl_s = 1'000;
  options_.max_ttl_s = 5'000;
  EXPECT_EQ(lookup("192.0.2.1").ttl_s, 1'000u);
  options_.min_ttl_s = 10;
  options_.max_ttl_s = 100;
  EXPECT_EQ(lookup("192.0.2.1").ttl_s, 100u);
  options_.negative_ttl_s = 5;  // below min_ttl_s
  EXPECT_EQ(lookup("9.9.9.9").ttl_s, 10u);
}

TEST_F(RdnsServerTest, ManyAddressesEachAnsweredOnce) {
  options_.max_in_flight = 4;
  auto r = start();
  ASSERT_NE(r, nullptr);
  std::vector<IpAddr> asked;
  for (int i = 0; i < 200; ++i) {
    const std::string text = "10.0." + std::to_string(i / 100) + "." + std::to_string(i % 100);
    asked.push_back(ip(text.c_str()));
  }
  asked.push_back(ip("192.0.2.1"));
  for (const IpAddr& a : asked) {
    ASSERT_TRUE(r->request(a));
  }
  const auto out = collect(*r, asked.size(), 60);
  ASSERT_EQ(out.size(), asked.size());
  std::map<IpAddr, int> seen;
  for (const RdnsAnswer& a : out) {
    ++seen[a.ip];
    const bool named = a.ip == ip("192.0.2.1");
    EXPECT_EQ(a.status, named ? RdnsStatus::kName : RdnsStatus::kNoName)
        << a.ip.toString() << ": " << a.error;
  }
  for (const IpAddr& a : asked) {
    EXPECT_EQ(seen[a], 1) << a.toString();
  }
  EXPECT_EQ(r->pending(), 0u);
  EXPECT_EQ(counter(metrics_, "netmicroscope_rdns_queries_total"), asked.size());
  std::vector<RdnsAnswer> more;
  r->drain(more);
  EXPECT_TRUE(more.empty());
}

TEST_F(RdnsServerTest, DuplicateRequestsAreMerged) {
  options_.queries_per_second = 1;  // burst 1: 9.9.9.9 takes it, 192.0.2.1 waits a second
  auto r = start();
  ASSERT_NE(r, nullptr);
  ASSERT_TRUE(r->request(ip("9.9.9.9")));
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(r->request(ip("192.0.2.1")));
  }
  EXPECT_GE(r->pending(), 1u);
  EXPECT_LE(r->pending(), 2u);
  // 192.0.2.1 waits once in the queue (9.9.9.9 may still be there too), not three times.
  EXPECT_LE(gauge(metrics_, "netmicroscope_rdns_queued"), 2);
  const auto out = collect(*r, 2);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_NE(out[0].ip, out[1].ip);
  EXPECT_EQ(r->pending(), 0u);
  EXPECT_EQ(counter(metrics_, "netmicroscope_rdns_queries_total"), 2u);
}

TEST_F(RdnsServerTest, ServerKilledMeansFailed) {
  options_.timeout_ms = 300;
  options_.min_ttl_s = 42;
  auto r = start();
  ASSERT_NE(r, nullptr);
  ASSERT_TRUE(r->request(ip("192.0.2.1")));
  ASSERT_EQ(collect(*r, 1).size(), 1u);
  dns_.stop();
  ASSERT_TRUE(r->request(ip("198.51.100.7")));
  const auto out = collect(*r, 1);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].status, RdnsStatus::kFailed);
  EXPECT_FALSE(out[0].error.empty());
  EXPECT_EQ(out[0].ttl_s, 42u);
  EXPECT_EQ(answersWith(metrics_, "failed"), 1u);
}

TEST_F(RdnsServerTest, ResolveNow) {
  std::string error;
  const auto a = RdnsResolver::resolveNow(ip("192.0.2.1"), options_, error);
  ASSERT_TRUE(a.has_value()) << error;
  EXPECT_EQ(a->status, RdnsStatus::kName) << a->error;
  EXPECT_EQ(a->name, "web.example.org");
  EXPECT_EQ(a->ttl_s, 321u);
  const auto b = RdnsResolver::resolveNow(ip("9.9.9.9"), options_, error);
  ASSERT_TRUE(b.has_value()) << error;
  EXPECT_EQ(b->status, RdnsStatus::kNoName);
}

// A DNS server on a loopback UDP port that answers every query with what `respond` makes of it
// (the query's ID and question are copied by the caller's builder via respondTo()).
class FakeDns {
 public:
  using Responder = std::function<Bytes(const Bytes& query)>;
  explicit FakeDns(Responder respond)
      : fd_(udpSocketOnLoopback()), port_(boundPort(fd_)), respond_(std::move(respond)) {
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeDns() {
    stop_ = true;
    thread_.join();
    close(fd_);
  }
  std::string servers() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  void serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 20) != 1) {
        continue;
      }
      uint8_t buf[512];
      sockaddr_in from{};
      socklen_t len = sizeof from;
      const ssize_t n = recvfrom(fd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
      if (n < 12) {
        continue;
      }
      const Bytes reply = respond_(Bytes(buf, buf + n));
      sendto(fd_, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&from), len);
    }
  }

  int fd_;
  uint16_t port_;
  Responder respond_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// The reply's header (query's ID, `flags`, the counts) and the query's question, copied.
Bytes replyHeader(const Bytes& query, uint16_t flags, uint16_t an, uint16_t ns) {
  Bytes b;
  put16(b, static_cast<uint16_t>(query[0] << 8 | query[1]));
  put16(b, flags);
  put16(b, 1);
  put16(b, an);
  put16(b, ns);
  put16(b, 0);
  size_t end = 12;
  while (end < query.size() && query[end] != 0) {
    end += size_t{query[end]} + 1;
  }
  end = std::min(query.size(), end + 1 + 4);
  b.insert(b.end(), query.begin() + 12, query.begin() + static_cast<long>(end));
  return b;
}

RdnsAnswer fakeLookup(const FakeDns& dns, RdnsOptions o = {}) {
  o.servers = dns.servers();
  o.timeout_ms = 1'000;
  o.tries = 1;
  std::string error;
  const auto a = RdnsResolver::resolveNow(ip("192.0.2.1"), o, error);
  EXPECT_TRUE(a.has_value()) << error;
  return a.value_or(RdnsAnswer{});
}

TEST(RdnsFakeServerTest, NxDomainSoaTtlReachesTheAnswer) {
  // c-ares reports NXDOMAIN as ARES_ENOTFOUND and still hands over the message with its SOA.
  FakeDns dns([](const Bytes& q) {
    Bytes b = replyHeader(q, kResponse | 3, 0, 1);
    put16(b, 0xc000 | kQuestionName);
    const size_t len = putRecordHead(b, 6, 900);
    putName(b, "ns.example.org");
    putName(b, "hostmaster.example.org");
    for (uint32_t v : {1u, 7200u, 900u, 1209600u, 300u}) {
      put32(b, v);
    }
    patchLength(b, len);
    return b;
  });
  RdnsOptions o;
  o.negative_ttl_s = 777;
  const RdnsAnswer a = fakeLookup(dns, o);
  EXPECT_EQ(a.status, RdnsStatus::kNoName) << a.error;
  EXPECT_EQ(a.ttl_s, 300u);
}

TEST(RdnsFakeServerTest, ClasslessDelegationCnameThenPtr) {
  FakeDns dns([](const Bytes& q) {
    Bytes b = replyHeader(q, kResponse, 2, 0);
    put16(b, 0xc000 | kQuestionName);
    size_t len = putRecordHead(b, 5, 4000);
    const size_t target = b.size();
    putName(b, "1.0/25", kQuestionName + 2);
    patchLength(b, len);
    put16(b, static_cast<uint16_t>(0xc000 | target));
    len = putRecordHead(b, 12, 1800);
    putName(b, "classless.example.org");
    patchLength(b, len);
    return b;
  });
  const RdnsAnswer a = fakeLookup(dns);
  EXPECT_EQ(a.status, RdnsStatus::kName) << a.error;
  EXPECT_EQ(a.name, "classless.example.org");
  EXPECT_EQ(a.ttl_s, 1800u);
}

TEST(RdnsFakeServerTest, ServfailAndRefusedAreFailed) {
  for (uint16_t rcode : {uint16_t{2}, uint16_t{5}}) {
    FakeDns dns([rcode](const Bytes& q) {
      return replyHeader(q, static_cast<uint16_t>(kResponse | rcode), 0, 0);
    });
    RdnsOptions o;
    o.min_ttl_s = 33;
    const RdnsAnswer a = fakeLookup(dns, o);
    EXPECT_EQ(a.status, RdnsStatus::kFailed) << rcode;
    EXPECT_EQ(a.ttl_s, 33u);
    // c-ares 1.18 tries the other servers on SERVFAIL/REFUSED and, when all said so, reports
    // ARES_ECONNREFUSED ("Could not contact DNS servers"), not the rcode.
    EXPECT_FALSE(a.error.empty());
    EXPECT_NE(a.error, "timed out");
  }
}

RdnsOptions silentServerOptions(const BlackHole& hole) {
  RdnsOptions o;
  o.servers = hole.servers();
  o.timeout_ms = 10'000;
  o.tries = 3;
  o.queries_per_second = 1'000;
  return o;
}

TEST(RdnsResolverTest, QueueLimitRefusesAndCounts) {
  BlackHole hole;
  RdnsOptions o = silentServerOptions(hole);
  o.max_queued = 5;
  MetricsRegistry metrics;
  std::string error;
  auto r = RdnsResolver::start(o, metrics, error);
  ASSERT_NE(r, nullptr) << error;
  for (int i = 1; i <= 5; ++i) {
    const std::string text = "10.1.0." + std::to_string(i);
    EXPECT_TRUE(r->request(ip(text.c_str()))) << i;
  }
  EXPECT_FALSE(r->request(ip("10.1.0.6")));
  EXPECT_EQ(counter(metrics, "netmicroscope_rdns_refused_total"), 1u);
  EXPECT_TRUE(r->request(ip("10.1.0.3")));  // already pending: merged, not refused
  EXPECT_EQ(counter(metrics, "netmicroscope_rdns_refused_total"), 1u);
  EXPECT_EQ(r->pending(), 5u);
}

TEST(RdnsResolverTest, InFlightCapHolds) {
  BlackHole hole;
  RdnsOptions o = silentServerOptions(hole);
  o.max_in_flight = 4;
  MetricsRegistry metrics;
  std::string error;
  auto r = RdnsResolver::start(o, metrics, error);
  ASSERT_NE(r, nullptr) << error;
  for (int i = 1; i <= 10; ++i) {
    const std::string text = "10.2.0." + std::to_string(i);
    ASSERT_TRUE(r->request(ip(text.c_str())));
  }
  // Were the cap ignored, all ten would be in flight and none queued.
  EXPECT_TRUE(eventually([&] {
    return gauge(metrics, "netmicroscope_rdns_in_flight") == 4 &&
           gauge(metrics, "netmicroscope_rdns_queued") == 6;
  })) << gauge(metrics, "netmicroscope_rdns_in_flight")
      << " in flight, " << gauge(metrics, "netmicroscope_rdns_queued") << " queued";
  EXPECT_EQ(counter(metrics, "netmicroscope_rdns_queries_total"), 4u);
  EXPECT_EQ(r->pending(), 10u);
}

TEST(RdnsResolverTest, RateLimitHoldsBackBeyondTheBurst) {
  BlackHole hole;
  RdnsOptions o = silentServerOptions(hole);
  o.queries_per_second = 0.001;  // burst 1, the next token in 1000 s
  MetricsRegistry metrics;
  std::string error;
  auto r = RdnsResolver::start(o, metrics, error);
  ASSERT_NE(r, nullptr) << error;
  for (int i = 1; i <= 3; ++i) {
    const std::string text = "10.3.0." + std::to_string(i);
    ASSERT_TRUE(r->request(ip(text.c_str())));
  }
  ASSERT_TRUE(eventually([&] { return gauge(metrics, "netmicroscope_rdns_in_flight") == 1; }));
  EXPECT_EQ(counter(metrics, "netmicroscope_rdns_queries_total"), 1u);
  EXPECT_EQ(gauge(metrics, "netmicroscope_rdns_queued"), 2);
}

TEST(RdnsResolverTest, ServerDownFailsQuickly) {
  RdnsOptions o;
  o.servers = "127.0.0.1:" + std::to_string(freeUdpPort());
  o.timeout_ms = 5'000;  // a refusal must not wait for it
  o.tries = 2;
  MetricsRegistry metrics;
  std::string error;
  auto r = RdnsResolver::start(o, metrics, error);
  ASSERT_NE(r, nullptr) << error;
  const auto begin = Clock::now();
  ASSERT_TRUE(r->request(ip("192.0.2.1")));
  const auto out = collect(*r, 1);
  const double seconds = std::chrono::duration<double>(Clock::now() - begin).count();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].status, RdnsStatus::kFailed);
  EXPECT_FALSE(out[0].error.empty());
  EXPECT_EQ(out[0].ttl_s, o.min_ttl_s);
  EXPECT_LT(seconds, 4.5) << "waited for the timeout instead of the refusal: " << out[0].error;
  EXPECT_EQ(answersWith(metrics, "failed"), 1u);
  EXPECT_EQ(r->pending(), 0u);
}

TEST(RdnsResolverTest, SilentServerTimesOut) {
  BlackHole hole;
  RdnsOptions o = silentServerOptions(hole);
  o.timeout_ms = 100;
  o.tries = 1;
  std::string error;
  const auto a = RdnsResolver::resolveNow(ip("192.0.2.1"), o, error);
  ASSERT_TRUE(a.has_value()) << error;
  EXPECT_EQ(a->status, RdnsStatus::kFailed);
  EXPECT_FALSE(a->error.empty());
  EXPECT_NE(a->error, "timed out");  // c-ares' own timeout, well within resolveNow's deadline
}

TEST(RdnsResolverTest, DestructorWithQueriesInFlightReturnsPromptly) {
  BlackHole hole;
  MetricsRegistry metrics;
  std::string error;
  auto r = RdnsResolver::start(silentServerOptions(hole), metrics, error);
  ASSERT_NE(r, nullptr) << error;
  for (int i = 1; i <= 10; ++i) {
    const std::string text = "10.4.0." + std::to_string(i);
    ASSERT_TRUE(r->request(ip(text.c_str())));
  }
  ASSERT_TRUE(eventually([&] { return gauge(metrics, "netmicroscope_rdns_in_flight") == 10; }));
  const auto begin = Clock::now();
  r.reset();
  const double seconds = std::chrono::duration<double>(Clock::now() - begin).count();
  EXPECT_LT(seconds, 3.0);  // the queries would time out after 10 + 20 + 40 s
  EXPECT_EQ(gauge(metrics, "netmicroscope_rdns_in_flight"), 0);
  EXPECT_EQ(gauge(metrics, "netmicroscope_rdns_queued"), 0);
}

TEST(RdnsResolverTest, StartRejectsBadOptions) {
  MetricsRegistry metrics;
  std::string error;
  RdnsOptions o;
  o.servers = "not-an-address";
  EXPECT_EQ(RdnsResolver::start(o, metrics, error), nullptr);
  EXPECT_NE(error.find("not-an-address"), std::string::npos) << error;
  error.clear();
  o = RdnsOptions{};
  o.queries_per_second = 0;
  EXPECT_EQ(RdnsResolver::start(o, metrics, error), nullptr);
  EXPECT_NE(error.find("queries_per_second"), std::string::npos) << error;
  error.clear();
  o = RdnsOptions{};
  o.min_ttl_s = 10;
  o.max_ttl_s = 5;
  EXPECT_FALSE(RdnsResolver::resolveNow(ip("192.0.2.1"), o, error).has_value());
  EXPECT_NE(error.find("min_ttl_s"), std::string::npos) << error;
}

TEST(RdnsResolverTest, UnsetAddressIsAnsweredFailed) {
  BlackHole hole;
  MetricsRegistry metrics;
  std::string error;
  auto r = RdnsResolver::start(silentServerOptions(hole), metrics, error);
  ASSERT_NE(r, nullptr) << error;
  EXPECT_TRUE(r->request(IpAddr{}));
  std::vector<RdnsAnswer> out;
  r->drain(out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].status, RdnsStatus::kFailed);
  EXPECT_EQ(counter(metrics, "netmicroscope_rdns_queries_total"), 0u);
}

}  // namespace
}  // namespace nm
