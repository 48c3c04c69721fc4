#pragma once
// The names in a TLS server certificate, for flows whose ClientHello carried no SNI (older
// clients and apps): the leaf certificate's subject alternative DNS names and common name.
// TLS 1.2 and earlier send the Certificate message in clear; TLS 1.3 encrypts it, and then
// nothing is found.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "classify/parse_status.h"

namespace nm {

inline constexpr size_t kMaxServerHandshakeBytes = 64 * 1024;

// `stream` is the server's TCP byte stream from its first byte. kFound fills `names` (lower
// case, "*." kept on wildcards; the common name first when present, then the DNS SANs; at most
// 64) from the first certificate of the Certificate message; kNeedMore while the handshake is
// incomplete; kNotThis when the stream is not a TLS handshake or the handshake reached
// ChangeCipherSpec / encrypted data without a certificate; kMalformed on inconsistent lengths
// or an unparsable certificate. The DER is parsed by OpenSSL.
ParseStatus parseTlsServerCertificateNames(std::span<const uint8_t> stream,
                                           std::vector<std::string>& names);

}  // namespace nm
