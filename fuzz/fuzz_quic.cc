// libFuzzer target for QuicInitialReassembler: a few datagrams, fed to one reassembler, must
// never crash, read out of bounds, or break a promise of quic_initial.h.
//
// Random bytes almost never carry a valid AEAD tag, so a target that only passes bytes through
// would stop at decryption. The first input byte therefore picks one of two modes:
//   bit 0 clear  "raw":    the records are UDP payloads, passed as they are (header parsing,
//                          header protection, authentication failures).
//   bit 0 set    "sealed": each record is the plaintext frames of one client Initial, which
//                          this harness encrypts with the real keys, so the frame walker, the
//                          CRYPTO reassembly and the TLS parser see fuzzer-chosen bytes.
//   bits 1-2     version in sealed mode: v1, v2, draft-29, T051.
// Records: a 2-byte big-endian length, then that many bytes (cut to what is left); at most
// kMaxRecords. In sealed mode a record's first byte is its options: bits 0-1 the packet number
// length - 1, bit 2 coalesce into the previous datagram, bit 3 use another DCID (re-keying).

#include <openssl/evp.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "classify/quic/initial_protection.h"
#include "classify/quic/quic_initial.h"

namespace {

constexpr size_t kMaxRecords = 8;
constexpr std::array<uint32_t, 4> kVersions = {0x00000001, 0x6b3343cf, 0xff00001d, 0x54303531};

using Bytes = std::vector<uint8_t>;

void appendVarint2(Bytes& out, size_t v) {
  out.push_back(static_cast<uint8_t>(0x40 | ((v >> 8) & 0x3f)));
  out.push_back(static_cast<uint8_t>(v));
}

// Encrypts `frames` into a client Initial (RFC 9001 5.3, 5.4). False when OpenSSL fails.
bool seal(uint32_t version, std::span<const uint8_t> dcid, uint64_t packet_number, size_t pn_length,
          Bytes frames, Bytes& packet) {
  nm::quic::InitialVersion v;
  nm::quic::InitialKeys keys;
  if (!nm::quic::lookupInitialVersion(version, v) ||
      !nm::quic::deriveClientInitialKeys(v, dcid, keys)) {
    return false;
  }
  // The header-protection sample needs 4 + 16 bytes from the packet number's start.
  if (frames.size() < 4) {
    frames.resize(4, 0);
  }
  const size_t length = pn_length + frames.size() + nm::quic::kAeadTagLength;
  if (length > 0x3fff) {
    return false;
  }
  Bytes header;
  header.push_back(static_cast<uint8_t>(0xc0 | (v.types.initial << 4) | (pn_length - 1)));
  for (int shift = 24; shift >= 0; shift -= 8) {
    header.push_back(static_cast<uint8_t>(version >> shift));
  }
  header.push_back(static_cast<uint8_t>(dcid.size()));
  header.insert(header.end(), dcid.begin(), dcid.end());
  header.push_back(0);  // SCID length
  header.push_back(0);  // token length
  appendVarint2(header, length);
  const size_t pn_offset = header.size();
  for (size_t i = 0; i < pn_length; ++i) {
    header.push_back(static_cast<uint8_t>(packet_number >> (8 * (pn_length - 1 - i))));
  }
  const std::array<uint8_t, 12> nonce = nm::quic::packetNonce(keys, packet_number);
  Bytes sealed(frames.size() + nm::quic::kAeadTagLength);
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  int n = 0;
  const bool ok =
      ctx != nullptr &&
      EVP_EncryptInit_ex(ctx, EVP_aes_128_gcm(), nullptr, keys.key.data(), nonce.data()) == 1 &&
      EVP_EncryptUpdate(ctx, nullptr, &n, header.data(), static_cast<int>(header.size())) == 1 &&
      EVP_EncryptUpdate(ctx, sealed.data(), &n, frames.data(), static_cast<int>(frames.size())) ==
          1 &&
      EVP_EncryptFinal_ex(ctx, sealed.data() + frames.size(), &n) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, sealed.data() + frames.size()) == 1;
  EVP_CIPHER_CTX_free(ctx);
  if (!ok) {
    return false;
  }
  packet = header;
  packet.insert(packet.end(), sealed.begin(), sealed.end());
  std::array<uint8_t, 5> mask{};
  if (!nm::quic::headerProtectionMask(
          keys.hp, std::span<const uint8_t>(packet).subspan(pn_offset + 4, 16), mask)) {
    return false;
  }
  packet[0] = static_cast<uint8_t>(packet[0] ^ (mask[0] & 0x0f));
  for (size_t i = 0; i < pn_length; ++i) {
    packet[pn_offset + i] = static_cast<uint8_t>(packet[pn_offset + i] ^ mask[1 + i]);
  }
  return true;
}

std::vector<std::span<const uint8_t>> records(std::span<const uint8_t> in) {
  std::vector<std::span<const uint8_t>> out;
  while (in.size() >= 2 && out.size() < kMaxRecords) {
    const size_t want = (size_t{in[0]} << 8) | in[1];
    in = in.subspan(2);
    const size_t take = want < in.size() ? want : in.size();
    out.push_back(in.first(take));
    in = in.subspan(take);
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) {
    return 0;
  }
  const uint8_t mode = data[0];
  const std::vector<std::span<const uint8_t>> recs = records({data + 1, size - 1});

  std::vector<Bytes> datagrams;
  if ((mode & 1) == 0) {
    for (std::span<const uint8_t> r : recs) {
      datagrams.emplace_back(r.begin(), r.end());
    }
  } else {
    const uint32_t version = kVersions[(mode >> 1) & 3];
    const std::array<uint8_t, 8> dcid = {0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08};
    const std::array<uint8_t, 9> other_dcid = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    uint64_t packet_number = 0;
    for (std::span<const uint8_t> r : recs) {
      if (r.empty()) {
        continue;
      }
      const uint8_t options = r[0];
      Bytes packet;
      const std::span<const uint8_t> id = (options & 8) != 0 ? std::span<const uint8_t>(other_dcid)
                                                             : std::span<const uint8_t>(dcid);
      if (!seal(version, id, packet_number++, (options & 3) + 1, Bytes(r.begin() + 1, r.end()),
                packet)) {
        continue;
      }
      if ((options & 4) != 0 && !datagrams.empty()) {
        datagrams.back().insert(datagrams.back().end(), packet.begin(), packet.end());
      } else {
        datagrams.push_back(std::move(packet));
      }
    }
  }

  nm::QuicInitialReassembler reassembler;
  bool found = false;
  for (const Bytes& d : datagrams) {
    const nm::ParseStatus status = reassembler.addDatagram(d);
    // Promises of quic_initial.h: kFound is final, and the name is a plain host name.
    if (found && status != nm::ParseStatus::kFound) {
      __builtin_trap();
    }
    if (status == nm::ParseStatus::kFound) {
      found = true;
      if (reassembler.sni().size() > 253 || reassembler.version() == 0) {
        __builtin_trap();
      }
    }
  }
  return 0;
}
