#pragma once
// Private to classify/quic: reassembly of the client's Initial CRYPTO stream from fragments
// that arrive in any order, overlapping or repeated, across packets and datagrams.
//
// Memory is bounded: at most kCapacity bytes of stream plus one bit per byte of bookkeeping,
// allocated as the highest fragment end grows. Not thread-safe; one instance per flow.

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace nm::quic {

class CryptoStream {
 public:
  // Stream offsets at or beyond this are never stored. A ClientHello is 0.2-2 KiB, a few KiB
  // with post-quantum key shares.
  static constexpr size_t kCapacity = 16 * 1024;

  // Stores `data` at `offset`. Where bytes were already stored the first copy is kept (a
  // retransmission carries the same bytes). False, storing nothing, when the fragment reaches
  // past kCapacity.
  bool insert(uint64_t offset, std::span<const uint8_t> data);

  // The bytes from offset 0 up to the first byte not yet received. Valid until the next
  // insert() or release().
  std::span<const uint8_t> contiguousPrefix() const {
    return std::span<const uint8_t>(bytes_).first(contiguous_);
  }

  // True when no fragment with data has been stored.
  bool empty() const { return bytes_.empty(); }

  // Frees the buffers; the stream is empty again.
  void release();

 private:
  std::vector<uint8_t> bytes_;     // stream bytes [0, highest end seen)
  std::vector<uint64_t> present_;  // bit i set: bytes_[i] was received
  size_t contiguous_ = 0;          // bytes_[0, contiguous_) are all present
};

}  // namespace nm::quic
