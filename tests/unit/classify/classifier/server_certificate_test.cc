#include "classify/tls/server_certificate.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>
#include <vector>

namespace nm {
namespace {

// A self-signed certificate made on the spot, DER-encoded.
std::vector<uint8_t> makeCertificate(const std::string& cn, const std::string& san) {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), X509_free);
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  X509_set_pubkey(cert.get(), key.get());
  if (!san.empty()) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, san.c_str());
    X509_add_ext(cert.get(), ext, -1);
    X509_EXTENSION_free(ext);
  }
  X509_sign(cert.get(), key.get(), EVP_sha256());
  unsigned char* der = nullptr;
  const int len = i2d_X509(cert.get(), &der);
  std::vector<uint8_t> out(der, der + len);
  OPENSSL_free(der);
  return out;
}

void put24(std::vector<uint8_t>& v, size_t n) {
  v.push_back(static_cast<uint8_t>(n >> 16));
  v.push_back(static_cast<uint8_t>(n >> 8));
  v.push_back(static_cast<uint8_t>(n));
}

// ServerHello (a minimal body) and Certificate, in TLS 1.2 records of at most `record_size` bytes.
std::vector<uint8_t> serverFlight(const std::vector<uint8_t>& der, size_t record_size) {
  std::vector<uint8_t> hs = {2, 0, 0, 4, 3, 3, 0, 0};  // ServerHello, 4-byte body
  std::vector<uint8_t> certs;
  put24(certs, der.size());
  certs.insert(certs.end(), der.begin(), der.end());
  hs.push_back(11);
  put24(hs, certs.size() + 3);
  put24(hs, certs.size());
  hs.insert(hs.end(), certs.begin(), certs.end());
  std::vector<uint8_t> out;
  for (size_t off = 0; off < hs.size(); off += record_size) {
    const size_t n = std::min(record_size, hs.size() - off);
    out.insert(out.end(), {22, 3, 3, static_cast<uint8_t>(n >> 8), static_cast<uint8_t>(n)});
    out.insert(out.end(), hs.begin() + static_cast<long>(off),
               hs.begin() + static_cast<long>(off + n));
  }
  return out;
}

TEST(ServerCertificateTest, CommonNameThenAlternativeNames) {
  const auto der = makeCertificate("Waze.com", "DNS:*.waze.com,DNS:waze.com,IP:10.0.0.1");
  std::vector<std::string> names;
  ASSERT_EQ(parseTlsServerCertificateNames(serverFlight(der, 16384), names), ParseStatus::kFound);
  EXPECT_EQ(names, (std::vector<std::string>{"waze.com", "*.waze.com", "waze.com"}));
}

TEST(ServerCertificateTest, HandshakeAcrossRecordsAndEveryPrefix) {
  const auto flight = serverFlight(makeCertificate("a.example", ""), 100);
  std::vector<std::string> names;
  for (size_t n = 0; n < flight.size(); ++n) {
    const ParseStatus s = parseTlsServerCertificateNames({flight.data(), n}, names);
    ASSERT_EQ(s, ParseStatus::kNeedMore) << n;
  }
  ASSERT_EQ(parseTlsServerCertificateNames(flight, names), ParseStatus::kFound);
  EXPECT_EQ(names, (std::vector<std::string>{"a.example"}));
}

TEST(ServerCertificateTest, NotTlsAndEncryptedHandshakes) {
  std::vector<std::string> names;
  const std::vector<uint8_t> http = {'H', 'T', 'T', 'P', '/', '1', '.', '1'};
  EXPECT_EQ(parseTlsServerCertificateNames(http, names), ParseStatus::kNotThis);
  // TLS 1.3: ServerHello, then ChangeCipherSpec and encrypted records.
  const std::vector<uint8_t> tls13 = {22, 3, 3, 0, 8, 2, 0,  0, 4, 3, 3, 0,    0,
                                      20, 3, 3, 0, 1, 1, 23, 3, 3, 0, 2, 0xaa, 0xbb};
  EXPECT_EQ(parseTlsServerCertificateNames(tls13, names), ParseStatus::kNotThis);
  EXPECT_TRUE(names.empty());
}

TEST(ServerCertificateTest, LyingLengthsAndGarbageDer) {
  auto flight = serverFlight(makeCertificate("a.example", ""), 16384);
  std::vector<std::string> names;
  auto broken = flight;
  broken[5 + 8 + 4 + 2] ^= 0x40;  // first certificate length beyond the list
  EXPECT_EQ(parseTlsServerCertificateNames(broken, names), ParseStatus::kMalformed);
  auto garbage = flight;
  for (size_t i = 5 + 8 + 10; i < garbage.size(); ++i) {
    garbage[i] = 0x5a;
  }
  EXPECT_EQ(parseTlsServerCertificateNames(garbage, names), ParseStatus::kMalformed);
}

TEST(ServerCertificateTest, FuzzRegressionCertificateListShorterThanItsHeader) {
  // A Certificate message whose list length is 0 but whose first entry claims 3 MB.
  const std::vector<uint8_t> crash = {0x16, 0x03, 0x01, 0x00, 0x16, 0x0b, 0x00, 0x00, 0x0b, 0x00,
                                      0x00, 0x00, 0x30, 0x30, 0xf0, 0x30, 0x30, 0x30, 0x0b, 0xa1,
                                      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x30, 0x30, 0x3e,
                                      0x30, 0x30, 0x84, 0xf5, 0x83, 0x83, 0x00, 0x00, 0x00, 0x00,
                                      0x00, 0x30, 0x30, 0xfe, 0xfe, 0x01};
  std::vector<std::string> names;
  EXPECT_EQ(parseTlsServerCertificateNames(crash, names), ParseStatus::kMalformed);
  EXPECT_TRUE(names.empty());
}

}  // namespace
}  // namespace nm
