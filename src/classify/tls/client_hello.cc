#include "classify/tls/client_hello.h"
#include "core/byte_order.h"

#include <algorithm>
#include <vector>

namespace nm {
namespace {

constexpr uint8_t kContentTypeHandshake = 22;
constexpr uint8_t kHandshakeClientHello = 1;
constexpr size_t kRecordHeaderBytes = 5;
constexpr size_t kHandshakeHeaderBytes = 4;
constexpr size_t kRandomBytes = 32;
constexpr size_t kMaxSessionIdBytes = 32;
// TLSPlaintext may not exceed 2^14 bytes; the TLSCiphertext slack of 2048 is tolerated because
// being lenient here costs nothing and some stacks round records up.
constexpr size_t kMaxRecordBodyBytes = 16384 + 2048;

namespace ext {
constexpr uint16_t kServerName = 0;
constexpr uint16_t kAlpn = 16;
constexpr uint16_t kEncryptedClientHello = 0xfe0d;
}  // namespace ext

constexpr uint8_t kServerNameTypeHostName = 0;

// A cursor over a span. A read that does not fit leaves the cursor where it was and returns
// false, so callers never see a partial field.
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> bytes) : bytes_(bytes) {}

  bool empty() const { return pos_ == bytes_.size(); }

  bool u8(uint8_t& v) {
    if (bytes_.size() - pos_ < 1) {
      return false;
    }
    v = bytes_[pos_++];
    return true;
  }
  bool u16(uint16_t& v) {
    if (bytes_.size() - pos_ < 2) {
      return false;
    }
    v = be16(bytes_.data() + pos_);
    pos_ += 2;
    return true;
  }
  bool bytes(size_t n, std::span<const uint8_t>& v) {
    if (bytes_.size() - pos_ < n) {
      return false;
    }
    v = bytes_.subspan(pos_, n);
    pos_ += n;
    return true;
  }
  // TLS vectors: a 1- or 2-byte length, then that many bytes.
  bool vec8(std::span<const uint8_t>& v) {
    uint8_t n = 0;
    const size_t start = pos_;
    if (!u8(n) || !bytes(n, v)) {
      pos_ = start;
      return false;
    }
    return true;
  }
  bool vec16(std::span<const uint8_t>& v) {
    uint16_t n = 0;
    const size_t start = pos_;
    if (!u16(n) || !bytes(n, v)) {
      pos_ = start;
      return false;
    }
    return true;
  }

 private:
  std::span<const uint8_t> bytes_;
  size_t pos_ = 0;
};

bool isHostNameChar(uint8_t c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_';
}

uint8_t toLower(uint8_t c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<uint8_t>(c + ('a' - 'A')) : c;
}

// The name goes into reports and service lookups, so anything that is not a plain host name is
// dropped rather than escaped: an odd SNI is as good as none for classification.
std::string validHostName(std::span<const uint8_t> name) {
  if (name.empty() || name.size() > kMaxServerNameLength ||
      !std::all_of(name.begin(), name.end(), isHostNameChar)) {
    return {};
  }
  std::string host(name.size(), '\0');
  std::transform(name.begin(), name.end(), host.begin(),
                 [](uint8_t c) { return static_cast<char>(toLower(c)); });
  return host;
}

// RFC 6066 section 3. False when the extension's lengths do not add up.
bool parseServerName(std::span<const uint8_t> data, std::string& sni) {
  Reader r(data);
  std::span<const uint8_t> list;
  if (!r.vec16(list) || !r.empty()) {
    return false;
  }
  Reader names(list);
  bool seen_host_name = false;
  while (!names.empty()) {
    uint8_t type = 0;
    std::span<const uint8_t> name;
    if (!names.u8(type) || !names.vec16(name)) {
      return false;
    }
    // Only the first host_name counts: a second one is a protocol error a server would reject,
    // so it must not override what the server actually used.
    if (type == kServerNameTypeHostName && !seen_host_name) {
      seen_host_name = true;
      sni = validHostName(name);
    }
  }
  return true;
}

// RFC 7301 section 3.1. False when the extension's lengths do not add up or a name is empty.
bool parseAlpn(std::span<const uint8_t> data, std::string& alpn_first) {
  Reader r(data);
  std::span<const uint8_t> list;
  if (!r.vec16(list) || !r.empty()) {
    return false;
  }
  Reader protocols(list);
  bool first = true;
  while (!protocols.empty()) {
    std::span<const uint8_t> protocol;
    if (!protocols.vec8(protocol) || protocol.empty()) {
      return false;
    }
    if (first && std::all_of(protocol.begin(), protocol.end(),
                             [](uint8_t c) { return c >= 0x20 && c < 0x7f; })) {
      alpn_first.assign(protocol.begin(), protocol.end());
    }
    first = false;
  }
  return true;
}

