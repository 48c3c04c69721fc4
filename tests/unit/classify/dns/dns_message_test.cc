// DNS message parsing, DNS over TCP and CNAME-chain resolution.

#include "classify/dns/dns_message.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace nm {
namespace {

using Bytes = std::vector<uint8_t>;

// dnsmasq 2.90 answering ANY for "WwW.ExAmPlE.CoM" (id 0x1333, QR AA RD RA), configured with
// --cname=www.example.com,www.example.com.cdn.test --cname=www.example.com.cdn.test,edge.cdn.test
// --host-record=edge.cdn.test,192.0.2.1,2001:db8::1 --host-record=edge.cdn.test,192.0.2.2.
// Answers: CNAME (owner -> question), CNAME (owner -> first CNAME's RDATA at 0x2d), A, A, AAAA
// (owners -> second CNAME's RDATA at 0x53). Every TTL is 120.
const Bytes kDnsmasqAny = {
    0x13, 0x33, 0x85, 0x80, 0x00, 0x01, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x03, 0x57, 0x77, 0x57,
    0x07, 0x45, 0x78, 0x41, 0x6d, 0x50, 0x6c, 0x45, 0x03, 0x43, 0x6f, 0x4d, 0x00, 0x00, 0xff, 0x00,
    0x01, 0xc0, 0x0c, 0x00, 0x05, 0x00, 0x01, 0x00, 0x00, 0x00, 0x78, 0x00, 0x1a, 0x03, 0x77, 0x77,
    0x77, 0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x03, 0x63, 0x6f, 0x6d, 0x03, 0x63, 0x64,
    0x6e, 0x04, 0x74, 0x65, 0x73, 0x74, 0x00, 0xc0, 0x2d, 0x00, 0x05, 0x00, 0x01, 0x00, 0x00, 0x00,
    0x78, 0x00, 0x0f, 0x04, 0x65, 0x64, 0x67, 0x65, 0x03, 0x63, 0x64, 0x6e, 0x04, 0x74, 0x65, 0x73,
    0x74, 0x00, 0xc0, 0x53, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x78, 0x00, 0x04, 0xc0, 0x00,
    0x02, 0x02, 0xc0, 0x53, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x78, 0x00, 0x04, 0xc0, 0x00,
    0x02, 0x01, 0xc0, 0x53, 0x00, 0x1c, 0x00, 0x01, 0x00, 0x00, 0x00, 0x78, 0x00, 0x10, 0x20, 0x01,
    0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
};

constexpr uint16_t kResponse = 0x8180;  // QR, RD, RA
constexpr uint16_t kQuery = 0x0100;     // RD

Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) {
    out.insert(out.end(), p.begin(), p.end());
  }
  return out;
}

