#include "classify/quic/initial_protection.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <algorithm>
#include <climits>
#include <string_view>

namespace nm::quic {
namespace {

// Salts: RFC 9001 5.2 (v1, also used by drafts 33-34), RFC 9369 3.3.1 (v2), and the drafts'
// own: draft-22, drafts 23-28, drafts 29-32. Google's T05x versions carry their own salts.
constexpr std::array<uint8_t, 20> kSaltV1 = {0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34,
                                             0xb3, 0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8,
                                             0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a};
constexpr std::array<uint8_t, 20> kSaltV2 = {0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6,
                                             0xdb, 0x81, 0x93, 0x81, 0xbe, 0x6e, 0x26,
                                             0x9d, 0xcb, 0xf9, 0xbd, 0x2e, 0xd9};
constexpr std::array<uint8_t, 20> kSaltDraft22 = {0x7f, 0xbc, 0xdb, 0x0e, 0x7c, 0x66, 0xbb,
                                                  0xe9, 0x19, 0x3a, 0x96, 0xcd, 0x21, 0x51,
                                                  0x9e, 0xbd, 0x7a, 0x02, 0x64, 0x4a};
constexpr std::array<uint8_t, 20> kSaltDraft23 = {0xc3, 0xee, 0xf7, 0x12, 0xc7, 0x2e, 0xbb,
                                                  0x5a, 0x11, 0xa7, 0xd2, 0x43, 0x2b, 0xb4,
                                                  0x63, 0x65, 0xbe, 0xf9, 0xf5, 0x02};
constexpr std::array<uint8_t, 20> kSaltDraft29 = {0xaf, 0xbf, 0xec, 0x28, 0x99, 0x93, 0xd2,
                                                  0x4c, 0x9e, 0x97, 0x86, 0xf1, 0x9c, 0x61,
                                                  0x11, 0xe0, 0x43, 0x90, 0xa8, 0x99};
constexpr std::array<uint8_t, 20> kSaltT050 = {0x7f, 0xf5, 0x79, 0xe5, 0xac, 0xd0, 0x72,
                                               0x91, 0x55, 0x80, 0x30, 0x4c, 0x43, 0xa2,
                                               0x36, 0x7c, 0x60, 0x48, 0x83, 0x10};
constexpr std::array<uint8_t, 20> kSaltT051 = {0x7a, 0x4e, 0xde, 0xf4, 0xe7, 0xcc, 0xee,
                                               0x5f, 0xa4, 0x50, 0x6c, 0x19, 0x12, 0x4f,
                                               0xc8, 0xcc, 0xda, 0x6e, 0x03, 0x3d};

namespace version {
constexpr uint32_t kV1 = 0x00000001;
constexpr uint32_t kV2 = 0x6b3343cf;
constexpr uint32_t kDraftPrefix = 0xff000000;
constexpr uint32_t kMvfst22 = 0xfaceb001;
constexpr uint32_t kMvfst27 = 0xfaceb002;
constexpr uint32_t kMvfstExperimental = 0xfaceb00e;
constexpr uint32_t kT050 = 0x54303530;
constexpr uint32_t kT051 = 0x54303531;
}  // namespace version

// Fetched once: an implicit fetch on every EVP_*Init costs a lock and a lookup per packet.
// Never freed; they live as long as the process, like OpenSSL's own default provider.
EVP_KDF* hkdf() {
  static EVP_KDF* const kdf = EVP_KDF_fetch(nullptr, OSSL_KDF_NAME_HKDF, nullptr);
  return kdf;
}
const EVP_CIPHER* aes128Gcm() {
  static EVP_CIPHER* const cipher = EVP_CIPHER_fetch(nullptr, "AES-128-GCM", nullptr);
  return cipher;
}
const EVP_CIPHER* aes128Ecb() {
  static EVP_CIPHER* const cipher = EVP_CIPHER_fetch(nullptr, "AES-128-ECB", nullptr);
  return cipher;
}

// Returns `ok`, clearing what a failed OpenSSL call left on this thread's error queue.
bool finish(bool ok) {
  if (!ok) {
    ERR_clear_error();
  }
  return ok;
}

class KdfContext {
 public:
  KdfContext() : ctx_(hkdf() != nullptr ? EVP_KDF_CTX_new(hkdf()) : nullptr) {}
  ~KdfContext() { EVP_KDF_CTX_free(ctx_); }
  KdfContext(const KdfContext&) = delete;
  KdfContext& operator=(const KdfContext&) = delete;
  EVP_KDF_CTX* get() const { return ctx_; }

