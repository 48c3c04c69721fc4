#include "classify/quic/quic_initial.h"

#include <algorithm>
#include <vector>

#include "classify/tls/client_hello.h"

namespace nm {

namespace quic {

// One long-header packet located inside a datagram; spans point into the caller's datagram.
struct LongHeaderPacket {
  uint8_t first_byte = 0;
  uint8_t type = 0;  // the two type bits as on the wire
  InitialVersion version;
  std::span<const uint8_t> dcid;
  std::span<const uint8_t> scid;
  std::span<const uint8_t> bytes;  // header and protected payload: the whole packet
  size_t pn_offset = 0;            // where the Packet Number field starts in `bytes`

  bool isInitial() const { return type == version.types.initial; }
  bool isRetry() const { return type == version.types.retry; }
};

}  // namespace quic

namespace {

constexpr uint8_t kLongHeaderBit = 0x80;
constexpr uint8_t kFixedBit = 0x40;
constexpr size_t kMaxPacketNumberLength = 4;
constexpr size_t kHandshakeHeaderLength = 4;
constexpr uint8_t kHandshakeClientHello = 1;

namespace frame {
constexpr uint64_t kPadding = 0x00;
constexpr uint64_t kPing = 0x01;
constexpr uint64_t kAck = 0x02;
constexpr uint64_t kAckEcn = 0x03;
constexpr uint64_t kCrypto = 0x06;
constexpr uint64_t kConnectionClose = 0x1c;
// Google's T05x versions wrap TLS in gQUIC frames; their CRYPTO frame has the IETF layout.
constexpr uint64_t kGooglePing = 0x07;
constexpr uint64_t kGoogleCrypto = 0x08;
}  // namespace frame

// A cursor over a span. A read that does not fit returns false; callers then give up on the
// whole structure, so the cursor's position after a failure does not matter.
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> bytes) : bytes_(bytes) {}

  bool empty() const { return pos_ == bytes_.size(); }
  size_t offset() const { return pos_; }
  size_t remaining() const { return bytes_.size() - pos_; }

  bool u8(uint8_t& v) {
    if (remaining() < 1) {
      return false;
    }
    v = bytes_[pos_++];
    return true;
  }
  bool u32(uint32_t& v) {
    if (remaining() < 4) {
      return false;
    }
    v = 0;
    for (size_t i = 0; i < 4; ++i) {
      v = (v << 8) | bytes_[pos_ + i];
    }
    pos_ += 4;
    return true;
  }
  // RFC 9000 16: the two high bits of the first byte give the length (1, 2, 4 or 8 bytes).
  bool varint(uint64_t& v) {
    if (remaining() < 1) {
      return false;
    }
    const size_t length = size_t{1} << (bytes_[pos_] >> 6);
    if (remaining() < length) {
      return false;
    }
    v = bytes_[pos_] & 0x3fU;
    for (size_t i = 1; i < length; ++i) {
      v = (v << 8) | bytes_[pos_ + i];
    }
    pos_ += length;
    return true;
  }
  bool bytes(uint64_t n, std::span<const uint8_t>& v) {
    if (remaining() < n) {
      return false;
    }
    v = bytes_.subspan(pos_, static_cast<size_t>(n));
    pos_ += static_cast<size_t>(n);
    return true;
  }
  bool skipVarints(int n) {
    uint64_t ignored = 0;
    for (int i = 0; i < n; ++i) {
      if (!varint(ignored)) {
        return false;
      }
    }
    return true;
  }

 private:
  std::span<const uint8_t> bytes_;
  size_t pos_ = 0;
};

bool sameId(std::span<const uint8_t> id, std::span<const uint8_t> stored) {
  return std::equal(id.begin(), id.end(), stored.begin(), stored.end());
}

// RFC 9000 A.3: the full packet number closest to the next expected one.
uint64_t decodePacketNumber(bool have_largest, uint64_t largest, uint64_t truncated,
                            size_t length) {
  const uint64_t expected = have_largest ? largest + 1 : 0;
  const uint64_t window = uint64_t{1} << (8 * length);
  const uint64_t half_window = window / 2;
  const uint64_t candidate = (expected & ~(window - 1)) | truncated;
  constexpr uint64_t kLimit = uint64_t{1} << 62;
  if (candidate + half_window <= expected && candidate < kLimit - window) {
    return candidate + window;
  }
  if (candidate > expected + half_window && candidate >= window) {
    return candidate - window;
  }
  return candidate;
}

