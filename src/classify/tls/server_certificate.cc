#include "classify/tls/server_certificate.h"
#include "core/byte_order.h"

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstring>
#include <memory>

namespace nm {
namespace {

constexpr uint8_t kHandshake = 22;
constexpr uint8_t kCertificate = 11;
constexpr size_t kMaxNames = 64;

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

// One DER element: tag, and the bounds of its contents within `der`.
struct Element {
  uint8_t tag = 0;
  size_t start = 0;  // the tag byte
  size_t begin = 0;  // contents
  size_t end = 0;
};

// Reads the element at `pos`; false when it runs past `limit` or its length is not DER.
bool readElement(std::span<const uint8_t> der, size_t pos, size_t limit, Element& e) {
  if (pos + 2 > limit) {
    return false;
  }
  e.tag = der[pos];
  e.start = pos;
  size_t len = der[pos + 1];
  size_t off = pos + 2;
  if (len & 0x80) {
    const size_t n = len & 0x7f;
    if (n == 0 || n > 3 || off + n > limit) {
      return false;
    }
    len = 0;
    for (size_t i = 0; i < n; ++i) {
      len = len << 8 | der[off + i];
    }
    off += n;
  }
  if (len > limit - off) {
    return false;
  }
  e.begin = off;
  e.end = off + len;
  return true;
}

constexpr uint8_t kSequence = 0x30;
constexpr uint8_t kExplicit0 = 0xa0;  // [0] version
constexpr uint8_t kExplicit3 = 0xa3;  // [3] extensions
constexpr uint8_t kOid = 0x06;
constexpr uint8_t kOctetString = 0x04;
constexpr uint8_t kSanOid[] = {0x55, 0x1d, 0x11};  // 2.5.29.17 subjectAltName

// Only the subject and the subjectAltName extension are located here, by walking the
// certificate's outer DER; OpenSSL decodes those two pieces. (d2i_X509 of the whole certificate
// decodes the public key through OpenSSL 3's providers, at over a million instructions a
// certificate.)
ParseStatus namesFromDer(std::span<const uint8_t> der, std::vector<std::string>& names) {
  Element cert;
  Element tbs;
  if (!readElement(der, 0, der.size(), cert) || cert.tag != kSequence ||
      !readElement(der, cert.begin, cert.end, tbs) || tbs.tag != kSequence) {
    return ParseStatus::kMalformed;
  }
  // tbsCertificate: [0] version?, serial, signature, issuer, validity, subject, spki, ...
  std::vector<Element> fields;
  for (size_t pos = tbs.begin; pos < tbs.end && fields.size() < 16;) {
    Element e;
    if (!readElement(der, pos, tbs.end, e)) {
      return ParseStatus::kMalformed;
    }
    fields.push_back(e);
    pos = e.end;
  }
  const size_t first = !fields.empty() && fields[0].tag == kExplicit0 ? 1 : 0;
  const size_t subject_index = first + 4;
  if (fields.size() <= subject_index + 1 || fields[subject_index].tag != kSequence) {
    return ParseStatus::kMalformed;
  }
  const Element& subj = fields[subject_index];
  const unsigned char* p = der.data() + subj.start;
  std::unique_ptr<X509_NAME, decltype(&X509_NAME_free)> subject(
      d2i_X509_NAME(nullptr, &p, static_cast<long>(subj.end - subj.start)), X509_NAME_free);
  if (subject) {
    const int idx = X509_NAME_get_index_by_NID(subject.get(), NID_commonName, -1);
    if (idx >= 0) {
      ASN1_STRING* cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject.get(), idx));
      std::string name = lowerHostName(ASN1_STRING_get0_data(cn), ASN1_STRING_length(cn));
      if (!name.empty()) {
        names.push_back(std::move(name));
      }
    }
  }
  // Extensions: [3] { SEQUENCE OF Extension { OID, critical?, OCTET STRING } }.
  for (size_t i = subject_index + 2; i < fields.size(); ++i) {
    if (fields[i].tag != kExplicit3) {
      continue;
    }
    Element list;
    if (!readElement(der, fields[i].begin, fields[i].end, list) || list.tag != kSequence) {
      return ParseStatus::kMalformed;
    }
    for (size_t pos = list.begin; pos < list.end;) {
      Element ext;
      Element oid;
      if (!readElement(der, pos, list.end, ext) || ext.tag != kSequence ||
          !readElement(der, ext.begin, ext.end, oid) || oid.tag != kOid) {
        return ParseStatus::kMalformed;
      }
      pos = ext.end;
      if (oid.end - oid.begin != sizeof kSanOid ||
          std::memcmp(der.data() + oid.begin, kSanOid, sizeof kSanOid) != 0) {
        continue;
      }
      // The value is the last element of the extension: an OCTET STRING holding GeneralNames.
      Element value;
      for (size_t q = oid.end; q < ext.end;) {
        if (!readElement(der, q, ext.end, value)) {
          return ParseStatus::kMalformed;
        }
        q = value.end;
      }
      if (value.tag != kOctetString) {
        return ParseStatus::kMalformed;
      }
      const unsigned char* v = der.data() + value.begin;
      GENERAL_NAMES* sans =
          d2i_GENERAL_NAMES(nullptr, &v, static_cast<long>(value.end - value.begin));
      if (sans == nullptr) {
        return ParseStatus::kMalformed;
      }
      for (int k = 0; k < sk_GENERAL_NAME_num(sans) && names.size() < kMaxNames; ++k) {
        const GENERAL_NAME* gn = sk_GENERAL_NAME_value(sans, k);
        if (gn->type == GEN_DNS) {
          std::string name = lowerHostName(ASN1_STRING_get0_data(gn->d.dNSName),
                                           ASN1_STRING_length(gn->d.dNSName));
          if (!name.empty()) {
            names.push_back(std::move(name));
          }
        }
      }
      GENERAL_NAMES_free(sans);
    }
  }
  return subject ? ParseStatus::kFound : ParseStatus::kMalformed;
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
      // list_len < 3 would make the subtraction below wrap (a fuzzer found it).
      if (list_len < 3 || list_len > msg_len - 3 || first_len == 0 || first_len > list_len - 3) {
        return ParseStatus::kMalformed;
      }
      return namesFromDer({body + 6, first_len}, names);
    }
    off += 4 + msg_len;
  }
  return ended ? ParseStatus::kNotThis : ParseStatus::kNeedMore;
}

}  // namespace nm
