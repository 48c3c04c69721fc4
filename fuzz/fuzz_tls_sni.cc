// libFuzzer target for the TLS ClientHello parsers. Any bytes must parse without a crash or a
// sanitizer report, and the answers must keep their promises: a found SNI is a valid lower-case
// host name, longer streams never change a final answer, and a message means the same bare, in
// one record or cut across two.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "classify/tls/client_hello.h"

namespace {

using nm::ParseStatus;
using nm::TlsClientHello;

void check(bool ok) {
  if (!ok) {
    __builtin_trap();
  }
}

bool same(const TlsClientHello& a, const TlsClientHello& b) {
  return a.sni == b.sni && a.alpn_first == b.alpn_first && a.legacy_version == b.legacy_version &&
         a.has_ech == b.has_ech;
}

void checkResult(ParseStatus status, const TlsClientHello& hello) {
  if (status != ParseStatus::kFound) {
    check(same(hello, TlsClientHello{}));
    return;
  }
  check(hello.sni.size() <= nm::kMaxServerNameLength);
  check(std::all_of(hello.sni.begin(), hello.sni.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
  }));
  check(std::all_of(hello.alpn_first.begin(), hello.alpn_first.end(),
                    [](char c) { return c >= 0x20 && c < 0x7f; }));
}

template <typename Parse>
ParseStatus parseChecked(Parse parse, std::span<const uint8_t> bytes, TlsClientHello& hello) {
  const ParseStatus status = parse(bytes, hello);
  checkResult(status, hello);
  return status;
}

// A final answer on a prefix must be the answer on the whole input.
template <typename Parse>
void checkPrefixes(Parse parse, std::span<const uint8_t> bytes) {
  TlsClientHello whole;
  const ParseStatus whole_status = parseChecked(parse, bytes, whole);
  for (const size_t n : {bytes.size() / 2, bytes.size() > 0 ? bytes.size() - 1 : 0}) {
    TlsClientHello part;
    const ParseStatus part_status = parseChecked(parse, bytes.first(n), part);
    if (part_status != ParseStatus::kNeedMore) {
      check(part_status == whole_status && same(part, whole));
    }
  }
}

void appendRecord(std::vector<uint8_t>& stream, std::span<const uint8_t> fragment) {
  stream.insert(stream.end(), {0x16, 0x03, 0x03, static_cast<uint8_t>(fragment.size() >> 8),
                               static_cast<uint8_t>(fragment.size())});
  stream.insert(stream.end(), fragment.begin(), fragment.end());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> input(data, size);
  checkPrefixes(nm::parseTlsClientHello, input);
  checkPrefixes(nm::parseTlsClientHelloMessage, input);

  // The input as a bare handshake message, wrapped in one record, and cut across two.
  constexpr size_t kMaxFragment = 16384;
  if (size == 0 || size > 2 * kMaxFragment) {
    return 0;
  }
  TlsClientHello bare;
  const ParseStatus bare_status = nm::parseTlsClientHelloMessage(input, bare);
  const size_t cut = std::max<size_t>(1, std::min(size - 1, size_t{data[0]} * 7 % size));
  std::vector<uint8_t> two;
  appendRecord(two, input.first(cut));
  if (cut < size) {
    appendRecord(two, input.subspan(cut));
  }
  TlsClientHello split;
  check(parseChecked(nm::parseTlsClientHello, two, split) == bare_status && same(split, bare));
  if (size <= kMaxFragment) {
    std::vector<uint8_t> one;
    appendRecord(one, input);
    TlsClientHello single;
    check(parseChecked(nm::parseTlsClientHello, one, single) == bare_status && same(single, bare));
  }
  return 0;
}
