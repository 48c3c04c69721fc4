#include "classify/quic/crypto_stream.h"

namespace nm::quic {
namespace {

constexpr size_t kBitsPerWord = 64;

bool isSet(const std::vector<uint64_t>& bits, size_t i) {
  return ((bits[i / kBitsPerWord] >> (i % kBitsPerWord)) & 1U) != 0;
}

void set(std::vector<uint64_t>& bits, size_t i) {
  bits[i / kBitsPerWord] |= uint64_t{1} << (i % kBitsPerWord);
}

}  // namespace

bool CryptoStream::insert(uint64_t offset, std::span<const uint8_t> data) {
  if (offset > kCapacity || data.size() > kCapacity - offset) {
    return false;
  }
  if (data.empty()) {
    return true;
  }
  const size_t begin = static_cast<size_t>(offset);
  const size_t end = begin + data.size();
  if (end > bytes_.size()) {
    bytes_.resize(end);
    present_.resize((end + kBitsPerWord - 1) / kBitsPerWord);
  }
  for (size_t i = begin; i < end; ++i) {
    if (!isSet(present_, i)) {
      bytes_[i] = data[i - begin];
      set(present_, i);
    }
  }
  while (contiguous_ < bytes_.size() && isSet(present_, contiguous_)) {
    ++contiguous_;
  }
  return true;
}

void CryptoStream::release() {
  bytes_ = {};
  present_ = {};
  contiguous_ = 0;
}

}  // namespace nm::quic