enum class FrameWalk : uint8_t { kDone, kMalformed };

// Reads one CRYPTO frame's body (offset, length, data) into the stream.
bool readCrypto(Reader& r, quic::CryptoStream& stream) {
  uint64_t offset = 0;
  uint64_t length = 0;
  std::span<const uint8_t> data;
  return r.varint(offset) && r.varint(length) && r.bytes(length, data) &&
         stream.insert(offset, data);
}

// The T05x frames an Initial carries. gQUIC frame types are one byte, not varints.
FrameWalk walkGoogleFrames(std::span<const uint8_t> payload, quic::CryptoStream& stream) {
  Reader r(payload);
  uint8_t type = 0;
  while (r.u8(type)) {
    if (type == frame::kGoogleCrypto) {
      if (!readCrypto(r, stream)) {
        return FrameWalk::kMalformed;
      }
    } else if (type != frame::kPadding && type != frame::kGooglePing) {
      return FrameWalk::kDone;
    }
  }
  return FrameWalk::kDone;
}

// Walks the frames an Initial may carry, storing CRYPTO data. Stops quietly at a frame type it
// does not know (its length cannot be known); a known frame that overruns the payload, or CRYPTO
// data past the stream's capacity, is malformed.
FrameWalk walkFrames(const quic::InitialVersion& version, std::span<const uint8_t> payload,
                     quic::CryptoStream& stream) {
  if (version.google_frames) {
    return walkGoogleFrames(payload, stream);
  }
  Reader r(payload);
  while (!r.empty()) {
    uint64_t type = 0;
    if (!r.varint(type)) {
      return FrameWalk::kMalformed;
    }
    switch (type) {
      case frame::kPadding:
      case frame::kPing:
        break;
      case frame::kAck:
      case frame::kAckEcn: {
        // Largest Acknowledged, ACK Delay, ACK Range Count, First ACK Range.
        uint64_t largest = 0;
        uint64_t delay = 0;
        uint64_t range_count = 0;
        uint64_t first_range = 0;
        if (!r.varint(largest) || !r.varint(delay) || !r.varint(range_count) ||
            !r.varint(first_range)) {
          return FrameWalk::kMalformed;
        }
        // Each range is at least two bytes, so a huge count fails on the bytes, not the loop.
        for (uint64_t i = 0; i < range_count; ++i) {
          if (!r.skipVarints(2)) {
            return FrameWalk::kMalformed;
          }
        }
        if (type == frame::kAckEcn && !r.skipVarints(3)) {
          return FrameWalk::kMalformed;
        }
        break;
      }
      case frame::kCrypto:
        if (!readCrypto(r, stream)) {
          return FrameWalk::kMalformed;
        }
        break;
      case frame::kConnectionClose: {
        uint64_t reason_length = 0;
        std::span<const uint8_t> reason;
        if (!r.skipVarints(2) || !r.varint(reason_length) || !r.bytes(reason_length, reason)) {
          return FrameWalk::kMalformed;
        }
        break;
      }
      default:
        return FrameWalk::kDone;
    }
  }
  return FrameWalk::kDone;
}

enum class HeaderParse : uint8_t { kOk, kNotQuic, kMalformed };

