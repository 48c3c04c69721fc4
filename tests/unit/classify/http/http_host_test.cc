// HTTP/1.x request Host extraction.

#include "classify/http/http_host.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace nm {
namespace {

std::span<const uint8_t> bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

ParseStatus parse(std::string_view stream, std::string& host) {
  return parseHttpRequestHost(bytes(stream), host);
}

ParseStatus parse(std::string_view stream) {
  std::string host;
  return parseHttpRequestHost(bytes(stream), host);
}

// What curl 7.88 sends for `curl http://Example.COM:8080/index.html`.
constexpr std::string_view kCurlGet =
    "GET /index.html HTTP/1.1\r\n"
    "Host: Example.COM:8080\r\n"
    "User-Agent: curl/7.88.1\r\n"
    "Accept: */*\r\n"
    "\r\n";

TEST(HttpHost, CurlGetGivesLowerCasedHostWithoutPort) {
  std::string host;
  ASSERT_EQ(parse(kCurlGet, host), ParseStatus::kFound);
  EXPECT_EQ(host, "example.com");
}

TEST(HttpHost, HeaderNameIsCaseInsensitive) {
  for (const std::string_view name : {"host", "HOST", "hOsT"}) {
    std::string host;
    const std::string request = "GET / HTTP/1.1\r\n" + std::string(name) + ": a.example\r\n\r\n";
    ASSERT_EQ(parse(request, host), ParseStatus::kFound) << name;
    EXPECT_EQ(host, "a.example");
  }
}

TEST(HttpHost, WhitespaceAroundTheValueIsIgnored) {
  std::string host;
  ASSERT_EQ(parse("GET / HTTP/1.1\r\nHost:\t  www.example.org \t\r\n\r\n", host),
            ParseStatus::kFound);
  EXPECT_EQ(host, "www.example.org");
  ASSERT_EQ(parse("GET / HTTP/1.1\r\nHost:www.example.org\r\n\r\n", host), ParseStatus::kFound);
  EXPECT_EQ(host, "www.example.org");
}

TEST(HttpHost, HostIsFoundAfterOtherHeaders) {
  std::string host;
  ASSERT_EQ(parse("POST /api HTTP/1.0\r\nContent-Length: 2\r\nX-Host: wrong\r\nHostname: wrong\r\n"
                  "Host: right.example\r\n\r\n{}",
                  host),
            ParseStatus::kFound);
  EXPECT_EQ(host, "right.example");
}

TEST(HttpHost, Ipv6LiteralLosesBracketsAndPort) {
  std::string host;
  ASSERT_EQ(parse("GET / HTTP/1.1\r\nHost: [2001:DB8::1]:8080\r\n\r\n", host), ParseStatus::kFound);
  EXPECT_EQ(host, "2001:db8::1");
  ASSERT_EQ(parse("GET / HTTP/1.1\r\nHost: [::ffff:192.0.2.1]\r\n\r\n", host), ParseStatus::kFound);
  EXPECT_EQ(host, "::ffff:192.0.2.1");
}

TEST(HttpHost, Ipv4LiteralKeepsItsDots) {
  std::string host;
  ASSERT_EQ(parse("GET / HTTP/1.1\r\nHost: 192.0.2.7:80\r\n\r\n", host), ParseStatus::kFound);
  EXPECT_EQ(host, "192.0.2.7");
}

TEST(HttpHost, UnusableHostValuesCountAsAbsent) {
  for (const std::string_view value :
       {"", "[2001:db8::1", "[192.0.2.1]", "[2001:db8::1]x", "exa mple.com", "a.example:8o",
        "2001:db8::1", "ex@mple.com", "[v1.future]"}) {
    std::string host = "stale";
    const std::string request = "GET / HTTP/1.1\r\nHost: " + std::string(value) + "\r\n\r\n";
    EXPECT_EQ(parse(request, host), ParseStatus::kMalformed) << value;
    EXPECT_EQ(host, "") << value;
  }
}

TEST(HttpHost, Ipv6LiteralWithANulIsAbsent) {
  // Fuzzer find: inet_pton stops at the NUL and accepted "::", which let the NUL and what
  // follows into the host.
  constexpr char kRequest[] =
      "GET / HTTP/1.0\nHost:\t[::\0"
      "1\0]\n\n";
  std::string host;
  EXPECT_EQ(parse(std::string_view(kRequest, sizeof(kRequest) - 1), host), ParseStatus::kMalformed);
  EXPECT_EQ(host, "");
}

TEST(HttpHost, EmptyPortIsAllowed) {
  std::string host;
  ASSERT_EQ(parse("GET / HTTP/1.1\r\nHost: a.example:\r\n\r\n", host), ParseStatus::kFound);
  EXPECT_EQ(host, "a.example");
}

TEST(HttpHost, BareLfLineEndsAreAccepted) {
  std::string host;
  ASSERT_EQ(parse("GET / HTTP/1.1\nHost: lf.example\n\n", host), ParseStatus::kFound);
  EXPECT_EQ(host, "lf.example");
}

TEST(HttpHost, FoldedLineIsNotAHostHeader) {
  EXPECT_EQ(parse("GET / HTTP/1.1\r\nX-A: b\r\n Host: folded.example\r\n\r\n"),
            ParseStatus::kMalformed);
}

TEST(HttpHost, EveryMethodIsRecognised) {
  for (const std::string_view method :
       {"GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE", "CONNECT"}) {
    std::string host;
    const std::string request = std::string(method) + " / HTTP/1.1\r\nHost: m.example\r\n\r\n";
    ASSERT_EQ(parse(request, host), ParseStatus::kFound) << method;
    EXPECT_EQ(host, "m.example");
  }
}

// --- Without Host -------------------------------------------------------------------------

TEST(HttpHost, NoHostIsMalformedOnceTheHeadersEnd) {
  std::string host;
  EXPECT_EQ(parse("GET / HTTP/1.0\r\nUser-Agent: x\r\n\r\n", host), ParseStatus::kMalformed);
  EXPECT_EQ(host, "");
  EXPECT_EQ(parse("GET / HTTP/1.0\r\nUser-Agent: x\r\n"), ParseStatus::kNeedMore);
}

TEST(HttpHost, ConnectAuthorityIsUsedWithoutHost) {
  std::string host;
  ASSERT_EQ(parse("CONNECT Proxy.Example:443 HTTP/1.1\r\nUser-Agent: x\r\n\r\n", host),
            ParseStatus::kFound);
  EXPECT_EQ(host, "proxy.example");
  ASSERT_EQ(parse("CONNECT [2001:db8::5]:443 HTTP/1.1\r\n\r\n", host), ParseStatus::kFound);
  EXPECT_EQ(host, "2001:db8::5");
  // Until the header block ends a Host may still come, and Host wins.
  EXPECT_EQ(parse("CONNECT proxy.example:443 HTTP/1.1\r\n"), ParseStatus::kNeedMore);
  ASSERT_EQ(parse("CONNECT proxy.example:443 HTTP/1.1\r\nHost: host.example\r\n", host),
            ParseStatus::kFound);
  EXPECT_EQ(host, "host.example");
}

TEST(HttpHost, AbsoluteFormAuthorityIsUsedWithoutHost) {
  std::string host;
  ASSERT_EQ(parse("GET HTTP://user@Abs.Example:8080/x?y HTTP/1.0\r\n\r\n", host),
            ParseStatus::kFound);
  EXPECT_EQ(host, "abs.example");
  // An origin-form target names no host.
  EXPECT_EQ(parse("GET /http://abs.example/ HTTP/1.0\r\n\r\n"), ParseStatus::kMalformed);
}

// --- Partial streams and the cap -----------------------------------------------------------

TEST(HttpHost, EveryPrefixBeforeTheHostLineEndsNeedsMore) {
  const std::string_view through_host = kCurlGet.substr(0, kCurlGet.find("User-Agent"));
  for (size_t n = 0; n < through_host.size(); ++n) {
    std::string host;
    ASSERT_EQ(parse(kCurlGet.substr(0, n), host), ParseStatus::kNeedMore) << n;
    ASSERT_EQ(host, "");
  }
  for (size_t n = through_host.size(); n <= kCurlGet.size(); ++n) {
    std::string host;
    ASSERT_EQ(parse(kCurlGet.substr(0, n), host), ParseStatus::kFound) << n;
    ASSERT_EQ(host, "example.com");
  }
}

TEST(HttpHost, HeaderBlockOverTheCapWithoutHostIsMalformed) {
  const std::string head = "GET / HTTP/1.1\r\nCookie: " + std::string(9000, 'c');
  EXPECT_EQ(parse(head), ParseStatus::kMalformed);
  // Just under the cap it may still complete.
  EXPECT_EQ(parse(std::string_view(head).substr(0, kMaxHttpHeaderBytes - 1)),
            ParseStatus::kNeedMore);
  EXPECT_EQ(parse(std::string_view(head).substr(0, kMaxHttpHeaderBytes)), ParseStatus::kMalformed);
}

TEST(HttpHost, HostLineEndingPastTheCapIsNotSeen) {
  const std::string cookie = "Cookie: " + std::string(kMaxHttpHeaderBytes, 'c') + "\r\n";
  EXPECT_EQ(parse("GET / HTTP/1.1\r\n" + cookie + "Host: late.example\r\n\r\n"),
            ParseStatus::kMalformed);
}

TEST(HttpHost, HostBeforeALongHeaderIsFound) {
  std::string host;
  const std::string request =
      "GET / HTTP/1.1\r\nHost: early.example\r\nCookie: " + std::string(20000, 'c') + "\r\n\r\n";
  ASSERT_EQ(parse(request, host), ParseStatus::kFound);
  EXPECT_EQ(host, "early.example");
}

TEST(HttpHost, RequestLineLongerThanTheCapIsMalformed) {
  EXPECT_EQ(parse("GET /" + std::string(kMaxHttpHeaderBytes, 'a')), ParseStatus::kMalformed);
}

TEST(HttpHost, ShortPrefixesOfAMethodNeedMore) {
  for (const std::string_view prefix : {"", "G", "GE", "GET", "P", "PO", "OPTION", "CONNECT"}) {
    EXPECT_EQ(parse(prefix), ParseStatus::kNeedMore) << prefix;
  }
}

// --- Not HTTP -------------------------------------------------------------------------------

TEST(HttpHost, NonHttpStreamsAreNotThis) {
  for (const std::string_view stream :
       {std::string_view("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11),
        std::string_view("SSH-2.0-OpenSSH_9.2\r\n"), std::string_view("get / HTTP/1.1\r\n"),
        std::string_view("GETS / HTTP/1.1\r\n"), std::string_view("PRI * HTTP/2.0\r\n\r\nSM\r\n"),
        std::string_view("GET / HTTP/2.0\r\nHost: a\r\n\r\n"),
        std::string_view("GET / HTTP/1.1 extra\r\nHost: a\r\n\r\n"),
        std::string_view("GET  / HTTP/1.1\r\nHost: a\r\n\r\n"), std::string_view("GET /\r\n"),
        std::string_view("HTTP/1.1 200 OK\r\n")}) {
    std::string host;
    EXPECT_EQ(parse(stream, host), ParseStatus::kNotThis) << stream;
    EXPECT_EQ(host, "");
  }
}

TEST(HttpHost, BinaryAfterAMethodIsNotThisBeforeAnyLineEnds) {
  EXPECT_EQ(parse(std::string_view("GET \x00\x01\x02\xff", 8)), ParseStatus::kNotThis);
  EXPECT_EQ(parse("POST /a\x1b["), ParseStatus::kNotThis);
  // A CR may be the first half of a CRLF still on its way.
  EXPECT_EQ(parse("GET / HTTP/1.1\r"), ParseStatus::kNeedMore);
}

TEST(HttpHost, ControlBytesInTheRequestLineAreNotThis) {
  EXPECT_EQ(parse("GET /a\rb HTTP/1.1\r\nHost: a\r\n\r\n"), ParseStatus::kNotThis);
  EXPECT_EQ(parse("GET /\x7f HTTP/1.1\r\nHost: a\r\n\r\n"), ParseStatus::kNotThis);
}

TEST(HttpHost, BinaryGarbageIsNotThis) {
  std::vector<uint8_t> garbage(512);
  uint32_t x = 12345;
  for (uint8_t& b : garbage) {
    x = x * 1103515245u + 12345u;
    b = static_cast<uint8_t>(x >> 16);
  }
  std::string host;
  EXPECT_EQ(parseHttpRequestHost(garbage, host), ParseStatus::kNotThis);
}

}  // namespace
}  // namespace nm
