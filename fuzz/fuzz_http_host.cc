// libFuzzer target for parseHttpRequestHost(). Any bytes must parse without a crash or a
// sanitizer report; a found host is a non-empty lower-case host name or IPv6 literal, nothing
// else leaves a host behind, and longer streams never change a final answer.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "classify/http/http_host.h"
#include "core/net_types.h"

namespace {

using nm::ParseStatus;

void check(bool ok) {
  if (!ok) {
    __builtin_trap();
  }
}

ParseStatus parseChecked(std::span<const uint8_t> bytes, std::string& host) {
  const ParseStatus status = nm::parseHttpRequestHost(bytes, host);
  if (status != ParseStatus::kFound) {
    check(host.empty());
    return status;
  }
  check(!host.empty() && host.size() <= 253);
  check(std::all_of(host.begin(), host.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
           c == ':';
  }));
  if (host.find(':') != std::string::npos) {
    nm::IpAddr addr;
    check(nm::IpAddr::parse(host, addr) && addr.isV6());
  }
  return status;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> input(data, size);
  std::string whole;
  const ParseStatus whole_status = parseChecked(input, whole);
  for (const size_t n : {size / 2, size > 0 ? size - 1 : 0}) {
    std::string part;
    const ParseStatus part_status = parseChecked(input.first(n), part);
    if (part_status != ParseStatus::kNeedMore) {
      check(part_status == whole_status && part == whole);
    }
  }
  return 0;
}
