#pragma once
// The outcome every classification parser reports. Parsers are pure functions over bytes; the
// caller keeps the stream and decides, from this status, whether to wait, give up or count.

#include <cstdint>

namespace nm {

enum class ParseStatus : uint8_t {
  kFound,      // the thing looked for was parsed; output arguments are filled
  kNeedMore,   // a valid prefix so far: call again once more bytes of the stream arrived
  kNotThis,    // the bytes are not this protocol (or not the message looked for)
  kMalformed,  // this protocol, but inconsistent lengths or over a cap: stop and count it
};

// Stable lower-case name for counters and logs, e.g. "malformed".
constexpr const char* parseStatusName(ParseStatus status) {
  switch (status) {
    case ParseStatus::kFound:
      return "found";
    case ParseStatus::kNeedMore:
      return "need_more";
    case ParseStatus::kNotThis:
      return "not_this";
    case ParseStatus::kMalformed:
      return "malformed";
  }
  return "unknown";
}

}  // namespace nm
