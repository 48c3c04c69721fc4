#pragma once
// TLS ClientHello parsing for classification: the server name, the first ALPN protocol, the
// legacy version and whether the hello is ECH-encrypted.
//
// Both functions are pure: they read only the given bytes, keep no state between calls, throw
// nothing of their own (std::string may still throw bad_alloc) and may be called from any
// thread. `out` is overwritten on every call and is meaningful only when kFound is returned.
// Every length is checked against the bytes present; no field in the input is trusted.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "classify/parse_status.h"

namespace nm {

// Largest handshake message (4-byte header + body) either function will wait for. Real
// ClientHellos are 0.2-2 KiB (a few KiB with post-quantum key shares); a declared length above
// this is kMalformed, so a caller is never asked to buffer without bound.
inline constexpr size_t kMaxClientHelloBytes = 64 * 1024;

// Longest server name kept (RFC 1035 presentation limit without the trailing dot).
inline constexpr size_t kMaxServerNameLength = 253;

struct TlsClientHello {
  // server_name extension's first host_name, lower-cased. Empty when the extension is absent
  // or its name is not 1..253 characters of [A-Za-z0-9._-]. With ECH this is the outer,
  // public name of the client-facing server, not the inner (real) one.
  std::string sni;
  // First protocol of the ALPN extension ("h2", "http/1.1"); empty when absent or when that
  // protocol contains bytes outside printable ASCII.
  std::string alpn_first;
  // ClientHello.legacy_version (0x0303 for TLS 1.2 and 1.3), not the record-layer version.
  uint16_t legacy_version = 0;
  // encrypted_client_hello extension (0xfe0d) present.
  bool has_ech = false;
};

// Parses the ClientHello at the start of a client's TCP byte stream.
//
// `stream` holds the client-to-server bytes from the first byte of the connection, possibly
// several segments concatenated by the caller. The ClientHello may span several TLS records;
// the records are reassembled (at most kMaxClientHelloBytes are copied).
//   kFound     the whole ClientHello is in `stream`; bytes after it are ignored.
//   kNeedMore  a valid prefix of a ClientHello: call again with the stream extended.
//   kNotThis   the first record is not a TLS handshake record (type 22, version 3.0..3.4) or
//              its first handshake message is not a ClientHello. SSLv2-format hellos land here.
//   kMalformed a record or message length that is zero, too large or inconsistent, a
//              non-handshake record before the ClientHello is complete, or a ClientHello
//              whose fields overrun it.
// Once a call has returned anything but kNeedMore, longer streams return the same result.
ParseStatus parseTlsClientHello(std::span<const uint8_t> stream, TlsClientHello& out);

// Parses a bare handshake message: type (1 = ClientHello), 3-byte length, body. Used for TLS
// and for QUIC CRYPTO-frame data. Bytes after the message are ignored. Statuses as above;
// kNeedMore when `handshake` ends before the declared length.
ParseStatus parseTlsClientHelloMessage(std::span<const uint8_t> handshake, TlsClientHello& out);

}  // namespace nm
