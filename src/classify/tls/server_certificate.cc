#include "classify/tls/server_certificate.h"

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

namespace nm {
namespace {

constexpr uint8_t kHandshake = 22;
constexpr uint8_t kCertificate = 11;
constexpr size_t kMaxNames = 64;

uint32_t be16(const uint8_t* p) {
  return uint32_t{p[0]} << 8 | p[1];
}
uint32_t be24(const uint8_t* p) {
  return uint32_t{p[0]} << 16 | uint32_t{p[1]} << 8 | p[2];
}

std::string lowerHostName(const unsigned char* data, int len) {
  std::string s;
  if (len <= 0 || len > 253) {
    return s;
  }
  for (int i = 0; i < len; ++i) {
    const unsigned char c = data[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.' || c == '_' || c == '*';
    if (!ok) {
      return {};
    }
    s.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c));
  }
  return s;
}

ParseStatus namesFromDer(std::span<const uint8_t> der, std::vector<std::string>& names) {
  const unsigned char* p = der.data();
  std::unique_ptr<X509, decltype(&X509_free)> cert(
      d2i_X509(nullptr, &p, static_cast<long>(der.size())), X509_free);
  if (!cert) {
    return ParseStatus::kMalformed;
  }
  // Common name first: it is what nDPI and people call the certificate.
  X509_NAME* subject = X509_get_subject_name(cert.get());
  const int idx = subject != nullptr ? X509_NAME_get_index_by_NID(subject, NID_commonName, -1) : -1;
  if (idx >= 0) {
    ASN1_STRING* cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, idx));
    std::string name = lowerHostName(ASN1_STRING_get0_data(cn), ASN1_STRING_length(cn));
    if (!name.empty()) {
      names.push_back(std::move(name));
    }
  }
  auto* sans = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert.get(), NID_subject_alt_name, nullptr, nullptr));
  if (sans != nullptr) {
    for (int i = 0; i < sk_GENERAL_NAME_num(sans) && names.size() < kMaxNames; ++i) {
      const GENERAL_NAME* gn = sk_GENERAL_NAME_value(sans, i);
      if (gn->type == GEN_DNS) {
        std::string name =
            lowerHostName(ASN1_STRING_get0_data(gn->d.dNSName), ASN1_STRING_length(gn->d.dNSName));
        if (!name.empty()) {
          names.push_back(std::move(name));
        }
      }
    }
    GENERAL_NAMES_free(sans);
  }
  return ParseStatus::kFound;
}

}  // namespace

ParseStatus parseTlsServerCertificateNames(std::span<const uint8_t> stream,
                                           std::vector<std::string>& names) {
  names.clear();
  // Reassemble handshake bytes across records, then walk the messages.
  std::vector<uint8_t> hs;
  size_t pos = 0;
  bool ended = false;
  while (pos < stream.size()) {
    if (stream.size() - pos < 5) {
      break;
    }
    const uint8_t type = stream[pos];
    if (pos == 0 && (type != kHandshake || stream[pos + 1] != 3)) {
      return ParseStatus::kNotThis;
    }
    const uint32_t len = be16(stream.data() + pos + 3);
    if (type != kHandshake) {
      ended = true;  // ChangeCipherSpec, alert or application data: no more handshake in clear
      break;
    }
    if (stream.size() - pos - 5 < len) {
      break;
    }
    if (hs.size() + len > kMaxServerHandshakeBytes) {
      return ParseStatus::kMalformed;
    }
    hs.insert(hs.end(), stream.begin() + static_cast<long>(pos + 5),
              stream.begin() + static_cast<long>(pos + 5 + len));
    pos += 5 + len;
  }
  size_t off = 0;
  while (hs.size() - off >= 4) {
    const uint8_t msg_type = hs[off];
    const uint32_t msg_len = be24(hs.data() + off + 1);
    if (hs.size() - off - 4 < msg_len) {
      break;  // message continues in records not yet seen
    }
    if (msg_type == kCertificate) {
      const uint8_t* body = hs.data() + off + 4;
      if (msg_len < 6) {
        return ParseStatus::kMalformed;
      }
      const uint32_t list_len = be24(body);
      const uint32_t first_len = be24(body + 3);
      if (list_len > msg_len - 3 || first_len == 0 || first_len > list_len - 3) {
        return ParseStatus::kMalformed;
      }
      return namesFromDer({body + 6, first_len}, names);
    }
    off += 4 + msg_len;
  }
  return ended ? ParseStatus::kNotThis : ParseStatus::kNeedMore;
}

}  // namespace nm