// ClientHello body, RFC 8446 section 4.1.2 (same layout back to SSL 3.0).
ParseStatus parseClientHelloBody(std::span<const uint8_t> body, TlsClientHello& hello) {
  Reader r(body);
  std::span<const uint8_t> random;
  std::span<const uint8_t> session_id;
  std::span<const uint8_t> cipher_suites;
  std::span<const uint8_t> compression_methods;
  if (!r.u16(hello.legacy_version) || !r.bytes(kRandomBytes, random) || !r.vec8(session_id) ||
      session_id.size() > kMaxSessionIdBytes || !r.vec16(cipher_suites) ||
      cipher_suites.size() < 2 || cipher_suites.size() % 2 != 0 || !r.vec8(compression_methods) ||
      compression_methods.empty()) {
    return ParseStatus::kMalformed;
  }
  // Hellos before TLS 1.2 may end here without an extensions block.
  if (r.empty()) {
    return ParseStatus::kFound;
  }
  // The extensions block must fill the rest of the body exactly (RFC 5246 section 7.4.1.2).
  std::span<const uint8_t> extensions;
  if (!r.vec16(extensions) || !r.empty()) {
    return ParseStatus::kMalformed;
  }
  Reader exts(extensions);
  bool seen_server_name = false;
  bool seen_alpn = false;
  while (!exts.empty()) {
    uint16_t type = 0;
    std::span<const uint8_t> data;
    if (!exts.u16(type) || !exts.vec16(data)) {
      return ParseStatus::kMalformed;
    }
    if (type == ext::kServerName && !seen_server_name) {
      seen_server_name = true;
      if (!parseServerName(data, hello.sni)) {
        return ParseStatus::kMalformed;
      }
    } else if (type == ext::kAlpn && !seen_alpn) {
      seen_alpn = true;
      if (!parseAlpn(data, hello.alpn_first)) {
        return ParseStatus::kMalformed;
      }
    } else if (type == ext::kEncryptedClientHello) {
      hello.has_ech = true;
    }
  }
  return ParseStatus::kFound;
}

ParseStatus parseMessage(std::span<const uint8_t> handshake, TlsClientHello& out) {
  if (handshake.empty()) {
    return ParseStatus::kNeedMore;
  }
  if (handshake[0] != kHandshakeClientHello) {
    return ParseStatus::kNotThis;
  }
  if (handshake.size() < kHandshakeHeaderBytes) {
    return ParseStatus::kNeedMore;
  }
  const size_t body_len = be24(handshake.data() + 1);
  if (kHandshakeHeaderBytes + body_len > kMaxClientHelloBytes) {
    return ParseStatus::kMalformed;
  }
  if (handshake.size() - kHandshakeHeaderBytes < body_len) {
    return ParseStatus::kNeedMore;
  }
  return parseClientHelloBody(handshake.subspan(kHandshakeHeaderBytes, body_len), out);
}

// Checks as much of the record header at the start of `rest` as is present. kFound means a
// complete, acceptable header. A wrong type or version is kNotThis on the first record (this is
// not TLS) but kMalformed later (TLS that broke off mid-handshake).
ParseStatus checkRecordHeader(std::span<const uint8_t> rest, bool first_record) {
  const ParseStatus wrong = first_record ? ParseStatus::kNotThis : ParseStatus::kMalformed;
  if (!rest.empty() && rest[0] != kContentTypeHandshake) {
    return wrong;
  }
  if (rest.size() >= 2 && rest[1] != 3) {
    return wrong;
  }
  if (rest.size() >= 3 && rest[2] > 4) {
    return wrong;
  }
  if (rest.size() < kRecordHeaderBytes) {
    return ParseStatus::kNeedMore;
  }
  // Zero-length handshake fragments are forbidden (RFC 8446 section 5.1); refusing them also
  // means every record adds at least one byte.
  const size_t len = be16(rest.data() + 3);
  if (len == 0 || len > kMaxRecordBodyBytes) {
    return ParseStatus::kMalformed;
  }
  return ParseStatus::kFound;
}

ParseStatus parseStream(std::span<const uint8_t> stream, TlsClientHello& out) {
  // Handshake bytes gathered from the records so far, used only when the ClientHello does not
  // fit its first record. Bounded: parseMessage() rejects a declared length over the cap before
  // more than one record past the 4-byte header is appended.
  std::vector<uint8_t> message;
  size_t pos = 0;
  for (bool first = true;; first = false) {
    const std::span<const uint8_t> rest = stream.subspan(pos);
    const ParseStatus header = checkRecordHeader(rest, first);
    if (header != ParseStatus::kFound) {
      return header;
    }
    const size_t record_len = be16(rest.data() + 3);
    const std::span<const uint8_t> fragment =
        rest.subspan(kRecordHeaderBytes, std::min(record_len, rest.size() - kRecordHeaderBytes));
    if (first) {
      // The common case: the whole hello in one record, parsed where it lies.
      const ParseStatus in_place = parseMessage(fragment, out);
      if (in_place != ParseStatus::kNeedMore) {
        return in_place;
      }
    }
    size_t take = fragment.size();
    if (message.size() >= kHandshakeHeaderBytes) {
      const size_t need = kHandshakeHeaderBytes + be24(message.data() + 1);
      take = std::min(take, need - message.size());
    }
    const std::span<const uint8_t> taken = fragment.first(take);
    message.insert(message.end(), taken.begin(), taken.end());
    const ParseStatus gathered = parseMessage(message, out);
    if (gathered != ParseStatus::kNeedMore || fragment.size() < record_len) {
      return gathered;
    }
    pos += kRecordHeaderBytes + record_len;
  }
}

}  // namespace

ParseStatus parseTlsClientHello(std::span<const uint8_t> stream, TlsClientHello& out) {
  out = TlsClientHello{};
  const ParseStatus status = parseStream(stream, out);
  if (status != ParseStatus::kFound) {
    out = TlsClientHello{};
  }
  return status;
}

ParseStatus parseTlsClientHelloMessage(std::span<const uint8_t> handshake, TlsClientHello& out) {
  out = TlsClientHello{};
  const ParseStatus status = parseMessage(handshake, out);
  if (status != ParseStatus::kFound) {
    out = TlsClientHello{};
  }
  return status;
}

}  // namespace nm