Bytes be16(size_t v) {
  return {static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
}

Bytes be32(uint32_t v) {
  return {static_cast<uint8_t>(v >> 24), static_cast<uint8_t>(v >> 16),
          static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
}

Bytes header(uint16_t flags, size_t qdcount, size_t ancount, uint16_t id = 0xbeef) {
  return cat({be16(id), be16(flags), be16(qdcount), be16(ancount), be16(0), be16(0)});
}

// Uncompressed wire name; "" is the root.
Bytes name(const std::string& dotted) {
  Bytes out;
  size_t start = 0;
  while (start < dotted.size()) {
    size_t dot = dotted.find('.', start);
    if (dot == std::string::npos) {
      dot = dotted.size();
    }
    out.push_back(static_cast<uint8_t>(dot - start));
    out.insert(out.end(), dotted.begin() + start, dotted.begin() + dot);
    start = dot + 1;
  }
  out.push_back(0);
  return out;
}

Bytes pointer(size_t offset) {
  return {static_cast<uint8_t>(0xc0 | (offset >> 8)), static_cast<uint8_t>(offset)};
}

Bytes label(const std::string& text) {
  Bytes out{static_cast<uint8_t>(text.size())};
  out.insert(out.end(), text.begin(), text.end());
  return out;
}

Bytes question(const Bytes& qname, uint16_t qtype = dnstype::kA) {
  return cat({qname, be16(qtype), be16(1)});
}

Bytes rr(const Bytes& owner, uint16_t type, uint32_t ttl, const Bytes& rdata, uint16_t klass = 1) {
  return cat({owner, be16(type), be16(klass), be32(ttl), be16(rdata.size()), rdata});
}

Bytes a(uint8_t last) {
  return {192, 0, 2, last};
}

Bytes aaaa(uint8_t last) {
  return {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, last};
}

IpAddr ip(const char* text) {
  IpAddr addr;
  EXPECT_TRUE(IpAddr::parse(text, addr)) << text;
  return addr;
}

ParseStatus parse(const Bytes& msg, DnsMessage& out) {
  return parseDnsMessage(msg, out);
}

ParseStatus parse(const Bytes& msg) {
  DnsMessage out;
  return parseDnsMessage(msg, out);
}

// A response for "www.example.com" A: www -> cdn.example.net (CNAME, ttl 300) ->
// edge.example.net (CNAME, ttl 60) -> edge2.example.net (CNAME, ttl 3600) -> 192.0.2.1 (ttl 120)
// and 2001:db8::1 (ttl 30). Uncompressed, so every offset is easy to reason about.
Bytes threeHopResponse() {
  return cat({header(kResponse, 1, 5), question(name("www.example.com")),
              rr(name("www.example.com"), dnstype::kCname, 300, name("cdn.example.net")),
              rr(name("cdn.example.net"), dnstype::kCname, 60, name("edge.example.net")),
              rr(name("edge.example.net"), dnstype::kCname, 3600, name("edge2.example.net")),
              rr(name("edge2.example.net"), dnstype::kA, 120, a(1)),
              rr(name("edge2.example.net"), dnstype::kAaaa, 30, aaaa(1))});
}

// --- Real traffic ---------------------------------------------------------------------------

TEST(DnsMessage, DnsmasqAnyResponseWithCnameChainAAndAaaa) {
  DnsMessage msg;
  ASSERT_EQ(parse(kDnsmasqAny, msg), ParseStatus::kFound);
  EXPECT_EQ(msg.id, 0x1333);
  EXPECT_TRUE(msg.is_response);
  EXPECT_FALSE(msg.truncated);
  EXPECT_EQ(msg.rcode, 0);
  EXPECT_EQ(msg.question, "www.example.com");
  EXPECT_EQ(msg.qtype, 255);
  ASSERT_EQ(msg.answers.size(), 5u);
  EXPECT_EQ(msg.answers[0].name, "www.example.com");  // via a pointer to the mixed-case question
  EXPECT_EQ(msg.answers[0].type, dnstype::kCname);
  EXPECT_EQ(msg.answers[0].target, "www.example.com.cdn.test");
  EXPECT_EQ(msg.answers[0].ttl, 120u);
  EXPECT_EQ(msg.answers[1].name, "www.example.com.cdn.test");
  EXPECT_EQ(msg.answers[1].target, "edge.cdn.test");
  EXPECT_EQ(msg.answers[2].name, "edge.cdn.test");
  EXPECT_EQ(msg.answers[2].type, dnstype::kA);
  EXPECT_EQ(msg.answers[2].addr, ip("192.0.2.2"));
  EXPECT_EQ(msg.answers[3].addr, ip("192.0.2.1"));
  EXPECT_EQ(msg.answers[4].type, dnstype::kAaaa);
  EXPECT_EQ(msg.answers[4].addr, ip("2001:db8::1"));

  std::string resolved_for;
  const auto addresses = resolveAddresses(msg, resolved_for);
  EXPECT_EQ(resolved_for, "www.example.com");
  ASSERT_EQ(addresses.size(), 3u);
  EXPECT_EQ(addresses[0].first, ip("192.0.2.2"));
  EXPECT_EQ(addresses[1].first, ip("192.0.2.1"));
  EXPECT_EQ(addresses[2].first, ip("2001:db8::1"));
  for (const auto& [addr, ttl] : addresses) {
    EXPECT_EQ(ttl, 120u);
  }
}

TEST(DnsMessage, EveryTruncationOfTheDnsmasqResponseIsMalformed) {
  for (size_t n = 0; n < kDnsmasqAny.size(); ++n) {
    DnsMessage msg;
    ASSERT_EQ(parseDnsMessage(std::span(kDnsmasqAny.data(), n), msg), ParseStatus::kMalformed) << n;
    ASSERT_TRUE(msg.answers.empty());
    ASSERT_EQ(msg.question, "");
  }
}

// --- Header and question --------------------------------------------------------------------

TEST(DnsMessage, QueryGivesQuestionAndFlags) {
  DnsMessage msg;
  ASSERT_EQ(parse(cat({header(kQuery, 1, 0, 0x0102), question(name("Mail.Example.ORG"), 28)}), msg),
            ParseStatus::kFound);
  EXPECT_EQ(msg.id, 0x0102);
  EXPECT_FALSE(msg.is_response);
  EXPECT_EQ(msg.question, "mail.example.org");
  EXPECT_EQ(msg.qtype, 28);
  EXPECT_TRUE(msg.answers.empty());
}

TEST(DnsMessage, RcodeAndTruncatedBitAreReported) {
  DnsMessage msg;
  ASSERT_EQ(parse(cat({header(kResponse | 0x0003, 1, 0), question(name("nx.example"))}), msg),
            ParseStatus::kFound);
  EXPECT_EQ(msg.rcode, 3);
  EXPECT_FALSE(msg.truncated);
  ASSERT_EQ(parse(cat({header(kResponse | 0x0200, 1, 0), question(name("tc.example"))}), msg),
            ParseStatus::kFound);
  EXPECT_TRUE(msg.truncated);
}

TEST(DnsMessage, RootQuestionIsEmptyName) {
  DnsMessage msg;
  ASSERT_EQ(parse(cat({header(kQuery, 1, 0), question(name(""), 2)}), msg), ParseStatus::kFound);
  EXPECT_EQ(msg.question, "");
  EXPECT_EQ(msg.qtype, 2);
}

TEST(DnsMessage, NoQuestionIsFound) {
  DnsMessage msg;
  ASSERT_EQ(parse(header(kResponse, 0, 0), msg), ParseStatus::kFound);
  EXPECT_EQ(msg.question, "");
}

TEST(DnsMessage, ShortHeaderIsMalformed) {
  EXPECT_EQ(parse(Bytes(11, 0)), ParseStatus::kMalformed);
  EXPECT_EQ(parse(Bytes{}), ParseStatus::kMalformed);
}

TEST(DnsMessage, OtherOpcodesAreNotThis) {
  // NOTIFY (4) and UPDATE (5).
  EXPECT_EQ(parse(cat({header(0x2000, 1, 0), question(name("example.com"), 6)})),
            ParseStatus::kNotThis);
  EXPECT_EQ(parse(cat({header(0x2800, 1, 0), question(name("example.com"), 6)})),
            ParseStatus::kNotThis);
}

TEST(DnsMessage, CountsLargerThanTheMessageAreMalformed) {
  EXPECT_EQ(parse(cat({header(kQuery, 2, 0), question(name("a.example"))})),
            ParseStatus::kMalformed);
  EXPECT_EQ(
      parse(cat({header(kResponse, 1, 3), question(name("a.example")),
                 rr(pointer(12), dnstype::kA, 60, a(1)), rr(pointer(12), dnstype::kA, 60, a(2))})),
      ParseStatus::kMalformed);
  EXPECT_EQ(parse(cat({header(kResponse, 0xffff, 0xffff), question(name("a.example"))})),
            ParseStatus::kMalformed);
}

TEST(DnsMessage, SecondQuestionIsSteppedOver) {
  DnsMessage msg;
  ASSERT_EQ(parse(cat({header(kQuery, 2, 0), question(name("first.example")),
                       question(name("second.example"), 28)}),
                  msg),
            ParseStatus::kFound);
  EXPECT_EQ(msg.question, "first.example");
  EXPECT_EQ(msg.qtype, dnstype::kA);
}

// --- Names ----------------------------------------------------------------------------------

TEST(DnsMessage, CompressedOwnerAndTargetAreExpanded) {
  // Question at 12: "www.example.com"; "example.com" starts at 16.
  DnsMessage msg;
  ASSERT_EQ(parse(cat({header(kResponse, 1, 1), question(name("www.example.com")),
                       rr(pointer(12), dnstype::kCname, 60, cat({label("cdn"), pointer(16)}))}),
                  msg),
            ParseStatus::kFound);
  ASSERT_EQ(msg.answers.size(), 1u);
  EXPECT_EQ(msg.answers[0].name, "www.example.com");
  EXPECT_EQ(msg.answers[0].target, "cdn.example.com");
}

TEST(DnsMessage, PointerToItselfIsMalformed) {
  EXPECT_EQ(parse(cat({header(kQuery, 1, 0), pointer(12), be16(1), be16(1)})),
            ParseStatus::kMalformed);
}

TEST(DnsMessage, BackwardPointerThatLoopsIsMalformed) {
  // Question "a" then a pointer back to its own start: every pointer points backwards, yet
  // reading would cycle a, a, a, ...
  EXPECT_EQ(parse(cat({header(kQuery, 1, 0), label("a"), pointer(12), be16(1), be16(1)})),
            ParseStatus::kMalformed);
  // The same inside the message: an unknown record's RDATA at 39 holds "b" + pointer(39), and
  // the next record's owner at 43 jumps to 39.
  const Bytes loop = cat({header(kResponse, 1, 2), question(name("x.example")),
                          rr(pointer(12), 99, 1, cat({label("b"), pointer(39)})),
                          rr(pointer(39), dnstype::kA, 1, a(1))});
  ASSERT_EQ(loop[39], 1);
  ASSERT_EQ(loop[43], 0xc0);
  EXPECT_EQ(parse(loop), ParseStatus::kMalformed);
}

TEST(DnsMessage, ForwardPointersAreMalformed) {
  // The question points at a name that only comes later, the answer's owner at 18.
  const Bytes msg = cat({header(kResponse, 1, 1), pointer(18), be16(1), be16(1),
                         rr(name("x.example"), dnstype::kCname, 1, name("y.example"))});
  ASSERT_EQ(msg[18], 1);
  EXPECT_EQ(parse(msg), ParseStatus::kMalformed);
  // A CNAME target pointing forward to the next record's owner at 41.
  const Bytes target = cat({header(kResponse, 1, 2), question(name("x.example")),
                            rr(pointer(12), dnstype::kCname, 1, pointer(41)),
                            rr(name("z.example"), dnstype::kA, 1, a(1))});
  ASSERT_EQ(target[41], 1);
  EXPECT_EQ(parse(target), ParseStatus::kMalformed);
}

TEST(DnsMessage, PointerIntoTheHeaderIsMalformed) {
  EXPECT_EQ(parse(cat({header(kResponse, 1, 1), question(name("x.example")),
                       rr(pointer(4), dnstype::kA, 1, a(1))})),
            ParseStatus::kMalformed);
}

// Records 0..n-1 of type A whose owner names each point at the previous one; record 0 points at
// the question. Record k's owner takes k+1 jumps to read.
Bytes pointerChain(size_t n) {
  Bytes msg = cat({header(kResponse, 1, n), question(name("deep.example"))});
  size_t previous = 12;
  for (size_t i = 0; i < n; ++i) {
    const size_t here = msg.size();
    msg = cat({msg, rr(pointer(previous), dnstype::kA, 1, a(1))});
    previous = here;
  }
  return msg;
}

TEST(DnsMessage, PointerJumpsAreCapped) {
  DnsMessage msg;
  ASSERT_EQ(parse(pointerChain(kMaxDnsPointerJumps), msg), ParseStatus::kFound);
  EXPECT_EQ(msg.answers.back().name, "deep.example");
  EXPECT_EQ(parse(pointerChain(kMaxDnsPointerJumps + 1)), ParseStatus::kMalformed);
}

TEST(DnsMessage, LabelOver63IsMalformed) {
  DnsMessage msg;
  ASSERT_EQ(
      parse(cat({header(kQuery, 1, 0), question(name(std::string(63, 'x') + ".example"))}), msg),
      ParseStatus::kFound);
  EXPECT_EQ(msg.question.size(), 63u + 8u);
  // Length byte 64 has the 0x40 (extended label) type bits.
  EXPECT_EQ(parse(cat({header(kQuery, 1, 0), question(name(std::string(64, 'x') + ".example"))})),
            ParseStatus::kMalformed);
  // 0x80 is the other reserved type.
  EXPECT_EQ(parse(cat({header(kQuery, 1, 0), Bytes{0x80, 0x00}, be16(1), be16(1)})),
            ParseStatus::kMalformed);
}

TEST(DnsMessage, NameOver255BytesIsMalformed) {
  const std::string l63(63, 'a');
  // 3 * 64 + 62 + 1 = 255 bytes on the wire.
  const std::string longest = l63 + "." + l63 + "." + l63 + "." + std::string(61, 'b');
  DnsMessage msg;
  ASSERT_EQ(parse(cat({header(kQuery, 1, 0), question(name(longest))}), msg), ParseStatus::kFound);
  EXPECT_EQ(msg.question, longest);
  EXPECT_EQ(parse(cat({header(kQuery, 1, 0), question(name(longest + "b"))})),
            ParseStatus::kMalformed);
}

TEST(DnsMessage, NameOver255BytesThroughAPointerIsMalformed) {
  const std::string l63(63, 'a');
  const std::string question_name = l63 + "." + l63 + "." + l63 + "." + std::string(59, 'b');
  // Question: 253 bytes on the wire. Owner "c" + pointer: 2 + 253 = 255, fine; "cc": 256.
  DnsMessage msg;
  ASSERT_EQ(parse(cat({header(kResponse, 1, 1), question(name(question_name)),
                       rr(cat({label("c"), pointer(12)}), dnstype::kA, 1, a(1))}),
                  msg),
            ParseStatus::kFound);
  EXPECT_EQ(msg.answers[0].name, "c." + question_name);
  EXPECT_EQ(parse(cat({header(kResponse, 1, 1), question(name(question_name)),
                       rr(cat({label("cc"), pointer(12)}), dnstype::kA, 1, a(1))})),
            ParseStatus::kMalformed);
}

TEST(DnsMessage, OddLabelBytesAreEscaped) {
  const Bytes odd = {3, 'a', '.', 'b', 2, 0x00, '\\', 3, ' ', 0xff, 'Z', 0};
  DnsMessage msg;
  ASSERT_EQ(parse(cat({header(kQuery, 1, 0), odd, be16(1), be16(1)}), msg), ParseStatus::kFound);
  EXPECT_EQ(msg.question, "a\\.b.\\000\\\\.\\032\\255z");
}

// --- Answer records -------------------------------------------------------------------------

TEST(DnsMessage, TruncatedAnswerIsMalformed) {
  const Bytes whole = cat({header(kResponse, 1, 1), question(name("x.example")),
                           rr(pointer(12), dnstype::kAaaa, 60, aaaa(1))});
  ASSERT_EQ(parse(whole), ParseStatus::kFound);
  for (size_t cut = 1; cut <= 28; ++cut) {
    EXPECT_EQ(parse(Bytes(whole.begin(), whole.end() - static_cast<std::ptrdiff_t>(cut))),
              ParseStatus::kMalformed)
        << cut;
  }
}

TEST(DnsMessage, TruncatedBitAllowsEndingAtARecordBoundary) {
  const Bytes first = cat({header(kResponse | 0x0200, 1, 3), question(name("x.example")),
                           rr(pointer(12), dnstype::kA, 60, a(1))});
  DnsMessage msg;
  ASSERT_EQ(parse(first, msg), ParseStatus::kFound);
  EXPECT_EQ(msg.answers.size(), 1u);
  // Mid-record is still malformed, and without TC a boundary is not enough.
  EXPECT_EQ(parse(cat({first, Bytes{0xc0}})), ParseStatus::kMalformed);
  Bytes no_tc = first;
  no_tc[2] &= 0xfd;
  EXPECT_EQ(parse(no_tc), ParseStatus::kMalformed);
}

TEST(DnsMessage, WrongAddressLengthsAreMalformed) {
  EXPECT_EQ(parse(cat({header(kResponse, 1, 1), question(name("x.example")),
                       rr(pointer(12), dnstype::kA, 60, Bytes{1, 2, 3, 4, 5})})),
            ParseStatus::kMalformed);
  EXPECT_EQ(parse(cat({header(kResponse, 1, 1), question(name("x.example")),
                       rr(pointer(12), dnstype::kAaaa, 60, a(1))})),
            ParseStatus::kMalformed);
}

TEST(DnsMessage, CnameNameMustFillItsRdata) {
  EXPECT_EQ(parse(cat({header(kResponse, 1, 1), question(name("x.example")),
                       rr(pointer(12), dnstype::kCname, 60, cat({name("y.example"), {0}}))})),
            ParseStatus::kMalformed);
  // RDLENGTH 3 but the name runs on past it.
  EXPECT_EQ(parse(cat({header(kResponse, 1, 1), question(name("x.example")), pointer(12),
                       be16(dnstype::kCname), be16(1), be32(60), be16(3), name("y.example")})),
            ParseStatus::kMalformed);
}

TEST(DnsMessage, OtherTypesAndClassesAreSkipped) {
  DnsMessage msg;
  ASSERT_EQ(parse(cat({header(kResponse, 1, 4), question(name("x.example")),
                       rr(pointer(12), 16, 60, Bytes{4, 't', 'e', 'x', 't'}),  // TXT
                       rr(pointer(12), 15, 60, cat({be16(10), pointer(12)})),  // MX
                       rr(pointer(12), dnstype::kA, 60, a(9), 3),              // CH
                       rr(pointer(12), dnstype::kA, 60, a(1))}),
                  msg),
            ParseStatus::kFound);
  ASSERT_EQ(msg.answers.size(), 1u);
  EXPECT_EQ(msg.answers[0].addr, ip("192.0.2.1"));
}

TEST(DnsMessage, TtlWithTopBitSetReadsAsZero) {
  DnsMessage msg;
  ASSERT_EQ(parse(cat({header(kResponse, 1, 1), question(name("x.example")),
                       rr(pointer(12), dnstype::kA, 0x80000001u, a(1))}),
                  msg),
            ParseStatus::kFound);
  EXPECT_EQ(msg.answers[0].ttl, 0u);
}

TEST(DnsMessage, AnswersStoredAreCapped) {
  const size_t n = kMaxDnsAnswers + 6;
  Bytes body = cat({header(kResponse, 1, n), question(name("pool.example"))});
  for (size_t i = 0; i < n; ++i) {
    body = cat({body, rr(pointer(12), dnstype::kA, 60, a(static_cast<uint8_t>(i)))});
  }
  DnsMessage msg;
  ASSERT_EQ(parse(body, msg), ParseStatus::kFound);
  EXPECT_EQ(msg.answers.size(), kMaxDnsAnswers);
  // Records past the cap are still checked.
  body.pop_back();
  EXPECT_EQ(parse(body), ParseStatus::kMalformed);
}

TEST(DnsMessage, OutputIsClearedUnlessFound) {
  DnsMessage msg;
  msg.question = "stale.example";
  msg.answers.resize(3);
  msg.id = 7;
  EXPECT_EQ(parse(Bytes(5, 0), msg), ParseStatus::kMalformed);
  EXPECT_EQ(msg.question, "");
  EXPECT_TRUE(msg.answers.empty());
  EXPECT_EQ(msg.id, 0);
}

// --- DNS over TCP ---------------------------------------------------------------------------

Bytes lengthPrefixed(const Bytes& msg) {
  return cat({be16(msg.size()), msg});
}

TEST(DnsOverTcp, TwoMessagesAndAPartialThird) {
  const Bytes query = cat({header(kQuery, 1, 0, 0x0001), question(name("www.example.com"))});
  const Bytes third = lengthPrefixed(query);
  const Bytes stream = cat(
      {lengthPrefixed(query), lengthPrefixed(kDnsmasqAny), Bytes(third.begin(), third.end() - 3)});
  std::vector<DnsMessage> out;
  size_t consumed = 0;
  ASSERT_EQ(parseDnsOverTcp(stream, out, consumed), ParseStatus::kFound);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(consumed, 2 + query.size() + 2 + kDnsmasqAny.size());
  EXPECT_EQ(out[0].id, 0x0001);
  EXPECT_FALSE(out[0].is_response);
  EXPECT_EQ(out[1].id, 0x1333);
  EXPECT_EQ(out[1].answers.size(), 5u);

  // The rest only needs more; with its missing bytes it parses.
  const std::span<const uint8_t> rest = std::span(stream).subspan(consumed);
  EXPECT_EQ(parseDnsOverTcp(rest, out, consumed), ParseStatus::kNeedMore);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(consumed, 0u);
  EXPECT_EQ(parseDnsOverTcp(lengthPrefixed(query), out, consumed), ParseStatus::kFound);
  EXPECT_EQ(out.size(), 1u);
}

TEST(DnsOverTcp, EveryPrefixOfOneMessageNeedsMore) {
  const Bytes stream = lengthPrefixed(kDnsmasqAny);
  for (size_t n = 0; n < stream.size(); ++n) {
    std::vector<DnsMessage> out;
    size_t consumed = 99;
    ASSERT_EQ(parseDnsOverTcp(std::span(stream.data(), n), out, consumed), ParseStatus::kNeedMore)
        << n;
    ASSERT_EQ(consumed, 0u);
  }
}

TEST(DnsOverTcp, LengthPrefixUnderAHeaderIsMalformed) {
  std::vector<DnsMessage> out;
  size_t consumed = 0;
  EXPECT_EQ(parseDnsOverTcp(Bytes{0x00, 0x0b}, out, consumed), ParseStatus::kMalformed);
  EXPECT_EQ(parseDnsOverTcp(Bytes{0x00, 0x00}, out, consumed), ParseStatus::kMalformed);
}

TEST(DnsOverTcp, BadMessageStopsTheWalkKeepingEarlierOnes) {
  const Bytes good = cat({header(kQuery, 1, 0), question(name("a.example"))});
  const Bytes bad = cat({header(kQuery, 2, 0), question(name("a.example"))});
  std::vector<DnsMessage> out;
  size_t consumed = 0;
  EXPECT_EQ(parseDnsOverTcp(cat({lengthPrefixed(good), lengthPrefixed(bad), lengthPrefixed(good)}),
                            out, consumed),
            ParseStatus::kMalformed);
  EXPECT_EQ(out.size(), 1u);
  EXPECT_EQ(consumed, 2 + good.size());
}

// --- resolveAddresses -------------------------------------------------------------------------

TEST(ResolveAddresses, ThreeHopChainGivesMinimumTtl) {
  DnsMessage msg;
  ASSERT_EQ(parse(threeHopResponse(), msg), ParseStatus::kFound);
  std::string resolved_for;
  const auto addresses = resolveAddresses(msg, resolved_for);
  EXPECT_EQ(resolved_for, "www.example.com");
  ASSERT_EQ(addresses.size(), 2u);
  EXPECT_EQ(addresses[0].first, ip("192.0.2.1"));
  EXPECT_EQ(addresses[0].second, 60u);  // the second CNAME's
  EXPECT_EQ(addresses[1].first, ip("2001:db8::1"));
  EXPECT_EQ(addresses[1].second, 30u);  // the AAAA's own
}

TEST(ResolveAddresses, CnameLoopGivesNothing) {
  DnsMessage msg;
  ASSERT_EQ(parse(cat({header(kResponse, 1, 3), question(name("a.example")),
                       rr(name("a.example"), dnstype::kCname, 60, name("b.example")),
                       rr(name("b.example"), dnstype::kCname, 60, name("a.example")),
                       rr(name("c.example"), dnstype::kA, 60, a(1))}),
                  msg),
            ParseStatus::kFound);
  std::string resolved_for;
  EXPECT_TRUE(resolveAddresses(msg, resolved_for).empty());
  EXPECT_EQ(resolved_for, "a.example");
}

TEST(ResolveAddresses, AnswersForOtherNamesAreIgnored) {
  DnsMessage msg;
  ASSERT_EQ(parse(cat({header(kResponse, 1, 3), question(name("asked.example")),
                       rr(name("other.example"), dnstype::kA, 60, a(66)),
                       rr(name("asked.example"), dnstype::kA, 60, a(1)),
                       rr(name("other.example"), dnstype::kCname, 60, name("asked.example"))}),
                  msg),
            ParseStatus::kFound);
  std::string resolved_for;
  const auto addresses = resolveAddresses(msg, resolved_for);
  ASSERT_EQ(addresses.size(), 1u);
  EXPECT_EQ(addresses[0].first, ip("192.0.2.1"));
}

TEST(ResolveAddresses, ChainLengthIsCapped) {
  // h0 -> h1 -> ... -> hN, with the address on hN.
  const auto chain = [](size_t hops) {
    Bytes msg = cat({header(kResponse, 1, hops + 1), question(name("h0.example"))});
    for (size_t i = 0; i < hops; ++i) {
      msg = cat({msg, rr(name("h" + std::to_string(i) + ".example"), dnstype::kCname, 60,
                         name("h" + std::to_string(i + 1) + ".example"))});
    }
    return cat({msg, rr(name("h" + std::to_string(hops) + ".example"), dnstype::kA, 60, a(1))});
  };
  DnsMessage msg;
  std::string resolved_for;
  ASSERT_EQ(parse(chain(kMaxCnameHops), msg), ParseStatus::kFound);
  EXPECT_EQ(resolveAddresses(msg, resolved_for).size(), 1u);
  ASSERT_EQ(parse(chain(kMaxCnameHops + 1), msg), ParseStatus::kFound);
  EXPECT_TRUE(resolveAddresses(msg, resolved_for).empty());
}

TEST(ResolveAddresses, QueriesAndDeadEndsGiveNothing) {
  DnsMessage msg;
  std::string resolved_for;
  ASSERT_EQ(parse(cat({header(kQuery, 1, 1), question(name("q.example")),
                       rr(pointer(12), dnstype::kA, 60, a(1))}),
                  msg),
            ParseStatus::kFound);
  EXPECT_TRUE(resolveAddresses(msg, resolved_for).empty());
  EXPECT_EQ(resolved_for, "q.example");
  ASSERT_EQ(parse(cat({header(kResponse, 1, 1), question(name("q.example")),
                       rr(pointer(12), dnstype::kCname, 60, name("nowhere.example"))}),
                  msg),
            ParseStatus::kFound);
  EXPECT_TRUE(resolveAddresses(msg, resolved_for).empty());
}

}  // namespace
}  // namespace nm
