#pragma once
// Google QUIC (gQUIC, versions Q024..Q046) before IETF QUIC: the client's first packet carries
// its handshake in clear text — a CHLO message whose tag table holds the server name (SNI).
// Later versions (Q048 and up, T0xx) encrypt it like IETF QUIC and are not handled here.

#include <cstdint>
#include <span>
#include <string>

#include "classify/parse_status.h"

namespace nm {

// Parses one UDP payload as a gQUIC client packet and, when it carries a CHLO with an SNI tag,
// stores the name (lower-cased, validated as a host name of 1..253 characters of [a-z0-9.-_])
// in `sni` and returns kFound. kNeedMore: a consistent prefix that was cut short (snaplen or a
// CHLO continued in the next packet). kNotThis: not gQUIC, a version whose handshake is
// encrypted, or a CHLO without SNI. kMalformed: gQUIC whose CHLO tag table is inconsistent or
// over its caps. Reads only inside `udp_payload`; `sni` is written only on kFound. Pure and
// thread-safe.
ParseStatus parseGquicChloSni(std::span<const uint8_t> udp_payload, std::string& sni);

}  // namespace nm