// Reads the long header at the start of `rest`. kNotQuic: not a long header of a version we
// know (nothing after it can be located). kMalformed: a known version whose fields overrun the
// datagram; `out.type` is set by then.
HeaderParse parseLongHeader(std::span<const uint8_t> rest, quic::LongHeaderPacket& out) {
  Reader r(rest);
  uint32_t wire_version = 0;
  if (!r.u8(out.first_byte) || (out.first_byte & kLongHeaderBit) == 0 ||
      (out.first_byte & kFixedBit) == 0 || !r.u32(wire_version) ||
      !quic::lookupInitialVersion(wire_version, out.version)) {
    return HeaderParse::kNotQuic;
  }
  out.type = static_cast<uint8_t>((out.first_byte >> 4) & 0x03);
  uint8_t dcid_length = 0;
  uint8_t scid_length = 0;
  if (!r.u8(dcid_length) || dcid_length > quic::kMaxConnectionIdLength ||
      !r.bytes(dcid_length, out.dcid) || !r.u8(scid_length) ||
      scid_length > quic::kMaxConnectionIdLength || !r.bytes(scid_length, out.scid)) {
    return HeaderParse::kMalformed;
  }
  if (out.isRetry()) {
    // No Length field: a Retry runs to the end of the datagram.
    out.bytes = rest;
    out.pn_offset = rest.size();
    return HeaderParse::kOk;
  }
  if (out.isInitial()) {
    uint64_t token_length = 0;
    std::span<const uint8_t> token;
    if (!r.varint(token_length) || !r.bytes(token_length, token)) {
      return HeaderParse::kMalformed;
    }
  }
  uint64_t length = 0;
  if (!r.varint(length) || length > r.remaining()) {
    return HeaderParse::kMalformed;
  }
  out.pn_offset = r.offset();
  out.bytes = rest.first(out.pn_offset + static_cast<size_t>(length));
  return HeaderParse::kOk;
}

}  // namespace

ParseStatus QuicInitialReassembler::addDatagram(std::span<const uint8_t> udp_payload) {
  if (state_ == State::kFound) {
    return ParseStatus::kFound;
  }
  if (state_ == State::kFailed) {
    return ParseStatus::kMalformed;
  }
  bool saw_initial = false;
  bool malformed = false;
  size_t offset = 0;
  for (int i = 0; i < kMaxPacketsPerDatagram && offset < udp_payload.size(); ++i) {
    quic::LongHeaderPacket packet;
    const HeaderParse header = parseLongHeader(udp_payload.subspan(offset), packet);
    if (header == HeaderParse::kNotQuic) {
      // Not QUIC at all, or what follows the last long-header packet: a short-header packet
      // or padding outside any packet.
      break;
    }
    if (!packet.isInitial()) {
      // 0-RTT, Handshake or Retry: nothing of the ClientHello; step over it if we can.
      if (header == HeaderParse::kMalformed || packet.isRetry()) {
        break;
      }
      offset += packet.bytes.size();
      continue;
    }
    if (header == HeaderParse::kMalformed) {
      malformed = true;
      break;
    }
    const PacketOutcome outcome = processInitial(packet);
    if (outcome == PacketOutcome::kFromServer) {
      break;
    }
    if (outcome == PacketOutcome::kMalformed) {
      malformed = true;
      break;
    }
    saw_initial = true;
    offset += packet.bytes.size();
  }
  if (saw_initial) {
    const ParseStatus stream_status = checkStream();
    if (stream_status != ParseStatus::kNeedMore) {
      return stream_status;
    }
  }
  if (malformed) {
    return ParseStatus::kMalformed;
  }
  return saw_initial ? ParseStatus::kNeedMore : ParseStatus::kNotThis;
}

