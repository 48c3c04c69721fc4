#pragma once
// The classify/quic door: the server name (SNI) of a QUIC connection, read from the TLS
// ClientHello that the client's Initial packets carry (RFC 9000 17.2.2, RFC 9001 5).
//
// Initial packets are encrypted with keys anyone can derive from the client's Destination
// Connection ID, so a passive observer can decrypt them. The ClientHello may be split into
// CRYPTO frames across several Initial packets, coalesced in one datagram or spread over
// several, out of order and overlapping; QuicInitialReassembler puts it back together.
//
// Versions: QUIC v1, v2 (RFC 9369), IETF drafts 22-34, mvfst (0xfaceb001/2/e) and Google
// T050/T051. gQUIC (Qxxx) and Version Negotiation are kNotThis.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "classify/parse_status.h"
#include "classify/quic/crypto_stream.h"
#include "classify/quic/initial_protection.h"

namespace nm {

namespace quic {
struct LongHeaderPacket;
}  // namespace quic

// One per UDP flow; not thread-safe (one flow is handled by one thread). Reads only the bytes
// passed in, keeps no pointer into them, throws nothing but std::bad_alloc. While collecting it
// holds at most quic::CryptoStream::kCapacity (16 KiB) of CRYPTO data plus 2 KiB of
// bookkeeping; that memory is released as soon as the result is final. The caller frees the
// object once it has what it needs.
class QuicInitialReassembler {
 public:
  // Most QUIC packets looked at in one datagram: real clients coalesce two or three, and a
  // crafted datagram of tiny packets must not cost thousands of decryptions.
  static constexpr int kMaxPacketsPerDatagram = 32;
  // Most times a new Destination Connection ID may replace the keys (Retry, see below).
  static constexpr int kMaxRekeys = 4;

  // Feed the UDP payloads the client sent, in arrival order. Server-to-client datagrams may be
  // fed too: once a client Initial has been decrypted, a packet addressed to the client's
  // Source Connection ID is recognised as the server's and gives kNotThis (before that it
  // cannot be told from a corrupt client packet and gives kMalformed).
  //
  //   kFound     a whole ClientHello was reassembled and parsed: sni() and version() are set.
  //              Later calls return kFound at once without reading their input.
  //   kNeedMore  this datagram held client Initial data; the ClientHello is still incomplete.
  //   kNotThis   no client Initial in this datagram: not QUIC, a short-header or 0-RTT/
  //              Handshake packet, Version Negotiation, an unsupported version, a server packet.
  //   kMalformed a client Initial of a supported version that fails authentication, has
  //              inconsistent lengths or frames, or CRYPTO data beyond 16 KiB. This is about
  //              this datagram only: later datagrams may still succeed. It becomes final
  //              (every later call returns kMalformed) when the reassembled CRYPTO stream
  //              does not start with a ClientHello, declares one over 16 KiB, or the TLS parser
  //              rejects it.
  //
  // Keys come from the Destination Connection ID of the first client Initial that decrypts;
  // later Initials of the connection (which address the server's chosen ID) use the same keys.
  // When a packet fails with those keys and carries another Destination Connection ID, keys
  // derived from its ID are tried and, if they open it, adopted (a client answering a Retry
  // re-keys this way); data already reassembled is kept, as the client retransmits the same
  // ClientHello at the same offsets. At most kMaxRekeys times per flow.
  ParseStatus addDatagram(std::span<const uint8_t> udp_payload);

  // The ClientHello's server name, lower-cased; empty when it had none or it was not a plain
  // host name (see TlsClientHello::sni). Meaningful after kFound.
  const std::string& sni() const { return sni_; }

  // QUIC version of the Initial packets that carried the ClientHello. Meaningful after
  // kFound (0 before any Initial was decrypted).
  uint32_t version() const { return keys_version_.version; }

 private:
  enum class State : uint8_t { kCollecting, kFound, kFailed };
  enum class PacketOutcome : uint8_t { kAccepted, kFromServer, kMalformed };

  PacketOutcome processInitial(const quic::LongHeaderPacket& packet);
  bool openPacket(const quic::LongHeaderPacket& packet, const quic::InitialKeys& keys,
                  uint64_t& packet_number, std::vector<uint8_t>& plaintext) const;
  ParseStatus checkStream();

  State state_ = State::kCollecting;
  bool have_keys_ = false;
  bool have_packet_number_ = false;
  uint8_t key_dcid_length_ = 0;
  uint8_t client_scid_length_ = 0;
  int rekeys_ = 0;
  uint64_t largest_packet_number_ = 0;
  quic::InitialVersion keys_version_;
  quic::InitialKeys keys_;
  std::array<uint8_t, quic::kMaxConnectionIdLength> key_dcid_{};
  std::array<uint8_t, quic::kMaxConnectionIdLength> client_scid_{};
  quic::CryptoStream stream_;
  std::string sni_;
};

}  // namespace nm
