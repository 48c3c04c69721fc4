#include "classify/quic/gquic.h"

#include <array>
#include <cstddef>
#include <cstdint>

namespace nm {
namespace {

constexpr int kFirstVersion = 24;
// Q048 and later carry the handshake in encrypted CRYPTO frames.
constexpr int kLastVersion = 46;
// Q034 dropped the private header (one byte of entropy flags after the hash).
constexpr int kFirstVersionWithoutPrivateFlags = 34;
// Q039 switched the packet header and frame fields from little- to big-endian.
constexpr int kFirstBigEndianVersion = 39;
// Unencrypted packets carry a 12-byte truncated FNV-1a hash before the frames.
constexpr size_t kHashSize = 12;
constexpr uint64_t kCryptoStreamId = 1;
// A CHLO has some 25 tags; more than this is an attack on the parser, not a client.
constexpr uint32_t kMaxTags = 128;
constexpr size_t kMaxHostName = 253;

constexpr std::array<uint8_t, 4> kChloTag = {'C', 'H', 'L', 'O'};
constexpr std::array<uint8_t, 4> kSniTag = {'S', 'N', 'I', 0};

// Unsigned integer of `size` bytes at `at`; the caller has checked the bounds.
uint64_t readUint(std::span<const uint8_t> b, size_t at, size_t size, bool big_endian) {
  uint64_t value = 0;
  for (size_t i = 0; i < size; ++i) {
    const uint8_t byte = big_endian ? b[at + i] : b[at + size - 1 - i];
    value = (value << 8) | byte;
  }
  return value;
}

bool hasTag(std::span<const uint8_t> b, size_t at, const std::array<uint8_t, 4>& tag) {
  return b[at] == tag[0] && b[at + 1] == tag[1] && b[at + 2] == tag[2] && b[at + 3] == tag[3];
}

// "Q0dd" -> dd when it is a version with a clear-text CHLO, else -1.
int clearTextVersion(std::span<const uint8_t> b, size_t at) {
  if (b[at] != 'Q' || b[at + 1] != '0' || b[at + 2] < '0' || b[at + 2] > '9' || b[at + 3] < '0' ||
      b[at + 3] > '9') {
    return -1;
  }
  const int version = (b[at + 2] - '0') * 10 + (b[at + 3] - '0');
  return version >= kFirstVersion && version <= kLastVersion ? version : -1;
}

// Where the frames of a client packet start, past the public header and the hash.
struct PacketLayout {
  int version = 0;
  size_t frames_at = 0;
};

// The IETF-invariant long header of Q044..Q046: flags, version, CID lengths, CIDs, number.
ParseStatus parseLongHeader(std::span<const uint8_t> b, PacketLayout& out) {
  const uint8_t flags = b[0];
  // Fixed bit set and packet type Initial; a client's first packet is nothing else.
  if ((flags & 0x40) == 0 || (flags & 0x30) != 0) {
    return ParseStatus::kNotThis;
  }
  if (b.size() < 6) {
    return ParseStatus::kNeedMore;
  }
  out.version = clearTextVersion(b, 1);
  if (out.version < 44) {
    return ParseStatus::kNotThis;
  }
  const size_t dcid = (b[5] >> 4) == 0 ? 0 : (b[5] >> 4) + 3u;
  const size_t scid = (b[5] & 0x0F) == 0 ? 0 : (b[5] & 0x0F) + 3u;
  const size_t packet_number = (flags & 0x03) + 1u;
  out.frames_at = 6 + dcid + scid + packet_number + kHashSize;
  return ParseStatus::kFound;
}

// The gQUIC public header: flags, 8-byte connection ID, version, packet number.
ParseStatus parsePublicHeader(std::span<const uint8_t> b, PacketLayout& out) {
  const uint8_t flags = b[0];
  constexpr uint8_t kVersion = 0x01;
  constexpr uint8_t kReset = 0x02;
  // 0x0C was "8-byte connection ID" until 0x04 became the (server-only) diversification nonce
  // and 0x08 alone took its place; clients of every version set 0x08 with either meaning.
  constexpr uint8_t kConnectionId = 0x08;
  constexpr uint8_t kMultipath = 0x40;
  if ((flags & kVersion) == 0 || (flags & (kReset | kMultipath)) != 0 ||
      (flags & kConnectionId) == 0) {
    return ParseStatus::kNotThis;
  }
  constexpr std::array<size_t, 4> kPacketNumberSizes = {1, 2, 4, 6};
  const size_t packet_number = kPacketNumberSizes[(flags >> 4) & 0x03];
  if (b.size() < 13) {
    return ParseStatus::kNeedMore;
  }
  out.version = clearTextVersion(b, 9);
  if (out.version < 0) {
    return ParseStatus::kNotThis;
  }
  out.frames_at = 13 + packet_number + kHashSize;
  if (out.version < kFirstVersionWithoutPrivateFlags) {
    out.frames_at += 1;
  }
  return ParseStatus::kFound;
}

bool isHostChar(uint8_t c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
}

ParseStatus takeHostName(std::span<const uint8_t> value, std::string& sni) {
  if (value.empty() || value.size() > kMaxHostName) {
    return ParseStatus::kMalformed;
  }
  std::array<char, kMaxHostName> name{};
  for (size_t i = 0; i < value.size(); ++i) {
    uint8_t c = value[i];
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<uint8_t>(c - 'A' + 'a');
    }
    if (!isHostChar(c)) {
      return ParseStatus::kMalformed;
    }
    name[i] = static_cast<char>(c);
  }
  sni.assign(name.data(), value.size());
  return ParseStatus::kFound;
}

// The CHLO handshake message: tag, entry count, two bytes of padding, then (tag, end offset)
// pairs and the values back to back. Always little-endian. `declared` is the size the stream
// frame announced (0 when it did not), so offsets past it are lies rather than truncation.
ParseStatus parseChlo(std::span<const uint8_t> msg, size_t declared, std::string& sni) {
  if (msg.size() < 4) {
    return ParseStatus::kNeedMore;
  }
  if (!hasTag(msg, 0, kChloTag)) {
    return ParseStatus::kNotThis;
  }
  if (msg.size() < 8) {
    return ParseStatus::kNeedMore;
  }
  const uint64_t tags = readUint(msg, 4, 2, false);
  if (tags > kMaxTags) {
    return ParseStatus::kMalformed;
  }
  const size_t values_at = 8 + 8 * static_cast<size_t>(tags);
  if (declared != 0 && values_at > declared) {
    return ParseStatus::kMalformed;
  }
  uint64_t previous_end = 0;
  for (size_t i = 0; i < tags; ++i) {
    const size_t entry = 8 + 8 * i;
    if (entry + 8 > msg.size()) {
      return ParseStatus::kNeedMore;
    }
    const uint64_t end = readUint(msg, entry + 4, 4, false);
    if (end < previous_end || (declared != 0 && values_at + end > declared)) {
      return ParseStatus::kMalformed;
    }
    if (hasTag(msg, entry, kSniTag)) {
      if (values_at + end > msg.size()) {
        return ParseStatus::kNeedMore;
      }
      const size_t start = values_at + static_cast<size_t>(previous_end);
      return takeHostName(msg.subspan(start, static_cast<size_t>(end - previous_end)), sni);
    }
    previous_end = end;
  }
  return ParseStatus::kNotThis;
}

}  // namespace

