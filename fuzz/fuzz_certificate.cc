// libFuzzer target: TLS server certificate names, and gQUIC CHLO SNI, over any bytes. Found
// names must be non-empty host names.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "classify/quic/gquic.h"
#include "classify/tls/server_certificate.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::string> names;
  if (nm::parseTlsServerCertificateNames({data, size}, names) == nm::ParseStatus::kFound) {
    for (const std::string& n : names) {
      if (n.empty() || n.size() > 253) {
        __builtin_trap();
      }
    }
  }
  std::string sni;
  if (nm::parseGquicChloSni({data, size}, sni) == nm::ParseStatus::kFound && sni.empty()) {
    __builtin_trap();
  }
  return 0;
}