 private:
  EVP_KDF_CTX* ctx_;
};

class CipherContext {
 public:
  CipherContext() : ctx_(EVP_CIPHER_CTX_new()) {}
  ~CipherContext() { EVP_CIPHER_CTX_free(ctx_); }
  CipherContext(const CipherContext&) = delete;
  CipherContext& operator=(const CipherContext&) = delete;
  EVP_CIPHER_CTX* get() const { return ctx_; }

 private:
  EVP_CIPHER_CTX* ctx_;
};

// OSSL_PARAM takes non-const pointers even for inputs it only reads.
void* mutableBytes(const void* p) {
  return const_cast<void*>(p);
}

bool hkdfExtract(std::span<const uint8_t> salt, std::span<const uint8_t> ikm,
                 std::span<uint8_t, kSecretLength> prk) {
  KdfContext kdf;
  if (kdf.get() == nullptr) {
    return false;
  }
  int mode = EVP_KDF_HKDF_MODE_EXTRACT_ONLY;
  char digest[] = "SHA256";
  // An empty IKM (zero-length DCID) still needs a valid pointer for the parameter.
  static const uint8_t kEmpty = 0;
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode),
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(
          OSSL_KDF_PARAM_KEY, mutableBytes(ikm.empty() ? &kEmpty : ikm.data()), ikm.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, mutableBytes(salt.data()),
                                        salt.size()),
      OSSL_PARAM_construct_end(),
  };
  return EVP_KDF_derive(kdf.get(), prk.data(), prk.size(), params) == 1;
}

// HKDF-Expand-Label(secret, label, "", out.size()) of RFC 8446 7.1, with the "tls13 " prefix.
bool hkdfExpandLabel(std::span<const uint8_t> secret, std::string_view label,
                     std::span<uint8_t> out) {
  constexpr std::string_view kPrefix = "tls13 ";
  std::array<uint8_t, 2 + 1 + 255 + 1> info{};
  const size_t label_length = kPrefix.size() + label.size();
  if (label_length > 255 || out.size() > 0xffff) {
    return false;
  }
  size_t n = 0;
  info[n++] = static_cast<uint8_t>(out.size() >> 8);
  info[n++] = static_cast<uint8_t>(out.size());
  info[n++] = static_cast<uint8_t>(label_length);
  for (char c : kPrefix) {
    info[n++] = static_cast<uint8_t>(c);
  }
  for (char c : label) {
    info[n++] = static_cast<uint8_t>(c);
  }
  info[n++] = 0;  // empty context

  KdfContext kdf;
  if (kdf.get() == nullptr) {
    return false;
  }
  int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode),
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, mutableBytes(secret.data()),
                                        secret.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info.data(), n),
      OSSL_PARAM_construct_end(),
  };
  return EVP_KDF_derive(kdf.get(), out.data(), out.size(), params) == 1;
}

}  // namespace

bool lookupInitialVersion(uint32_t v, InitialVersion& out) {
  out = InitialVersion{};
  out.version = v;
  if (v == version::kV1) {
    out.salt = kSaltV1;
    return true;
  }
  if (v == version::kV2) {
    out.salt = kSaltV2;
    out.v2_labels = true;
    out.types = LongHeaderTypes{.initial = 1, .zero_rtt = 2, .handshake = 3, .retry = 0};
    return true;
  }
  if ((v & 0xffffff00) == version::kDraftPrefix) {
    const uint32_t draft = v & 0xff;
    if (draft == 22) {
      out.salt = kSaltDraft22;
    } else if (draft >= 23 && draft <= 28) {
      out.salt = kSaltDraft23;
    } else if (draft >= 29 && draft <= 32) {
      out.salt = kSaltDraft29;
    } else if (draft == 33 || draft == 34) {
      out.salt = kSaltV1;
    } else {
      return false;
    }
    return true;
  }
  switch (v) {
    case version::kMvfst22:
      out.salt = kSaltDraft22;
      return true;
    case version::kMvfst27:
    case version::kMvfstExperimental:
      out.salt = kSaltDraft23;
      return true;
    case version::kT050:
      out.salt = kSaltT050;
      out.google_frames = true;
      return true;
    case version::kT051:
      out.salt = kSaltT051;
      out.google_frames = true;
      return true;
    default:
      return false;
  }
}

bool deriveClientInitialSecret(const InitialVersion& v, std::span<const uint8_t> dcid,
                               std::array<uint8_t, kSecretLength>& secret) {
  if (dcid.size() > kMaxConnectionIdLength || v.salt.empty()) {
    return false;
  }
  std::array<uint8_t, kSecretLength> initial_secret{};
  const bool ok = hkdfExtract(v.salt, dcid, initial_secret) &&
                  hkdfExpandLabel(initial_secret, "client in", secret);
  return finish(ok);
}

