#pragma once
// Test-only helpers for the QUIC tests: hex fixtures, a TLS ClientHello builder and a client
// Initial *encryptor* (the product only decrypts), so tests can build split, reordered and
// coalesced Initials whose every byte is known.

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "classify/quic/initial_protection.h"
#include "support/hex.h"

namespace nm::quic::testing {

using Bytes = std::vector<uint8_t>;

using nm::testing::fromHex;

inline std::string toHex(std::span<const uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (uint8_t b : bytes) {
    out += kDigits[b >> 4];
    out += kDigits[b & 0x0f];
  }
  return out;
}

inline void appendVarint(Bytes& out, uint64_t v) {
  if (v < 0x40) {
    out.push_back(static_cast<uint8_t>(v));
  } else if (v < 0x4000) {
    out.push_back(static_cast<uint8_t>(0x40 | (v >> 8)));
    out.push_back(static_cast<uint8_t>(v));
  } else {
    out.push_back(static_cast<uint8_t>(0x80 | (v >> 24)));
    out.push_back(static_cast<uint8_t>(v >> 16));
    out.push_back(static_cast<uint8_t>(v >> 8));
    out.push_back(static_cast<uint8_t>(v));
  }
}

inline void append(Bytes& out, std::span<const uint8_t> bytes) {
  out.insert(out.end(), bytes.begin(), bytes.end());
}

// A CRYPTO frame carrying handshake bytes [offset, offset + data.size()).
inline Bytes cryptoFrame(uint64_t offset, std::span<const uint8_t> data) {
  Bytes f{0x06};
  appendVarint(f, offset);
  appendVarint(f, data.size());
  append(f, data);
  return f;
}

// A TLS 1.3 ClientHello handshake message (type, 3-byte length, body) naming `sni` (omitted
// when empty), padded with an extra extension to about `min_size` bytes so tests can split it.
inline Bytes clientHello(std::string_view sni, size_t min_size = 0) {
  Bytes body = {0x03, 0x03};
  for (int i = 0; i < 32; ++i) {
    body.push_back(static_cast<uint8_t>(i));  // random
  }
  body.push_back(0);                            // session id
  append(body, Bytes{0x00, 0x02, 0x13, 0x01});  // cipher suites
  append(body, Bytes{0x01, 0x00});              // compression
  Bytes exts;
  if (!sni.empty()) {
    const size_t n = sni.size();
    append(exts, Bytes{0x00, 0x00, static_cast<uint8_t>((n + 5) >> 8), static_cast<uint8_t>(n + 5),
                       static_cast<uint8_t>((n + 3) >> 8), static_cast<uint8_t>(n + 3), 0x00,
                       static_cast<uint8_t>(n >> 8), static_cast<uint8_t>(n)});
    exts.insert(exts.end(), sni.begin(), sni.end());
  }
  append(exts, Bytes{0x00, 0x2b, 0x00, 0x03, 0x02, 0x03, 0x04});  // supported_versions
  const size_t so_far = 4 + body.size() + 2 + exts.size();
  if (min_size > so_far + 4) {
    const size_t pad = min_size - so_far - 4;
    append(exts, Bytes{0x00, 0x15, static_cast<uint8_t>(pad >> 8), static_cast<uint8_t>(pad)});
    exts.insert(exts.end(), pad, 0);  // padding extension (RFC 7685)
  }
  body.push_back(static_cast<uint8_t>(exts.size() >> 8));
  body.push_back(static_cast<uint8_t>(exts.size()));
  append(body, exts);
  Bytes msg = {0x01, static_cast<uint8_t>(body.size() >> 16),
               static_cast<uint8_t>(body.size() >> 8), static_cast<uint8_t>(body.size())};
  append(msg, body);
  return msg;
}

struct InitialSpec {
  uint32_t version = 1;
  Bytes dcid = fromHex("8394c8f03e515708");
  Bytes key_dcid;  // the ID the keys come from when not `dcid` (later Initials, after Retry)
  Bytes scid;
  Bytes token;
  uint64_t packet_number = 0;
  size_t pn_length = 2;  // 1..4
  size_t pad_to = 0;     // PADDING frames until the packet is at least this long
};

// Encrypts `frames` into one protected client Initial packet (RFC 9001 5.3/5.4). Throws on
// misuse: this is test scaffolding, not packet-path code.
inline Bytes protectInitial(const InitialSpec& spec, Bytes frames) {
  InitialVersion v;
  if (!lookupInitialVersion(spec.version, v) || spec.pn_length < 1 || spec.pn_length > 4) {
    throw std::invalid_argument("bad InitialSpec");
  }
  InitialKeys keys;
  if (!deriveClientInitialKeys(v, spec.key_dcid.empty() ? spec.dcid : spec.key_dcid, keys)) {
    throw std::runtime_error("derive");
  }
  // Header up to the Length field; Length is fixed at two bytes so it can be filled last.
  Bytes header;
  header.push_back(static_cast<uint8_t>(0xc0 | (v.types.initial << 4) | (spec.pn_length - 1)));
  for (int shift = 24; shift >= 0; shift -= 8) {
    header.push_back(static_cast<uint8_t>(spec.version >> shift));
  }
  header.push_back(static_cast<uint8_t>(spec.dcid.size()));
  append(header, spec.dcid);
  header.push_back(static_cast<uint8_t>(spec.scid.size()));
  append(header, spec.scid);
  appendVarint(header, spec.token.size());
  append(header, spec.token);
  const size_t fixed = header.size() + 2 + spec.pn_length + kAeadTagLength;
  // The sample needs 4 + 16 bytes after the packet number's start.
  size_t min_payload = 4 + kSampleLength > spec.pn_length + kAeadTagLength
                           ? 4 + kSampleLength - spec.pn_length - kAeadTagLength
                           : 0;
  if (spec.pad_to > fixed + frames.size()) {
    min_payload = std::max(min_payload, spec.pad_to - fixed);
  }
  if (frames.size() < min_payload) {
    frames.resize(min_payload, 0x00);
  }
  const size_t length = spec.pn_length + frames.size() + kAeadTagLength;
  header.push_back(static_cast<uint8_t>(0x40 | (length >> 8)));
  header.push_back(static_cast<uint8_t>(length));
  const size_t pn_offset = header.size();
  for (size_t i = 0; i < spec.pn_length; ++i) {
    header.push_back(static_cast<uint8_t>(spec.packet_number >> (8 * (spec.pn_length - 1 - i))));
  }

  const std::array<uint8_t, 12> nonce = packetNonce(keys, spec.packet_number);
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  Bytes sealed(frames.size() + kAeadTagLength);
  int n = 0;
  const bool ok =
      EVP_EncryptInit_ex(ctx, EVP_aes_128_gcm(), nullptr, keys.key.data(), nonce.data()) == 1 &&
      EVP_EncryptUpdate(ctx, nullptr, &n, header.data(), static_cast<int>(header.size())) == 1 &&
      EVP_EncryptUpdate(ctx, sealed.data(), &n, frames.data(), static_cast<int>(frames.size())) ==
          1 &&
      EVP_EncryptFinal_ex(ctx, sealed.data() + frames.size(), &n) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, static_cast<int>(kAeadTagLength),
                          sealed.data() + frames.size()) == 1;
  EVP_CIPHER_CTX_free(ctx);
  if (!ok) {
    throw std::runtime_error("seal");
  }
  Bytes packet = header;
  append(packet, sealed);
  std::array<uint8_t, 5> mask{};
  if (!headerProtectionMask(keys.hp, std::span(packet).subspan(pn_offset + 4, kSampleLength),
                            mask)) {
    throw std::runtime_error("mask");
  }
  packet[0] = static_cast<uint8_t>(packet[0] ^ (mask[0] & 0x0f));
  for (size_t i = 0; i < spec.pn_length; ++i) {
    packet[pn_offset + i] = static_cast<uint8_t>(packet[pn_offset + i] ^ mask[1 + i]);
  }
  return packet;
}

inline Bytes concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) {
    append(out, p);
  }
  return out;
}

}  // namespace nm::quic::testing