ParseStatus parseGquicChloSni(std::span<const uint8_t> udp_payload, std::string& sni) {
  const std::span<const uint8_t> b = udp_payload;
  if (b.empty()) {
    return ParseStatus::kNeedMore;
  }
  PacketLayout layout;
  const ParseStatus header =
      (b[0] & 0x80) != 0 ? parseLongHeader(b, layout) : parsePublicHeader(b, layout);
  if (header != ParseStatus::kFound) {
    return header;
  }
  // The first frame of a client's first packet is the crypto stream's frame: 1FDOOOSS.
  if (b.size() <= layout.frames_at) {
    return ParseStatus::kNeedMore;
  }
  const uint8_t type = b[layout.frames_at];
  if ((type & 0x80) == 0) {
    return ParseStatus::kNotThis;
  }
  const bool big_endian = layout.version >= kFirstBigEndianVersion;
  const size_t id_size = (type & 0x03) + 1u;
  const size_t offset_code = (type >> 2) & 0x07;
  const size_t offset_size = offset_code == 0 ? 0 : offset_code + 1;
  const bool has_length = (type & 0x20) != 0;
  size_t at = layout.frames_at + 1;
  if (b.size() < at + id_size + offset_size + (has_length ? 2 : 0)) {
    return ParseStatus::kNeedMore;
  }
  const uint64_t stream_id = readUint(b, at, id_size, big_endian);
  at += id_size;
  const uint64_t offset = offset_size == 0 ? 0 : readUint(b, at, offset_size, big_endian);
  at += offset_size;
  if (stream_id != kCryptoStreamId || offset != 0) {
    return ParseStatus::kNotThis;
  }
  size_t declared = 0;
  if (has_length) {
    declared = static_cast<size_t>(readUint(b, at, 2, big_endian));
    at += 2;
    if (declared == 0) {
      return ParseStatus::kNotThis;
    }
  }
  std::span<const uint8_t> msg = b.subspan(at);
  if (declared != 0 && msg.size() > declared) {
    msg = msg.first(declared);
  }
  return parseChlo(msg, declared, sni);
}

}  // namespace nm
