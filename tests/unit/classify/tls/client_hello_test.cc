// TLS ClientHello parsing: a real hello captured from openssl s_client, and hellos built from
// parts to reach each branch.

#include "classify/tls/client_hello.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace nm {
namespace {

using Bytes = std::vector<uint8_t>;

// `openssl s_client -connect 127.0.0.1:44330 -servername WWW.Example.COM -alpn h2,http/1.1`
// (OpenSSL 3.0.19), the client's first TCP segment as captured on lo: one record (version
// 0x0301) holding the whole ClientHello (legacy_version 0x0303). SNI at offset 0x9b.
const Bytes kOpensslHello = {
    0x16, 0x03, 0x01, 0x01, 0x4e, 0x01, 0x00, 0x01, 0x4a, 0x03, 0x03, 0x12, 0x47, 0x88, 0xd7, 0xd3,
    0xa7, 0x11, 0xac, 0x20, 0xd5, 0x9c, 0x0f, 0xcb, 0x49, 0xdd, 0x5b, 0xd3, 0x39, 0xa7, 0xc4, 0x1c,
    0xae, 0xf6, 0xc5, 0xfd, 0x4c, 0x84, 0xaf, 0xc1, 0x9c, 0x63, 0xe7, 0x20, 0x98, 0x7e, 0x19, 0x0e,
    0x7e, 0x05, 0xe0, 0x98, 0xae, 0x5c, 0xe0, 0x63, 0xdb, 0x48, 0xd0, 0x69, 0x1f, 0x50, 0xbc, 0xfb,
    0x07, 0x83, 0x8f, 0x16, 0x93, 0x5c, 0xf8, 0xfe, 0xad, 0x3d, 0x01, 0xbf, 0x00, 0x3e, 0x13, 0x02,
    0x13, 0x03, 0x13, 0x01, 0xc0, 0x2c, 0xc0, 0x30, 0x00, 0x9f, 0xcc, 0xa9, 0xcc, 0xa8, 0xcc, 0xaa,
    0xc0, 0x2b, 0xc0, 0x2f, 0x00, 0x9e, 0xc0, 0x24, 0xc0, 0x28, 0x00, 0x6b, 0xc0, 0x23, 0xc0, 0x27,
    0x00, 0x67, 0xc0, 0x0a, 0xc0, 0x14, 0x00, 0x39, 0xc0, 0x09, 0xc0, 0x13, 0x00, 0x33, 0x00, 0x9d,
    0x00, 0x9c, 0x00, 0x3d, 0x00, 0x3c, 0x00, 0x35, 0x00, 0x2f, 0x00, 0xff, 0x01, 0x00, 0x00, 0xc3,
    0x00, 0x00, 0x00, 0x14, 0x00, 0x12, 0x00, 0x00, 0x0f, 0x57, 0x57, 0x57, 0x2e, 0x45, 0x78, 0x61,
    0x6d, 0x70, 0x6c, 0x65, 0x2e, 0x43, 0x4f, 0x4d, 0x00, 0x0b, 0x00, 0x04, 0x03, 0x00, 0x01, 0x02,
    0x00, 0x0a, 0x00, 0x16, 0x00, 0x14, 0x00, 0x1d, 0x00, 0x17, 0x00, 0x1e, 0x00, 0x19, 0x00, 0x18,
    0x01, 0x00, 0x01, 0x01, 0x01, 0x02, 0x01, 0x03, 0x01, 0x04, 0x00, 0x23, 0x00, 0x00, 0x00, 0x10,
    0x00, 0x0e, 0x00, 0x0c, 0x02, 0x68, 0x32, 0x08, 0x68, 0x74, 0x74, 0x70, 0x2f, 0x31, 0x2e, 0x31,
    0x00, 0x16, 0x00, 0x00, 0x00, 0x17, 0x00, 0x00, 0x00, 0x0d, 0x00, 0x2a, 0x00, 0x28, 0x04, 0x03,
    0x05, 0x03, 0x06, 0x03, 0x08, 0x07, 0x08, 0x08, 0x08, 0x09, 0x08, 0x0a, 0x08, 0x0b, 0x08, 0x04,
    0x08, 0x05, 0x08, 0x06, 0x04, 0x01, 0x05, 0x01, 0x06, 0x01, 0x03, 0x03, 0x03, 0x01, 0x03, 0x02,
    0x04, 0x02, 0x05, 0x02, 0x06, 0x02, 0x00, 0x2b, 0x00, 0x09, 0x08, 0x03, 0x04, 0x03, 0x03, 0x03,
    0x02, 0x03, 0x01, 0x00, 0x2d, 0x00, 0x02, 0x01, 0x01, 0x00, 0x33, 0x00, 0x26, 0x00, 0x24, 0x00,
    0x1d, 0x00, 0x20, 0x69, 0xaa, 0x4a, 0xd0, 0x74, 0x5f, 0x87, 0xca, 0x8f, 0x20, 0x25, 0xc2, 0x01,
    0xa2, 0x14, 0x46, 0xb6, 0xb1, 0x90, 0x41, 0x9c, 0xfa, 0x8d, 0xa3, 0x6f, 0x13, 0xd5, 0x9a, 0xed,
    0x32, 0xd4, 0x2e,
};
constexpr size_t kRecordHeader = 5;

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

Bytes be24(size_t v) {
  return {static_cast<uint8_t>(v >> 16), static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
}

Bytes text(const std::string& s) {
  return Bytes(s.begin(), s.end());
}

Bytes extension(uint16_t type, const Bytes& data) {
  return cat({be16(type), be16(data.size()), data});
}

Bytes sniExtension(const std::string& name) {
  const Bytes entry = cat({{0x00}, be16(name.size()), text(name)});
  return extension(0x0000, cat({be16(entry.size()), entry}));
}

Bytes alpnExtension(std::initializer_list<std::string> protocols) {
  Bytes list;
  for (const std::string& p : protocols) {
    list = cat({list, {static_cast<uint8_t>(p.size())}, text(p)});
  }
  return extension(0x0010, cat({be16(list.size()), list}));
}

// ClientHello body: legacy_version 0x0303, a fixed random, empty session id, one cipher suite,
// null compression, then the extensions block (omitted entirely when `with_extensions` is off).
Bytes helloBody(const Bytes& extensions, bool with_extensions = true) {
  Bytes body = cat({{0x03, 0x03}, Bytes(32, 0x5a), {0x00}, {0x00, 0x02, 0x13, 0x01}, {0x01, 0x00}});
  if (with_extensions) {
    body = cat({body, be16(extensions.size()), extensions});
  }
  return body;
}

Bytes handshake(const Bytes& body, uint8_t type = 1) {
  return cat({{type}, be24(body.size()), body});
}

Bytes record(const Bytes& fragment, uint8_t type = 22, uint8_t minor = 1) {
  return cat({{type, 0x03, minor}, be16(fragment.size()), fragment});
}

// The message cut into records of the given sizes; the last record takes the rest.
Bytes inRecords(const Bytes& message, std::initializer_list<size_t> sizes) {
  Bytes out;
  size_t pos = 0;
  for (const size_t n : sizes) {
    out = cat({out, record(Bytes(message.begin() + pos, message.begin() + pos + n))});
    pos += n;
  }
  return cat({out, record(Bytes(message.begin() + pos, message.end()))});
}

Bytes opensslMessage() {
  return Bytes(kOpensslHello.begin() + kRecordHeader, kOpensslHello.end());
}

ParseStatus parse(const Bytes& stream, TlsClientHello& out) {
  return parseTlsClientHello(stream, out);
}

ParseStatus parse(const Bytes& stream) {
  TlsClientHello out;
  return parseTlsClientHello(stream, out);
}

// Every strict prefix must ask for more; the whole stream must give the expected SNI.
void expectOnlyWholeStreamParses(const Bytes& stream, const std::string& sni) {
  for (size_t n = 0; n < stream.size(); ++n) {
    TlsClientHello out;
    ASSERT_EQ(parseTlsClientHello(std::span(stream.data(), n), out), ParseStatus::kNeedMore)
        << "prefix of " << n << " bytes";
    ASSERT_TRUE(out.sni.empty());
  }
  TlsClientHello out;
  ASSERT_EQ(parse(stream, out), ParseStatus::kFound);
  EXPECT_EQ(out.sni, sni);
}

// --- Real traffic ---------------------------------------------------------------------------

TEST(TlsClientHello, OpensslHelloGivesLowerCasedSniAlpnAndVersion) {
  TlsClientHello out;
  ASSERT_EQ(parse(kOpensslHello, out), ParseStatus::kFound);
  EXPECT_EQ(out.sni, "www.example.com");
  EXPECT_EQ(out.alpn_first, "h2");
  EXPECT_EQ(out.legacy_version, 0x0303);
  EXPECT_FALSE(out.has_ech);
}

TEST(TlsClientHello, OpensslHelloAtEverySegmentBoundary) {
  expectOnlyWholeStreamParses(kOpensslHello, "www.example.com");
}

TEST(TlsClientHello, BytesAfterTheHelloAreIgnored) {
  // A ChangeCipherSpec record (TLS 1.3 middlebox compatibility) right behind the hello.
  TlsClientHello out;
  ASSERT_EQ(parse(cat({kOpensslHello, {0x14, 0x03, 0x03, 0x00, 0x01, 0x01}}), out),
            ParseStatus::kFound);
  EXPECT_EQ(out.sni, "www.example.com");
}

TEST(TlsClientHello, BareMessageParsesLikeTheRecord) {
  TlsClientHello out;
  ASSERT_EQ(parseTlsClientHelloMessage(opensslMessage(), out), ParseStatus::kFound);
  EXPECT_EQ(out.sni, "www.example.com");
  EXPECT_EQ(out.alpn_first, "h2");
}

TEST(TlsClientHello, BareMessagePrefixesNeedMoreAndTrailingBytesAreIgnored) {
  const Bytes message = opensslMessage();
  for (size_t n = 0; n < message.size(); ++n) {
    TlsClientHello out;
    ASSERT_EQ(parseTlsClientHelloMessage(std::span(message.data(), n), out), ParseStatus::kNeedMore)
        << n;
  }
  TlsClientHello out;
  EXPECT_EQ(parseTlsClientHelloMessage(cat({message, {0x02, 0x00}}), out), ParseStatus::kFound);
  EXPECT_EQ(out.sni, "www.example.com");
}

// --- Records --------------------------------------------------------------------------------

TEST(TlsClientHello, HelloSplitAcrossTwoRecords) {
  // The split falls inside the server_name extension.
  const Bytes stream = inRecords(opensslMessage(), {160});
  TlsClientHello out;
  ASSERT_EQ(parse(stream, out), ParseStatus::kFound);
  EXPECT_EQ(out.sni, "www.example.com");
  EXPECT_EQ(out.alpn_first, "h2");
  EXPECT_EQ(out.legacy_version, 0x0303);
}

TEST(TlsClientHello, TwoRecordsAtEverySegmentBoundary) {
  expectOnlyWholeStreamParses(inRecords(opensslMessage(), {160}), "www.example.com");
}

TEST(TlsClientHello, HandshakeHeaderItselfSplitAcrossRecords) {
  expectOnlyWholeStreamParses(inRecords(opensslMessage(), {1, 2, 1}), "www.example.com");
}

TEST(TlsClientHello, OneByteRecordsAtEverySegmentBoundary) {
  const Bytes message = opensslMessage();
  Bytes stream;
  for (const uint8_t b : message) {
    stream = cat({stream, record({b})});
  }
  expectOnlyWholeStreamParses(stream, "www.example.com");
}

TEST(TlsClientHello, AnyRecordVersionFromSsl3ToTls13IsAccepted) {
  for (uint8_t minor = 0; minor <= 4; ++minor) {
    Bytes stream = kOpensslHello;
    stream[2] = minor;
    EXPECT_EQ(parse(stream), ParseStatus::kFound) << int{minor};
  }
}

TEST(TlsClientHello, NonHandshakeRecordBeforeTheHelloEndsIsMalformed) {
  const Bytes message = opensslMessage();
  const Bytes first = record(Bytes(message.begin(), message.begin() + 100));
  const Bytes alert = record(Bytes(message.begin() + 100, message.end()), 21);
  EXPECT_EQ(parse(cat({first, alert})), ParseStatus::kMalformed);
  // Known as soon as the type byte arrives.
  EXPECT_EQ(parse(cat({first, {21}})), ParseStatus::kMalformed);
  const Bytes bad_version = record(Bytes(message.begin() + 100, message.end()), 22, 9);
  EXPECT_EQ(parse(cat({first, bad_version})), ParseStatus::kMalformed);
}

TEST(TlsClientHello, ZeroLengthRecordIsMalformed) {
  EXPECT_EQ(parse({0x16, 0x03, 0x01, 0x00, 0x00}), ParseStatus::kMalformed);
  const Bytes message = opensslMessage();
  const Bytes first = record(Bytes(message.begin(), message.begin() + 100));
  EXPECT_EQ(parse(cat({first, {0x16, 0x03, 0x03, 0x00, 0x00}})), ParseStatus::kMalformed);
}

TEST(TlsClientHello, OversizedRecordIsMalformed) {
  EXPECT_EQ(parse({0x16, 0x03, 0x01, 0x48, 0x01}), ParseStatus::kMalformed);  // 18433
  EXPECT_EQ(parse({0x16, 0x03, 0x01, 0x48, 0x00}), ParseStatus::kNeedMore);   // 18432
}

TEST(TlsClientHello, HandshakeLengthOverTheCapIsMalformedFromItsHeader) {
  // 4 + 65533 > 64 KiB: rejected from the first four handshake bytes, before any body.
  EXPECT_EQ(parse({0x16, 0x03, 0x01, 0x40, 0x00, 0x01, 0x00, 0xff, 0xfd}), ParseStatus::kMalformed);
  EXPECT_EQ(parse({0x16, 0x03, 0x01, 0x40, 0x00, 0x01, 0x00, 0xff, 0xfc}), ParseStatus::kNeedMore);
  TlsClientHello out;
  EXPECT_EQ(parseTlsClientHelloMessage(Bytes{0x01, 0xff, 0xff, 0xff}, out),
            ParseStatus::kMalformed);
}

TEST(TlsClientHello, LargeHelloAcrossFiveFullRecordsParses) {
  // 60000 bytes of padding extension: reassembled from four full records and a tail.
  const Bytes message =
      handshake(helloBody(cat({sniExtension("big.example"), extension(0x0015, Bytes(60000, 0))})));
  ASSERT_LE(message.size(), kMaxClientHelloBytes);
  TlsClientHello out;
  ASSERT_EQ(parse(inRecords(message, {16384, 16384, 16384}), out), ParseStatus::kFound);
  EXPECT_EQ(out.sni, "big.example");
}

// --- Not TLS ----------------------------------------------------------------------------------

TEST(TlsClientHello, NonTlsStreamsAreNotThis) {
  EXPECT_EQ(parse(text("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n")), ParseStatus::kNotThis);
  EXPECT_EQ(parse(text("SSH-2.0-OpenSSH_9.2\r\n")), ParseStatus::kNotThis);
  // SSLv2-format ClientHello (two-byte header with the top bit set).
  EXPECT_EQ(parse({0x80, 0x2e, 0x01, 0x03, 0x01, 0x00, 0x15}), ParseStatus::kNotThis);
  // Application data record, and a handshake record from a future major version.
  EXPECT_EQ(parse({0x17, 0x03, 0x03, 0x00, 0x10}), ParseStatus::kNotThis);
  EXPECT_EQ(parse({0x16, 0x04, 0x00}), ParseStatus::kNotThis);
  EXPECT_EQ(parse({0x16, 0x03, 0x05}), ParseStatus::kNotThis);
}

TEST(TlsClientHello, ServerHelloIsNotThis) {
  // The server's side of a connection starts with handshake type 2.
  EXPECT_EQ(parse(record(handshake(helloBody({}), 2))), ParseStatus::kNotThis);
  EXPECT_EQ(parse({0x16, 0x03, 0x03, 0x00, 0x50, 0x02}), ParseStatus::kNotThis);
}

TEST(TlsClientHello, ShortPrefixesThatCouldBeTlsNeedMore) {
  EXPECT_EQ(parse(Bytes{}), ParseStatus::kNeedMore);
  EXPECT_EQ(parse({0x16}), ParseStatus::kNeedMore);
  EXPECT_EQ(parse({0x16, 0x03}), ParseStatus::kNeedMore);
  EXPECT_EQ(parse({0x16, 0x03, 0x01, 0x01}), ParseStatus::kNeedMore);
}

// --- Extensions -------------------------------------------------------------------------------

TEST(TlsClientHello, NoServerNameExtensionGivesEmptySni) {
  TlsClientHello out;
  ASSERT_EQ(parse(record(handshake(helloBody(alpnExtension({"http/1.1"})))), out),
            ParseStatus::kFound);
  EXPECT_EQ(out.sni, "");
  EXPECT_EQ(out.alpn_first, "http/1.1");
}

TEST(TlsClientHello, HelloWithoutExtensionsBlockIsFound) {
  TlsClientHello out;
  ASSERT_EQ(parse(record(handshake(helloBody({}, false))), out), ParseStatus::kFound);
  EXPECT_EQ(out.sni, "");
  EXPECT_EQ(out.alpn_first, "");
  EXPECT_EQ(out.legacy_version, 0x0303);
}

TEST(TlsClientHello, EncryptedClientHelloIsFlagged) {
  // ECH outer hello: the SNI is the client-facing server's public name.
  const Bytes ech = extension(0xfe0d, Bytes{0x00, 0x00, 0x01, 0x00, 0x01, 0x2a, 0x00, 0x00});
  TlsClientHello out;
  ASSERT_EQ(
      parse(record(handshake(helloBody(cat({sniExtension("cloudflare-ech.com"), ech})))), out),
      ParseStatus::kFound);
  EXPECT_TRUE(out.has_ech);
  EXPECT_EQ(out.sni, "cloudflare-ech.com");
  // The older draft codepoint 0xfe0a is not ECH as deployed.
  ASSERT_EQ(parse(record(handshake(helloBody(extension(0xfe0a, {})))), out), ParseStatus::kFound);
  EXPECT_FALSE(out.has_ech);
}

TEST(TlsClientHello, SniWithCharactersOutsideHostNamesIsAbsent) {
  const std::vector<std::string> bad_names = {
      "exa mple.com", "example.com\n", std::string("a\0b", 3), "ex@mple", "caf\xc3\xa9.example"};
  for (const std::string& bad : bad_names) {
    TlsClientHello out;
    ASSERT_EQ(parse(record(handshake(helloBody(sniExtension(bad)))), out), ParseStatus::kFound);
    EXPECT_EQ(out.sni, "") << bad;
  }
  TlsClientHello out;
  ASSERT_EQ(parse(record(handshake(helloBody(sniExtension("_dmarc.Sub-1.example")))), out),
            ParseStatus::kFound);
  EXPECT_EQ(out.sni, "_dmarc.sub-1.example");
}

TEST(TlsClientHello, SniLengthIsOneTo253) {
  TlsClientHello out;
  ASSERT_EQ(parse(record(handshake(helloBody(sniExtension(std::string(253, 'a'))))), out),
            ParseStatus::kFound);
  EXPECT_EQ(out.sni, std::string(253, 'a'));
  ASSERT_EQ(parse(record(handshake(helloBody(sniExtension(std::string(254, 'a'))))), out),
            ParseStatus::kFound);
  EXPECT_EQ(out.sni, "");
  ASSERT_EQ(parse(record(handshake(helloBody(sniExtension("")))), out), ParseStatus::kFound);
  EXPECT_EQ(out.sni, "");
}

TEST(TlsClientHello, FirstHostNameWins) {
  const Bytes two = cat({{0x00}, be16(5), text("first"), {0x00}, be16(6), text("second")});
  TlsClientHello out;
  ASSERT_EQ(parse(record(handshake(helloBody(extension(0, cat({be16(two.size()), two}))))), out),
            ParseStatus::kFound);
  EXPECT_EQ(out.sni, "first");
}

TEST(TlsClientHello, NonPrintableFirstAlpnIsDropped) {
  TlsClientHello out;
  ASSERT_EQ(
      parse(record(handshake(helloBody(alpnExtension({std::string("\x0a\x0a", 2), "h2"})))), out),
      ParseStatus::kFound);
  EXPECT_EQ(out.alpn_first, "");
}

// --- Inconsistent lengths ---------------------------------------------------------------------

TEST(TlsClientHello, ServerNameListLongerThanItsExtensionIsMalformed) {
  Bytes ext = sniExtension("example.com");
  ext[5] = static_cast<uint8_t>(ext[5] + 1);  // ServerNameList length
  EXPECT_EQ(parse(record(handshake(helloBody(ext)))), ParseStatus::kMalformed);
}

TEST(TlsClientHello, HostNameLongerThanItsListIsMalformed) {
  Bytes ext = sniExtension("example.com");
  ext[8] = static_cast<uint8_t>(ext[8] + 1);  // HostName length
  EXPECT_EQ(parse(record(handshake(helloBody(ext)))), ParseStatus::kMalformed);
}

TEST(TlsClientHello, ExtensionLongerThanTheBlockIsMalformed) {
  Bytes ext = sniExtension("example.com");
  ext[3] = static_cast<uint8_t>(ext[3] + 1);  // extension_data length
  EXPECT_EQ(parse(record(handshake(helloBody(ext)))), ParseStatus::kMalformed);
}

TEST(TlsClientHello, ExtensionsBlockNotFillingTheBodyIsMalformed) {
  // Two stray bytes after the extensions block.
  EXPECT_EQ(parse(record(handshake(cat({helloBody(sniExtension("example.com")), {0, 0}})))),
            ParseStatus::kMalformed);
}

TEST(TlsClientHello, HandshakeLengthShorterThanItsFieldsIsMalformed) {
  Bytes message = opensslMessage();
  message[3] = static_cast<uint8_t>(message[3] - 10);  // body now ends inside the extensions
  EXPECT_EQ(parse(record(message)), ParseStatus::kMalformed);
}

TEST(TlsClientHello, BadFixedFieldsAreMalformed) {
  // Session id of 33 bytes.
  Bytes body = cat({{0x03, 0x03},
                    Bytes(32, 0),
                    {33},
                    Bytes(33, 0),
                    {0x00, 0x02, 0x13, 0x01},
                    {0x01, 0x00},
                    {0x00, 0x00}});
  EXPECT_EQ(parse(record(handshake(body))), ParseStatus::kMalformed);
  // Odd cipher suite length.
  body = cat({{0x03, 0x03}, Bytes(32, 0), {0x00}, {0x00, 0x03, 0x13, 0x01, 0x13}, {0x01, 0x00}});
  EXPECT_EQ(parse(record(handshake(body))), ParseStatus::kMalformed);
  // No compression method.
  body = cat({{0x03, 0x03}, Bytes(32, 0), {0x00}, {0x00, 0x02, 0x13, 0x01}, {0x00}});
  EXPECT_EQ(parse(record(handshake(body))), ParseStatus::kMalformed);
  // Body cut inside the random.
  EXPECT_EQ(parse(record(handshake(Bytes{0x03, 0x03, 0x01}))), ParseStatus::kMalformed);
}

TEST(TlsClientHello, EmptyAlpnProtocolNameIsMalformed) {
  EXPECT_EQ(parse(record(handshake(helloBody(alpnExtension({""}))))), ParseStatus::kMalformed);
}

TEST(TlsClientHello, OutputIsClearedUnlessFound) {
  TlsClientHello out;
  out.sni = "stale.example";
  out.alpn_first = "h2";
  out.legacy_version = 0x0303;
  out.has_ech = true;
  EXPECT_EQ(parse(text("GET /"), out), ParseStatus::kNotThis);
  EXPECT_EQ(out.sni, "");
  EXPECT_EQ(out.alpn_first, "");
  EXPECT_EQ(out.legacy_version, 0);
  EXPECT_FALSE(out.has_ech);
}

}  // namespace
}  // namespace nm