QuicInitialReassembler::PacketOutcome QuicInitialReassembler::processInitial(
    const quic::LongHeaderPacket& packet) {
  // The header-protection sample starts 4 bytes after the Packet Number field, whatever the
  // packet number's length.
  if (packet.bytes.size() < packet.pn_offset + kMaxPacketNumberLength + quic::kSampleLength) {
    return PacketOutcome::kMalformed;
  }
  const std::span<const uint8_t> key_dcid(key_dcid_.data(), key_dcid_length_);
  const std::span<const uint8_t> client_scid(client_scid_.data(), client_scid_length_);
  if (have_keys_ && sameId(packet.dcid, client_scid) && !sameId(packet.dcid, key_dcid)) {
    return PacketOutcome::kFromServer;
  }

  uint64_t packet_number = 0;
  std::vector<uint8_t> plaintext;
  const bool opened = have_keys_ && packet.version.version == keys_version_.version &&
                      openPacket(packet, keys_, packet_number, plaintext);
  if (!opened) {
    const bool may_rekey =
        !have_keys_ || (rekeys_ < kMaxRekeys && (!sameId(packet.dcid, key_dcid) ||
                                                 packet.version.version != keys_version_.version));
    quic::InitialKeys keys;
    if (!may_rekey || !quic::deriveClientInitialKeys(packet.version, packet.dcid, keys) ||
        !openPacket(packet, keys, packet_number, plaintext)) {
      return PacketOutcome::kMalformed;
    }
    if (have_keys_) {
      ++rekeys_;
    }
    have_keys_ = true;
    keys_ = keys;
    keys_version_ = packet.version;
    key_dcid_length_ = static_cast<uint8_t>(packet.dcid.size());
    std::copy(packet.dcid.begin(), packet.dcid.end(), key_dcid_.begin());
    client_scid_length_ = static_cast<uint8_t>(packet.scid.size());
    std::copy(packet.scid.begin(), packet.scid.end(), client_scid_.begin());
  }
  if (!have_packet_number_ || packet_number > largest_packet_number_) {
    largest_packet_number_ = packet_number;
    have_packet_number_ = true;
  }
  return walkFrames(packet.version, plaintext, stream_) == FrameWalk::kDone
             ? PacketOutcome::kAccepted
             : PacketOutcome::kMalformed;
}

// Removes header protection and decrypts; false when the tag does not verify under `keys`.
bool QuicInitialReassembler::openPacket(const quic::LongHeaderPacket& packet,
                                        const quic::InitialKeys& keys, uint64_t& packet_number,
                                        std::vector<uint8_t>& plaintext) const {
  const std::span<const uint8_t> bytes = packet.bytes;
  const size_t pn_offset = packet.pn_offset;
  std::array<uint8_t, 5> mask{};
  if (!quic::headerProtectionMask(
          keys.hp, bytes.subspan(pn_offset + kMaxPacketNumberLength, quic::kSampleLength), mask)) {
    return false;
  }
  const uint8_t first_byte = static_cast<uint8_t>(packet.first_byte ^ (mask[0] & 0x0f));
  const size_t pn_length = (first_byte & 0x03U) + 1;
  std::array<uint8_t, kMaxPacketNumberLength> pn_bytes{};
  uint64_t truncated = 0;
  for (size_t i = 0; i < pn_length; ++i) {
    pn_bytes[i] = static_cast<uint8_t>(bytes[pn_offset + i] ^ mask[1 + i]);
    truncated = (truncated << 8) | pn_bytes[i];
  }
  packet_number =
      decodePacketNumber(have_packet_number_, largest_packet_number_, truncated, pn_length);

  // The associated data is the unprotected header: first byte, the rest as sent, and the
  // unmasked packet number.
  const std::array<std::span<const uint8_t>, 3> aad = {
      std::span<const uint8_t>(&first_byte, 1),
      bytes.subspan(1, pn_offset - 1),
      std::span<const uint8_t>(pn_bytes).first(pn_length),
  };
  return quic::openPayload(keys, packet_number, aad, bytes.subspan(pn_offset + pn_length),
                           plaintext);
}

ParseStatus QuicInitialReassembler::checkStream() {
  const std::span<const uint8_t> prefix = stream_.contiguousPrefix();
  if (prefix.empty()) {
    return ParseStatus::kNeedMore;
  }
  bool failed = prefix[0] != kHandshakeClientHello;
  if (!failed && prefix.size() >= kHandshakeHeaderLength) {
    const size_t body = (size_t{prefix[1]} << 16) | (size_t{prefix[2]} << 8) | prefix[3];
    const size_t total = kHandshakeHeaderLength + body;
    if (total > quic::CryptoStream::kCapacity) {
      failed = true;
    } else if (prefix.size() >= total) {
      TlsClientHello hello;
      if (parseTlsClientHelloMessage(prefix.first(total), hello) == ParseStatus::kFound) {
        sni_ = std::move(hello.sni);
        state_ = State::kFound;
        stream_.release();
        return ParseStatus::kFound;
      }
      failed = true;
    }
  }
  if (failed) {
    state_ = State::kFailed;
    stream_.release();
    return ParseStatus::kMalformed;
  }
  return ParseStatus::kNeedMore;
}

}  // namespace nm
