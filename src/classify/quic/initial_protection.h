#pragma once
// Private to classify/quic: the cryptography of QUIC Initial packets (RFC 9001 section 5,
// RFC 9369 section 3.3). Which versions we can open, the client Initial keys derived from a
// Destination Connection ID, the header-protection mask and AES-128-GCM opening.
//
// Every function is pure, throws nothing, keeps no state of its own beyond OpenSSL algorithm
// handles fetched once per process, and may be called from any thread. OpenSSL errors raised
// here are cleared before returning, so callers' error queues stay as they were.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace nm::quic {

inline constexpr size_t kMaxConnectionIdLength = 20;  // RFC 9000 17.2, for every version here
inline constexpr size_t kSampleLength = 16;           // header-protection sample (AES)
inline constexpr size_t kAeadTagLength = 16;          // AES-128-GCM tag
inline constexpr size_t kSecretLength = 32;           // SHA-256 output

// Long-header packet types as the wire encodes them; v2 permutes them (RFC 9369 3.2).
struct LongHeaderTypes {
  uint8_t initial = 0;
  uint8_t zero_rtt = 1;
  uint8_t handshake = 2;
  uint8_t retry = 3;
};

// What differs between the QUIC versions whose Initial packets we can open.
struct InitialVersion {
  uint32_t version = 0;
  std::span<const uint8_t> salt;  // initial_salt; points at static storage
  bool v2_labels = false;         // "quicv2 key/iv/hp" instead of "quic key/iv/hp"
  bool google_frames = false;     // T05x: gQUIC frame types inside (CRYPTO is 0x08, PING 0x07)
  LongHeaderTypes types;
};

// Looks up `version` (the long header's 32-bit Version field). Known: v1, v2, IETF drafts
// 22..34 (0xff000016..0xff000022, each with its draft's salt), mvfst 0xfaceb001/2/e and Google's
// T050/T051. False for anything else, including 0 (Version Negotiation) and gQUIC Qxxx.
bool lookupInitialVersion(uint32_t version, InitialVersion& out);

struct InitialKeys {
  std::array<uint8_t, 16> key{};  // AEAD key
  std::array<uint8_t, 12> iv{};   // AEAD IV, XORed with the packet number into the nonce
  std::array<uint8_t, 16> hp{};   // header-protection key
};

// HKDF-Extract(salt, dcid) then HKDF-Expand-Label(..., "client in") into `secret`, and the
// key/iv/hp from that secret. `dcid` is the client's first Destination Connection ID (0..20
// bytes; longer is rejected). False only when OpenSSL fails.
bool deriveClientInitialSecret(const InitialVersion& v, std::span<const uint8_t> dcid,
                               std::array<uint8_t, kSecretLength>& secret);
bool deriveInitialKeys(const InitialVersion& v, std::span<const uint8_t, kSecretLength> secret,
                       InitialKeys& out);
bool deriveClientInitialKeys(const InitialVersion& v, std::span<const uint8_t> dcid,
                             InitialKeys& out);

// AES-128-ECB of the 16-byte sample under `hp`; the first 5 bytes are the mask. Symmetric:
// the same mask protects and unprotects.
bool headerProtectionMask(std::span<const uint8_t, 16> hp, std::span<const uint8_t> sample,
                          std::array<uint8_t, 5>& mask);

// The 12-byte AEAD nonce: iv XOR the packet number, left-padded (RFC 9001 5.3).
std::array<uint8_t, 12> packetNonce(const InitialKeys& keys, uint64_t packet_number);

// AES-128-GCM decryption of `ciphertext_and_tag` (ciphertext followed by the 16-byte tag).
// The associated data is the concatenation of the `aad` pieces (the header is passed in pieces
// so the caller need not copy it). On success `plaintext` holds the payload; false when the
// tag does not verify or the input is shorter than a tag.
bool openPayload(const InitialKeys& keys, uint64_t packet_number,
                 std::span<const std::span<const uint8_t>> aad,
                 std::span<const uint8_t> ciphertext_and_tag, std::vector<uint8_t>& plaintext);

}  // namespace nm::quic
