// libFuzzer target for the reverse-DNS answer parser. Any bytes must parse without a crash, a
// sanitizer report or a hang, and the answer must keep the contract: a name only for kName (never
// empty, host-name labels, no trailing dot), an error text exactly for kFailed, and the same
// answer every time.

#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string>

#include "plugins/exinfo/rdns_resolver.h"

namespace {

void check(bool ok) {
  if (!ok) {
    __builtin_trap();
  }
}

constexpr uint32_t kNegativeTtl = 3'600;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const nm::RdnsAnswer a = nm::parsePtrResponse(data, size, kNegativeTtl);
  switch (a.status) {
    case nm::RdnsStatus::kName:
      check(!a.name.empty() && a.name.front() != '.' && a.name.back() != '.' && a.error.empty());
      check(a.name.find("..") == std::string::npos && a.name.size() <= 253);
      for (char c : a.name) {
        check(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.');
      }
      check(a.ttl_s <= 0x7fff'ffffu);
      break;
    case nm::RdnsStatus::kNoName:
      check(a.name.empty() && a.error.empty());
      check(a.ttl_s <= 0x7fff'ffffu || a.ttl_s == kNegativeTtl);  // RFC 2181: top bit means 0
      break;
    case nm::RdnsStatus::kFailed:
      check(a.name.empty() && !a.error.empty());
      break;
  }
  const nm::RdnsAnswer again = nm::parsePtrResponse(data, size, kNegativeTtl);
  check(again.status == a.status && again.name == a.name && again.ttl_s == a.ttl_s &&
        again.error == a.error);
  return 0;
}
