#include "classify/quic/crypto_stream.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace nm::quic {
namespace {

std::span<const uint8_t> bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string prefix(const CryptoStream& s) {
  const std::span<const uint8_t> p = s.contiguousPrefix();
  return std::string(p.begin(), p.end());
}

TEST(CryptoStream, GrowsTheContiguousPrefixInOrder) {
  CryptoStream s;
  EXPECT_TRUE(s.empty());
  ASSERT_TRUE(s.insert(0, bytes("abc")));
  EXPECT_EQ(prefix(s), "abc");
  ASSERT_TRUE(s.insert(3, bytes("def")));
  EXPECT_EQ(prefix(s), "abcdef");
}

TEST(CryptoStream, FillsGapsFromOutOfOrderFragments) {
  CryptoStream s;
  ASSERT_TRUE(s.insert(6, bytes("ghi")));
  EXPECT_EQ(prefix(s), "");
  EXPECT_FALSE(s.empty());
  ASSERT_TRUE(s.insert(0, bytes("ab")));
  EXPECT_EQ(prefix(s), "ab");
  ASSERT_TRUE(s.insert(3, bytes("def")));
  EXPECT_EQ(prefix(s), "ab") << "byte 2 still missing";
  ASSERT_TRUE(s.insert(2, bytes("c")));
  EXPECT_EQ(prefix(s), "abcdefghi");
}

TEST(CryptoStream, KeepsTheFirstCopyOfOverlappingBytes) {
  CryptoStream s;
  ASSERT_TRUE(s.insert(2, bytes("CD")));
  ASSERT_TRUE(s.insert(0, bytes("abcdef")));
  EXPECT_EQ(prefix(s), "abCDef");
}

TEST(CryptoStream, RefusesFragmentsPastTheCapacity) {
  CryptoStream s;
  const std::string one = "x";
  EXPECT_TRUE(s.insert(CryptoStream::kCapacity - 1, bytes(one)));
  EXPECT_FALSE(s.insert(CryptoStream::kCapacity, bytes(one)));
  EXPECT_FALSE(s.insert(CryptoStream::kCapacity - 1, bytes("xy")));
  EXPECT_FALSE(s.insert(UINT64_MAX, bytes(one)));
  EXPECT_FALSE(s.insert(uint64_t{1} << 62, bytes(one)));
  EXPECT_TRUE(s.insert(CryptoStream::kCapacity, {})) << "empty fragments are harmless";
  const std::string whole(CryptoStream::kCapacity - 1, 'z');
  EXPECT_TRUE(s.insert(0, bytes(whole)));
  EXPECT_EQ(s.contiguousPrefix().size(), CryptoStream::kCapacity);
}

TEST(CryptoStream, ReleaseEmptiesIt) {
  CryptoStream s;
  ASSERT_TRUE(s.insert(0, bytes("abc")));
  s.release();
  EXPECT_TRUE(s.empty());
  EXPECT_EQ(prefix(s), "");
}

}  // namespace
}  // namespace nm::quic
