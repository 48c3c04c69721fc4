#pragma once
// Reads one TA record line (docs/formats.md) into the typed TaRecord the probe produces, so a
// record from a file or a queue reaches the summary in the same form as one handed over in-process.
//
// Accepts both the original core's records (no BytesUp/BytesDw/PktsUp/PktsDw, integer zeros for
// rates) and ours. Keys not listed in docs/formats.md are ignored. Every key that is read has its
// type checked; a line that fails any check is rejected whole, `out` is then unspecified, and the
// caller counts the returned error by taParseErrorName() and moves on.
//
// Policy for addresses: a Device or SIP that is not an IP address, or an HwAddr that is neither ""
// nor a MAC address, rejects the whole record with kBadAddress. Neither core ever wrote such an
// entry, so the line is corrupt or foreign; keeping the rest of the record would publish
// per-device sums that silently miss part of the traffic.
//
// Thread-safe: no shared state; each calling thread keeps its own simdjson parser and line buffer
// (thread_local, about 14 bytes per byte of the longest line up to 512 KiB, given back after a
// longer one). Never throws.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "report/ta_record.h"

namespace nm {

enum class TaParseError {
  kNone,
  kTooLong,             // the line exceeds max_line_bytes
  kTooDeep,             // JSON nested deeper than kMaxTaNesting
  kNotJson,             // not valid JSON (also NaN, Infinity, 1e400, invalid UTF-8, cut lines)
  kNotObject,           // valid JSON but not an object
  kMissingTrafficData,  // an object without "TrafficData"
  kMissingField,        // a required key is absent (Info, TsEnd, Data, an entry's Meta, ...)
  kWrongType,           // a key holds the wrong JSON type (string for a number, ...)
  kBadValue,            // right type, impossible value (port 70000, Proto "xyz", TsEnd -1)
  kBadAddress,          // Device/SIP not an IP address, HwAddr neither "" nor a MAC
};

// Stable dotted counter names: "ingest.ok", "ingest.not_json", ... Never nullptr.
const char* taParseErrorName(TaParseError error);

// Deepest JSON nesting accepted; a real record nests 7 levels (record, TrafficData, Data, entry,
// VideoInfo, UpstreamChunks, chunk). Unknown keys may nest a little deeper.
inline constexpr int kMaxTaNesting = 32;

// Parses one line (a trailing "\n" or "\r\n" is allowed) into `out`, overwriting all of it.
//
// Required: Info.TsStart and Info.TsEnd (integers, 0 <= ts <= 9223372036 so that TsEnd in ns fits
// an int64), TrafficData.Data (array of objects) and in each entry Meta, Device, HwAddr, Flow,
// Domain, Proto, LPort, SIP, SPort, KbpsUp, KbpsDw, PpsUp, PpsDw — everything the original core
// always wrote. Optional (default as in TaRecord): Info's other keys, CacheStats, TrafficData's
// Avg..Q95, BytesUp/BytesDw/PktsUp/PktsDw, Ndpi, VideoInfo (null or {"UpstreamChunks":[...]}),
// VoIPInfo (any value, ignored), and each chunk key.
//
// Conversions: Flow of 32 hex digits (either case) gives flow_hi/flow_lo; any other string gives
// taFlowHash(text). Proto "tcp"/"udp"/"icmp"/"icmpv6" or a number 0..255 (digits or integer).
// LPort/SPort: a string of 1-5 digits or an integer, 0..65535. Rates: any finite JSON number
// (integers beyond 64 bits included). Integer keys take JSON integers only; -0 reads as 0.
// Device/SIP are stored as IpAddr, so their text comes back canonical (inet_ntop form).
TaParseError parseTaLine(std::string_view line, TaRecord& out,
                         size_t max_line_bytes = size_t{4} << 20);

// The 128-bit FNV-1a hash of `text`, used as the flow id when "Flow" is not 32 hex digits. Stable
// across runs, builds and machines.
void taFlowHash(std::string_view text, uint64_t& hi, uint64_t& lo);

}  // namespace nm