bool deriveInitialKeys(const InitialVersion& v, std::span<const uint8_t, kSecretLength> secret,
                       InitialKeys& out) {
  const bool ok = hkdfExpandLabel(secret, v.v2_labels ? "quicv2 key" : "quic key", out.key) &&
                  hkdfExpandLabel(secret, v.v2_labels ? "quicv2 iv" : "quic iv", out.iv) &&
                  hkdfExpandLabel(secret, v.v2_labels ? "quicv2 hp" : "quic hp", out.hp);
  return finish(ok);
}

bool deriveClientInitialKeys(const InitialVersion& v, std::span<const uint8_t> dcid,
                             InitialKeys& out) {
  std::array<uint8_t, kSecretLength> secret{};
  return deriveClientInitialSecret(v, dcid, secret) && deriveInitialKeys(v, secret, out);
}

bool headerProtectionMask(std::span<const uint8_t, 16> hp, std::span<const uint8_t> sample,
                          std::array<uint8_t, 5>& mask) {
  if (sample.size() < kSampleLength || aes128Ecb() == nullptr) {
    return false;
  }
  CipherContext ctx;
  std::array<uint8_t, kSampleLength + 16> block{};  // room for a padding block we never ask for
  int written = 0;
  const bool ok = ctx.get() != nullptr &&
                  EVP_EncryptInit_ex2(ctx.get(), aes128Ecb(), hp.data(), nullptr, nullptr) == 1 &&
                  EVP_CIPHER_CTX_set_padding(ctx.get(), 0) == 1 &&
                  EVP_EncryptUpdate(ctx.get(), block.data(), &written, sample.data(),
                                    static_cast<int>(kSampleLength)) == 1 &&
                  written == static_cast<int>(kSampleLength);
  if (ok) {
    std::copy_n(block.begin(), mask.size(), mask.begin());
  }
  return finish(ok);
}

std::array<uint8_t, 12> packetNonce(const InitialKeys& keys, uint64_t packet_number) {
  std::array<uint8_t, 12> nonce = keys.iv;
  for (size_t i = 0; i < 8; ++i) {
    nonce[nonce.size() - 1 - i] ^= static_cast<uint8_t>(packet_number >> (8 * i));
  }
  return nonce;
}

bool openPayload(const InitialKeys& keys, uint64_t packet_number,
                 std::span<const std::span<const uint8_t>> aad,
                 std::span<const uint8_t> ciphertext_and_tag, std::vector<uint8_t>& plaintext) {
  plaintext.clear();
  if (ciphertext_and_tag.size() < kAeadTagLength || aes128Gcm() == nullptr) {
    return false;
  }
  const size_t ciphertext_length = ciphertext_and_tag.size() - kAeadTagLength;
  if (ciphertext_length > INT_MAX) {
    return false;
  }
  const std::array<uint8_t, 12> nonce = packetNonce(keys, packet_number);
  CipherContext ctx;
  if (ctx.get() == nullptr ||
      EVP_DecryptInit_ex2(ctx.get(), aes128Gcm(), keys.key.data(), nonce.data(), nullptr) != 1) {
    return finish(false);
  }
  int written = 0;
  for (std::span<const uint8_t> piece : aad) {
    if (piece.size() > INT_MAX ||
        (!piece.empty() && EVP_DecryptUpdate(ctx.get(), nullptr, &written, piece.data(),
                                             static_cast<int>(piece.size())) != 1)) {
      return finish(false);
    }
  }
  // GCM is a stream mode: the output is exactly as long as the input. One spare byte keeps
  // data() valid for an empty payload.
  plaintext.resize(ciphertext_length + 1);
  if (ciphertext_length > 0 &&
      EVP_DecryptUpdate(ctx.get(), plaintext.data(), &written, ciphertext_and_tag.data(),
                        static_cast<int>(ciphertext_length)) != 1) {
    plaintext.clear();
    return finish(false);
  }
  std::array<uint8_t, kAeadTagLength> tag{};
  std::copy_n(ciphertext_and_tag.begin() + static_cast<ptrdiff_t>(ciphertext_length), tag.size(),
              tag.begin());
  int final_written = 0;
  const bool ok =
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(tag.size()),
                          tag.data()) == 1 &&
      EVP_DecryptFinal_ex(ctx.get(), plaintext.data() + ciphertext_length, &final_written) == 1;
  if (!ok) {
    plaintext.clear();
    return finish(false);
  }
  plaintext.resize(ciphertext_length);
  return true;
}

}  // namespace nm::quic
