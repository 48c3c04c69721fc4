#include "classify/quic/initial_protection.h"

#include <gtest/gtest.h>

#include "quic_test_support.h"
#include "rfc_vectors.h"

namespace nm::quic {
namespace {

using testing::Bytes;
using testing::fromHex;
using testing::toHex;

InitialVersion versionOf(uint32_t v) {
  InitialVersion out;
  EXPECT_TRUE(lookupInitialVersion(v, out)) << std::hex << v;
  return out;
}

TEST(InitialProtection, DerivesRfc9001ClientKeys) {
  const Bytes dcid = fromHex(testing::kRfcDcid);
  std::array<uint8_t, kSecretLength> secret{};
  ASSERT_TRUE(deriveClientInitialSecret(versionOf(1), dcid, secret));
  EXPECT_EQ(toHex(secret), "c00cf151ca5be075ed0ebfb5c80323c42d6b7db67881289af4008f1f6c357aea");

  InitialKeys keys;
  ASSERT_TRUE(deriveClientInitialKeys(versionOf(1), dcid, keys));
  EXPECT_EQ(toHex(keys.key), "1f369613dd76d5467730efcbe3b1a22d");
  EXPECT_EQ(toHex(keys.iv), "fa044b2f42a3fd3b46fb255c");
  EXPECT_EQ(toHex(keys.hp), "9f50449e04a0e810283a1e9933adedd2");
}

TEST(InitialProtection, DerivesRfc9369V2ClientKeys) {
  const Bytes dcid = fromHex(testing::kRfcDcid);
  std::array<uint8_t, kSecretLength> secret{};
  ASSERT_TRUE(deriveClientInitialSecret(versionOf(0x6b3343cf), dcid, secret));
  EXPECT_EQ(toHex(secret), "14ec9d6eb9fd7af83bf5a668bc17a7e283766aade7ecd0891f70f9ff7f4bf47b");

  InitialKeys keys;
  ASSERT_TRUE(deriveClientInitialKeys(versionOf(0x6b3343cf), dcid, keys));
  EXPECT_EQ(toHex(keys.key), "8b1a0bc121284290a29e0971b5cd045d");
  EXPECT_EQ(toHex(keys.iv), "91f73e2351d8fa91660e909f");
  EXPECT_EQ(toHex(keys.hp), "45b95e15235d6f45a6b19cbcb0294ba9");
}

TEST(InitialProtection, HeaderProtectionMaskMatchesRfcSamples) {
  InitialKeys keys;
  ASSERT_TRUE(deriveClientInitialKeys(versionOf(1), fromHex(testing::kRfcDcid), keys));
  std::array<uint8_t, 5> mask{};
  ASSERT_TRUE(headerProtectionMask(keys.hp, fromHex("d1b1c98dd7689fb8ec11d242b123dc9b"), mask));
  EXPECT_EQ(toHex(mask), "437b9aec36");

  ASSERT_TRUE(deriveClientInitialKeys(versionOf(0x6b3343cf), fromHex(testing::kRfcDcid), keys));
  ASSERT_TRUE(headerProtectionMask(keys.hp, fromHex("ffe67b6abcdb4298b485dd04de806071"), mask));
  EXPECT_EQ(toHex(mask), "94a0c95e80");

  EXPECT_FALSE(headerProtectionMask(keys.hp, fromHex("00112233"), mask)) << "short sample";
}

// Decrypts RFC 9001 A.2 by hand through the helpers and compares with the published plaintext:
// a CRYPTO frame holding the ClientHello for example.com, then 917 bytes of PADDING.
TEST(InitialProtection, OpensRfc9001ClientPayload) {
  const Bytes packet = fromHex(testing::kRfc9001ClientInitial);
  ASSERT_EQ(packet.size(), 1200U);
  InitialKeys keys;
  ASSERT_TRUE(deriveClientInitialKeys(versionOf(1), fromHex(testing::kRfcDcid), keys));
  constexpr size_t kPnOffset = 18;
  std::array<uint8_t, 5> mask{};
  ASSERT_TRUE(headerProtectionMask(keys.hp, std::span(packet).subspan(kPnOffset + 4, 16), mask));
  Bytes header(packet.begin(), packet.begin() + kPnOffset + 4);
  header[0] = static_cast<uint8_t>(header[0] ^ (mask[0] & 0x0f));
  for (size_t i = 0; i < 4; ++i) {
    header[kPnOffset + i] = static_cast<uint8_t>(header[kPnOffset + i] ^ mask[1 + i]);
  }
  EXPECT_EQ(toHex(header), "c300000001088394c8f03e5157080000449e00000002");

  const std::array<std::span<const uint8_t>, 1> aad = {header};
  Bytes plaintext;
  ASSERT_TRUE(openPayload(keys, 2, aad, std::span(packet).subspan(header.size()), plaintext));
  Bytes expected = fromHex(testing::kRfcClientCryptoFrame);
  expected.resize(expected.size() + testing::kRfcClientPaddingLength, 0);
  EXPECT_EQ(toHex(plaintext), toHex(expected));
  const std::string text(plaintext.begin(), plaintext.end());
  EXPECT_NE(text.find("example.com"), std::string::npos);

  // The wrong packet number gives the wrong nonce: the tag must not verify.
  EXPECT_FALSE(openPayload(keys, 3, aad, std::span(packet).subspan(header.size()), plaintext));
  EXPECT_TRUE(plaintext.empty());
}

TEST(InitialProtection, RejectsShortCiphertext) {
  InitialKeys keys;
  Bytes plaintext;
  EXPECT_FALSE(openPayload(keys, 0, {}, fromHex("0011"), plaintext));
}

TEST(InitialProtection, KnowsVersionsAndTheirSalts) {
  const Bytes v1_salt = fromHex("38762cf7f55934b34d179ae6a4c80cadccbb7f0a");
  const Bytes draft23_salt = fromHex("c3eef712c72ebb5a11a7d2432bb46365bef9f502");
  const Bytes draft29_salt = fromHex("afbfec289993d24c9e9786f19c6111e04390a899");
  const Bytes v2_salt = fromHex("0dede3def700a6db819381be6e269dcbf9bd2ed9");
  auto salt = [](uint32_t v) {
    InitialVersion info;
    EXPECT_TRUE(lookupInitialVersion(v, info)) << std::hex << v;
    return Bytes(info.salt.begin(), info.salt.end());
  };
  EXPECT_EQ(salt(0x00000001), v1_salt);
  EXPECT_EQ(salt(0x6b3343cf), v2_salt);
  EXPECT_EQ(salt(0xff00001b), draft23_salt) << "draft-27 kept the draft-23 salt";
  EXPECT_EQ(salt(0xff00001c), draft23_salt) << "draft-28 kept the draft-23 salt";
  EXPECT_EQ(salt(0xff00001d), draft29_salt);
  EXPECT_EQ(salt(0xff000020), draft29_salt);
  EXPECT_EQ(salt(0xff000022), v1_salt);
  EXPECT_EQ(salt(0xfaceb002), draft23_salt);

  InitialVersion info;
  EXPECT_TRUE(lookupInitialVersion(0x6b3343cf, info));
  EXPECT_TRUE(info.v2_labels);
  EXPECT_EQ(info.types.initial, 1);
  EXPECT_EQ(info.types.retry, 0);
  EXPECT_TRUE(lookupInitialVersion(1, info));
  EXPECT_FALSE(info.v2_labels);
  EXPECT_EQ(info.types.initial, 0);

  EXPECT_FALSE(lookupInitialVersion(0, info)) << "version negotiation";
  EXPECT_FALSE(lookupInitialVersion(0x0a0a0a0a, info)) << "reserved, forces negotiation";
  EXPECT_FALSE(lookupInitialVersion(0x51303530, info)) << "gQUIC Q050 has no TLS";
  EXPECT_FALSE(lookupInitialVersion(0xff000015, info)) << "draft-21";
  EXPECT_FALSE(lookupInitialVersion(0xff000023, info)) << "draft-35 never existed";
}

TEST(InitialProtection, RejectsOverlongConnectionId) {
  InitialKeys keys;
  EXPECT_FALSE(deriveClientInitialKeys(versionOf(1), Bytes(21, 0xaa), keys));
  EXPECT_TRUE(deriveClientInitialKeys(versionOf(1), Bytes(20, 0xaa), keys));
  EXPECT_TRUE(deriveClientInitialKeys(versionOf(1), Bytes{}, keys)) << "zero-length DCID";
}

}  // namespace
}  // namespace nm::quic
