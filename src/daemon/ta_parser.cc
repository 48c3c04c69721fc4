#include "daemon/ta_parser.h"

#include <simdjson.h>

#include <array>
#include <cmath>
#include <cstring>
#include <exception>
#include <limits>
#include <memory>
#include <string>

#include "core/hex.h"

namespace nm {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

// TsEnd * 10^9 must fit an int64 (the summary's timestamps are in ns).
constexpr int64_t kMaxTsSeconds = std::numeric_limits<int64_t>::max() / kNanosPerSecond;

// The parser's buffers cost about 14 bytes per byte of the longest line seen; after a line
// longer than this they are given back, so one huge record does not pin tens of MiB per thread.
constexpr size_t kKeptCapacity = size_t{512} << 10;
constexpr size_t kInitialCapacity = size_t{64} << 10;

// The byte-level nesting scan of the former parser. It now runs only on lines simdjson refused,
// to decide between kTooDeep and kNotJson exactly as before (depth is reported first, even when
// the line is also malformed further on).
bool nestingWithin(std::string_view line, int limit) {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : line) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > limit) {
        return false;
      }
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return true;
}

bool isDigit(char c) {
  return c >= '0' && c <= '9';
}

// True when the digits (no sign, no leading zeros) exceed the integer range a JSON integer of
// that sign may have: uint64 for non-negative, int64 for negative.
bool integerOutOfRange(std::string_view digits, bool negative) {
  const std::string_view limit = negative ? "9223372036854775808" : "18446744073709551615";
  return digits.size() > limit.size() || (digits.size() == limit.size() && digits > limit);
}

// simdjson refuses integers beyond 64 bits, which the JSON grammar allows and the former parser
// read as doubles (a finite rate, or kWrongType for a counter). Appending ".0" to each such
// integer gives simdjson the same double. Writes the rewritten text to `out`; false when there
// was nothing to rewrite. Only called on lines simdjson refused.
bool widenHugeIntegers(std::string_view text, std::string& out) {
  out.clear();
  bool changed = false;
  bool in_string = false;
  bool escaped = false;
  size_t copied = 0;
  for (size_t i = 0; i < text.size();) {
    const char c = text[i];
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      ++i;
      continue;
    }
    if (c == '"') {
      in_string = true;
      ++i;
      continue;
    }
    if (c != '-' && !isDigit(c)) {
      ++i;
      continue;
    }
    // A whole number token, as far as characters that can belong to one reach.
    size_t end = i;
    while (end < text.size() && (isDigit(text[end]) || text[end] == '-' || text[end] == '+' ||
                                 text[end] == '.' || text[end] == 'e' || text[end] == 'E')) {
      ++end;
    }
    const bool negative = c == '-';
    const std::string_view digits =
        text.substr(i + (negative ? 1 : 0), end - i - (negative ? 1 : 0));
    bool integer = !digits.empty() && digits[0] != '0';
    for (char d : digits) {
      integer = integer && isDigit(d);
    }
    if (integer && integerOutOfRange(digits, negative)) {
      out.append(text.substr(copied, end - copied));
      out.append(".0");
      copied = end;
      changed = true;
    }
    i = end;
  }
  out.append(text.substr(copied));
  return changed;
}

bool parseMac(std::string_view text, MacAddr& out) {
  if (text.size() != 17) {
    return false;
  }
  for (size_t i = 0; i < 6; ++i) {
    const int hi = hexDigitValue(text[i * 3]);
    const int lo = hexDigitValue(text[i * 3 + 1]);
    if (hi < 0 || lo < 0 || (i < 5 && text[i * 3 + 2] != ':')) {
      return false;
    }
    out.bytes[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return true;
}

bool parseHex128(std::string_view text, uint64_t& hi, uint64_t& lo) {
  if (text.size() != 32) {
    return false;
  }
  uint64_t words[2] = {0, 0};
  for (size_t i = 0; i < 32; ++i) {
    const int v = hexDigitValue(text[i]);
    if (v < 0) {
      return false;
    }
    words[i / 16] = words[i / 16] << 4 | static_cast<uint64_t>(v);
  }
  hi = words[0];
  lo = words[1];
  return true;
}

// Decimal digits only, no sign, at most `max`; false on anything else.
bool parseDigits(std::string_view text, uint64_t max, uint64_t& out) {
  if (text.empty() || text.size() > 20) {
    return false;
  }
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') {
      return false;
    }
    const auto digit = static_cast<uint64_t>(c - '0');
    if (v > (max - digit) / 10) {
      return false;
    }
    v = v * 10 + digit;
  }
  out = v;
  return true;
}

// The values of the keys an object kind has, found in one pass over its fields. `kNames` lists
// the keys in the order both cores write them, so each lookup usually costs one comparison.
// A repeated key keeps its last value, as the former (nlohmann) parser did.
template <size_t N>
class Fields {
 public:
  static_assert(N <= 32);

  explicit Fields(const std::array<std::string_view, N>& names) : names_(names) {}

  void collect(simdjson::dom::object object) {
    present_ = 0;
    size_t next = 0;
    for (const simdjson::dom::key_value_pair field : object) {
      const size_t i = indexOf(field.key, next);
      if (i < N) {
        values_[i] = field.value;
        present_ |= uint32_t{1} << i;
        next = i + 1;
      }
    }
  }

  // nullptr when the key is absent.
  const element* operator[](size_t i) const {
    return (present_ >> i & 1) != 0 ? &values_[i] : nullptr;
  }

 private:
  size_t indexOf(std::string_view key, size_t expected) const {
    if (expected < N && names_[expected] == key) {
      return expected;
    }
    for (size_t i = 0; i < N; ++i) {
      if (names_[i] == key) {
        return i;
      }
    }
    return N;
  }

  const std::array<std::string_view, N>& names_;
  std::array<element, N> values_;
  uint32_t present_ = 0;
};

// Slot numbers match the position in each name list.
constexpr std::array<std::string_view, 3> kRootKeys = {"Info", "CacheStats", "TrafficData"};
enum RootKey : size_t { kInfo, kCacheStats, kTrafficData };

constexpr std::array<std::string_view, 7> kInfoKeys = {"Version", "Conf",     "Type",    "TsStart",
                                                       "TsEnd",   "PktsRcvd", "PktsDrop"};
enum InfoKey : size_t { kVersion, kConf, kType, kTsStart, kTsEnd, kPktsRcvd, kPktsDrop };

constexpr std::array<std::string_view, 8> kCacheKeys = {
    "GenFlows",        "VideoFlows",    "TCPVideoFlows", "TCPFlows",
    "GeneralCounters", "VideoSegments", "EvictedFlows",  "ExpiredFlows"};

constexpr std::array<std::string_view, 7> kTrafficKeys = {"Avg", "Var", "Q50", "Q75",
                                                          "Q90", "Q95", "Data"};
enum TrafficKey : size_t { kAvg, kVar, kQ50, kQ75, kQ90, kQ95, kData };

constexpr std::array<std::string_view, 19> kEntryKeys = {
    "Meta",    "Device", "HwAddr", "Flow",   "Domain",   "Proto", "LPort",
    "SIP",     "SPort",  "KbpsUp", "KbpsDw", "PpsUp",    "PpsDw", "BytesUp",
    "BytesDw", "PktsUp", "PktsDw", "Ndpi",   "VideoInfo"};
enum EntryKey : size_t {
  kMeta,
  kDevice,
  kHwAddr,
  kFlow,
  kDomain,
  kProto,
  kLPort,
  kSip,
  kSPort,
  kKbpsUp,
  kKbpsDw,
  kPpsUp,
  kPpsDw,
  kBytesUp,
  kBytesDw,
  kPktsUp,
  kPktsDw,
  kNdpi,
  kVideoInfo
};

constexpr std::array<std::string_view, 1> kVideoKeys = {"UpstreamChunks"};

constexpr std::array<std::string_view, 8> kChunkKeys = {
    "Len", "Seq", "TsStart", "TsEnd", "LastPkt", "DownPkts", "DonwBytes", "MaxDSeq"};  // sic
enum ChunkKey : size_t {
  kLen,
  kSeq,
  kChunkTsStart,
  kChunkTsEnd,
  kLastPkt,
  kDownPkts,
  kDownBytes,
  kMaxDSeq
};

// Reads the keys of one record. Each method returns false after recording the first error, so
// the callers stop at the first problem and report it. Keys are checked in the same order as
// the former parser did, so a record with several problems reports the same one.
class RecordReader {
 public:
  TaParseError error() const { return error_; }

  bool read(const element& root, TaRecord& r) {
    if (!root.is_object()) {
      return fail(TaParseError::kNotObject);
    }
    root_.collect(root.get_object().value_unsafe());
    const element* traffic = root_[kTrafficData];
    if (traffic == nullptr) {
      return fail(TaParseError::kMissingTrafficData);
    }
    const element* info = root_[kInfo];
    if (!object(info, true) || !readInfo(*info, r)) {
      return false;
    }
    const element* cache = root_[kCacheStats];
    if (!object(cache, false) || (cache != nullptr && !readCache(*cache, r))) {
      return false;
    }
    if (!traffic->is_object()) {
      return fail(TaParseError::kWrongType);
    }
    return readTraffic(*traffic, r);
  }

 private:
  bool fail(TaParseError e) {
    if (error_ == TaParseError::kNone) {
      error_ = e;
    }
    return false;
  }

  // False (kMissingField) only when `v` is absent and required.
  bool lookup(const element* v, bool required) {
    if (v == nullptr && required) {
      return fail(TaParseError::kMissingField);
    }
    return true;
  }

  bool object(const element* v, bool required) {
    if (!lookup(v, required)) {
      return false;
    }
    if (v != nullptr && !v->is_object()) {
      return fail(TaParseError::kWrongType);
    }
    return true;
  }

  // Optional and absent: `out` keeps its value (the caller has set the default).
  bool str(const element* v, bool required, std::string& out) {
    if (!lookup(v, required)) {
      return false;
    }
    if (v == nullptr) {
      return true;
    }
    std::string_view text;
    if (!view(v, text)) {
      return false;
    }
    out.assign(text);
    return true;
  }

  // Borrows a required string value; it lives as long as the parser's document.
  bool view(const element* v, std::string_view& out) {
    if (!lookup(v, true)) {
      return false;
    }
    if (v->get_string().get(out) != simdjson::SUCCESS) {
      return fail(TaParseError::kWrongType);
    }
    return true;
  }

  // simdjson types an integer int64 when it fits, uint64 above that; anything with a fraction or
  // an exponent is a double, which the former parser also refused for integer keys.
  bool u64(const element* v, bool required, uint64_t max, uint64_t& out) {
    if (!lookup(v, required)) {
      return false;
    }
    if (v == nullptr) {
      return true;
    }
    uint64_t n = 0;
    switch (v->type()) {
      case element_type::INT64: {
        const int64_t s = v->get_int64().value_unsafe();
        if (s < 0) {
          return fail(TaParseError::kBadValue);
        }
        n = static_cast<uint64_t>(s);
        break;
      }
      case element_type::UINT64:
        n = v->get_uint64().value_unsafe();
        break;
      default:
        return fail(TaParseError::kWrongType);
    }
    if (n > max) {
      return fail(TaParseError::kBadValue);
    }
    out = n;
    return true;
  }

  template <typename T>
  bool narrow(const element* v, T& out) {
    uint64_t n = out;
    if (!u64(v, false, std::numeric_limits<T>::max(), n)) {
      return false;
    }
    out = static_cast<T>(n);
    return true;
  }

  bool i64(const element* v, bool required, int64_t max, int64_t& out) {
    uint64_t n = 0;
    if (v == nullptr) {
      return lookup(v, required);
    }
    if (!u64(v, required, static_cast<uint64_t>(max), n)) {
      return false;
    }
    out = static_cast<int64_t>(n);
    return true;
  }

  bool dbl(const element* v, bool required, double& out) {
    if (!lookup(v, required)) {
      return false;
    }
    if (v == nullptr) {
      return true;
    }
    double d = 0;
    switch (v->type()) {
      case element_type::DOUBLE:
        d = v->get_double().value_unsafe();
        break;
      case element_type::INT64:
        d = static_cast<double>(v->get_int64().value_unsafe());
        break;
      case element_type::UINT64:
        d = static_cast<double>(v->get_uint64().value_unsafe());
        break;
      default:
        return fail(TaParseError::kWrongType);
    }
    // simdjson already refuses 1e400 as malformed; this keeps any other route from handing the
    // summary an infinite rate.
    if (!std::isfinite(d)) {
      return fail(TaParseError::kBadValue);
    }
    out = d;
    return true;
  }

  bool port(const element* v, uint16_t& out) {
    if (!lookup(v, true)) {
      return false;
    }
    uint64_t n = 0;
    std::string_view text;
    if (v->get_string().get(text) == simdjson::SUCCESS) {
      if (!parseDigits(text, 65535, n)) {
        return fail(TaParseError::kBadValue);
      }
    } else if (!u64(v, true, 65535, n)) {
      return false;
    }
    out = static_cast<uint16_t>(n);
    return true;
  }

  bool proto(const element* v, uint8_t& out) {
    if (!lookup(v, true)) {
      return false;
    }
    uint64_t n = 0;
    std::string_view text;
    if (v->get_string().get(text) == simdjson::SUCCESS) {
      if (text == "tcp") {
        n = ipproto::kTcp;
      } else if (text == "udp") {
        n = ipproto::kUdp;
      } else if (text == "icmp") {
        n = ipproto::kIcmp;
      } else if (text == "icmpv6") {
        n = ipproto::kIcmpv6;
      } else if (!parseDigits(text, 255, n)) {
        return fail(TaParseError::kBadValue);
      }
    } else if (!u64(v, true, 255, n)) {
      return false;
    }
    out = static_cast<uint8_t>(n);
    return true;
  }

  bool ip(const element* v, IpAddr& out) {
    std::string_view text;
    if (!view(v, text)) {
      return false;
    }
    if (!IpAddr::parse(text, out)) {
      return fail(TaParseError::kBadAddress);
    }
    return true;
  }

  bool readInfo(const element& info, TaRecord& r) {
    Fields<kInfoKeys.size()> f(kInfoKeys);
    f.collect(info.get_object().value_unsafe());
    return str(f[kVersion], false, r.version) && str(f[kConf], false, r.conf) &&
           str(f[kType], false, r.type) && i64(f[kTsStart], true, kMaxTsSeconds, r.ts_start) &&
           i64(f[kTsEnd], true, kMaxTsSeconds, r.ts_end) &&
           u64(f[kPktsRcvd], false, UINT64_MAX, r.pkts_rcvd) &&
           u64(f[kPktsDrop], false, UINT64_MAX, r.pkts_drop);
  }

  bool readCache(const element& cache, TaRecord& r) {
    Fields<kCacheKeys.size()> f(kCacheKeys);
    f.collect(cache.get_object().value_unsafe());
    uint64_t* const targets[] = {&r.gen_flows,     &r.video_flows,      &r.tcp_video_flows,
                                 &r.tcp_flows,     &r.general_counters, &r.video_segments,
                                 &r.evicted_flows, &r.expired_flows};
    for (size_t i = 0; i < kCacheKeys.size(); ++i) {
      if (!u64(f[i], false, UINT64_MAX, *targets[i])) {
        return false;
      }
    }
    return true;
  }

  bool readTraffic(const element& traffic, TaRecord& r) {
    Fields<kTrafficKeys.size()> f(kTrafficKeys);
    f.collect(traffic.get_object().value_unsafe());
    if (!dbl(f[kAvg], false, r.avg) || !dbl(f[kVar], false, r.var) || !dbl(f[kQ50], false, r.q50) ||
        !dbl(f[kQ75], false, r.q75) || !dbl(f[kQ90], false, r.q90) || !dbl(f[kQ95], false, r.q95)) {
      return false;
    }
    const element* data = f[kData];
    if (!lookup(data, true)) {
      return false;
    }
    simdjson::dom::array entries;
    if (data->get_array().get(entries) != simdjson::SUCCESS) {
      return fail(TaParseError::kWrongType);
    }
    // Reuses the entries (and their strings' buffers) of the record `out` held before.
    r.data.resize(entries.size());
    size_t i = 0;
    for (const element entry : entries) {
      if (!entry.is_object()) {
        return fail(TaParseError::kWrongType);
      }
      if (!readEntry(entry, r.data[i++])) {
        return false;
      }
    }
    return true;
  }

  // Assigns every field of `e`: it may hold an entry of the previous record.
  bool readEntry(const element& entry, TaFlowEntry& e) {
    static const TaFlowEntry kDefault;
    Fields<kEntryKeys.size()>& f = entry_;
    f.collect(entry.get_object().value_unsafe());
    e.ndpi.assign(kDefault.ndpi);
    e.bytes_up = kDefault.bytes_up;
    e.bytes_dw = kDefault.bytes_dw;
    e.pkts_up = kDefault.pkts_up;
    e.pkts_dw = kDefault.pkts_dw;
    e.hw_addr = kDefault.hw_addr;
    std::string_view hw;
    std::string_view flow;
    if (!str(f[kMeta], true, e.meta) || !ip(f[kDevice], e.device) || !view(f[kHwAddr], hw) ||
        !view(f[kFlow], flow) || !str(f[kDomain], true, e.domain) || !proto(f[kProto], e.proto) ||
        !port(f[kLPort], e.lport) || !ip(f[kSip], e.sip) || !port(f[kSPort], e.sport) ||
        !dbl(f[kKbpsUp], true, e.kbps_up) || !dbl(f[kKbpsDw], true, e.kbps_dw) ||
        !dbl(f[kPpsUp], true, e.pps_up) || !dbl(f[kPpsDw], true, e.pps_dw) ||
        !u64(f[kBytesUp], false, UINT64_MAX, e.bytes_up) ||
        !u64(f[kBytesDw], false, UINT64_MAX, e.bytes_dw) ||
        !u64(f[kPktsUp], false, UINT64_MAX, e.pkts_up) ||
        !u64(f[kPktsDw], false, UINT64_MAX, e.pkts_dw) || !str(f[kNdpi], false, e.ndpi)) {
      return false;
    }
    e.has_hw_addr = !hw.empty();
    if (e.has_hw_addr && !parseMac(hw, e.hw_addr)) {
      return fail(TaParseError::kBadAddress);
    }
    if (!parseHex128(flow, e.flow_hi, e.flow_lo)) {
      taFlowHash(flow, e.flow_hi, e.flow_lo);
    }
    return readVideo(f[kVideoInfo], e);
  }

  bool readVideo(const element* video, TaFlowEntry& e) {
    e.has_video_info = false;
    e.upstream_chunks.clear();
    if (video == nullptr || video->is_null()) {
      return true;
    }
    if (!video->is_object()) {
      return fail(TaParseError::kWrongType);
    }
    Fields<kVideoKeys.size()> v(kVideoKeys);
    v.collect(video->get_object().value_unsafe());
    const element* chunks = v[0];
    if (!lookup(chunks, true)) {
      return false;
    }
    simdjson::dom::array list;
    if (chunks->get_array().get(list) != simdjson::SUCCESS) {
      return fail(TaParseError::kWrongType);
    }
    e.has_video_info = true;
    e.upstream_chunks.resize(list.size());
    size_t i = 0;
    Fields<kChunkKeys.size()> c(kChunkKeys);
    for (const element chunk : list) {
      if (!chunk.is_object()) {
        return fail(TaParseError::kWrongType);
      }
      c.collect(chunk.get_object().value_unsafe());
      UpstreamChunk& u = e.upstream_chunks[i++];
      constexpr int64_t kMaxNs = std::numeric_limits<int64_t>::max();
      if (!narrow(c[kLen], u.len) || !narrow(c[kSeq], u.seq) ||
          !i64(c[kChunkTsStart], false, kMaxNs, u.ts_start) ||
          !i64(c[kChunkTsEnd], false, kMaxNs, u.ts_end) ||
          !i64(c[kLastPkt], false, kMaxNs, u.last_pkt) || !narrow(c[kDownPkts], u.down_pkts) ||
          !u64(c[kDownBytes], false, UINT64_MAX, u.down_bytes) ||
          !narrow(c[kMaxDSeq], u.max_dseq)) {
        return false;
      }
    }
    return true;
  }

  Fields<kRootKeys.size()> root_{kRootKeys};
  Fields<kEntryKeys.size()> entry_{kEntryKeys};
  TaParseError error_ = TaParseError::kNone;
};

// One per thread: simdjson's parser keeps its buffers between lines, and the line is copied into
// a buffer with the SIMDJSON_PADDING bytes simdjson may read past the end.
class ThreadParser {
 public:
  // Parses `text`; the document lives until the next call.
  simdjson::error_code parse(std::string_view text, element& root) {
    if (!ready_) {
      if (const auto err = parser_.allocate(kInitialCapacity, kMaxTaNesting); err) {
        return err;
      }
      ready_ = true;
    }
    if (text.size() + simdjson::SIMDJSON_PADDING > buffer_size_) {
      buffer_size_ = text.size() + simdjson::SIMDJSON_PADDING;
      buffer_ = std::make_unique<char[]>(buffer_size_);
    }
    std::memcpy(buffer_.get(), text.data(), text.size());
    std::memset(buffer_.get() + text.size(), 0, simdjson::SIMDJSON_PADDING);
    return parser_.parse(buffer_.get(), text.size(), false).get(root);
  }

  // Gives back the buffers a huge line grew, once its document is no longer needed.
  void trim() {
    if (parser_.capacity() > kKeptCapacity) {
      ready_ = false;  // allocate() again on the next line
      parser_ = simdjson::dom::parser();
    }
    if (buffer_size_ > kKeptCapacity) {
      buffer_.reset();
      buffer_size_ = 0;
    }
  }

  std::string& scratch() { return scratch_; }

 private:
  simdjson::dom::parser parser_;
  bool ready_ = false;
  std::unique_ptr<char[]> buffer_;
  size_t buffer_size_ = 0;
  std::string scratch_;
};

TaParseError parseDocument(ThreadParser& parser, std::string_view line, TaRecord& out) {
  element root;
  if (parser.parse(line, root) != simdjson::SUCCESS) {
    // Rare: decide exactly as the former parser did.
    if (!nestingWithin(line, kMaxTaNesting)) {
      return TaParseError::kTooDeep;
    }
    // It read up to the first NUL byte only, and read integers beyond 64 bits as doubles.
    const std::string_view until_nul = line.substr(0, line.find('\0'));
    std::string& rewritten = parser.scratch();
    const bool widened = widenHugeIntegers(until_nul, rewritten);
    if (until_nul.size() == line.size() && !widened) {
      return TaParseError::kNotJson;
    }
    if (parser.parse(rewritten, root) != simdjson::SUCCESS) {
      return TaParseError::kNotJson;
    }
  }
  // Keeps the entries (and their buffers) of the previous record for readEntry to overwrite.
  std::vector<TaFlowEntry> entries = std::move(out.data);
  out = TaRecord{};
  out.data = std::move(entries);
  RecordReader reader;
  reader.read(root, out);
  return reader.error();
}

}  // namespace

const char* taParseErrorName(TaParseError error) {
  switch (error) {
    case TaParseError::kNone:
      return "ingest.ok";
    case TaParseError::kTooLong:
      return "ingest.too_long";
    case TaParseError::kTooDeep:
      return "ingest.too_deep";
    case TaParseError::kNotJson:
      return "ingest.not_json";
    case TaParseError::kNotObject:
      return "ingest.not_object";
    case TaParseError::kMissingTrafficData:
      return "ingest.missing_traffic_data";
    case TaParseError::kMissingField:
      return "ingest.missing_field";
    case TaParseError::kWrongType:
      return "ingest.wrong_type";
    case TaParseError::kBadValue:
      return "ingest.bad_value";
    case TaParseError::kBadAddress:
      return "ingest.bad_address";
  }
  return "ingest.unknown";
}

void taFlowHash(std::string_view text, uint64_t& hi, uint64_t& lo) {
  // FNV-1a, 128 bits: offset basis 0x6c62272e07bb014262b821756295c58d, prime 2^88 + 0x13b.
  __extension__ using U128 = unsigned __int128;
  U128 h = (static_cast<U128>(0x6c62272e07bb0142ULL) << 64) | 0x62b821756295c58dULL;
  const U128 prime = (static_cast<U128>(1) << 88) | 0x13b;
  for (char c : text) {
    h ^= static_cast<unsigned char>(c);
    h *= prime;
  }
  hi = static_cast<uint64_t>(h >> 64);
  lo = static_cast<uint64_t>(h);
}

TaParseError parseTaLine(std::string_view line, TaRecord& out, size_t max_line_bytes) {
  if (line.size() > max_line_bytes) {
    return TaParseError::kTooLong;
  }
  if (!line.empty() && line.back() == '\n') {
    line.remove_suffix(1);
  }
  if (!line.empty() && line.back() == '\r') {
    line.remove_suffix(1);
  }
  // The former parser skipped a UTF-8 byte order mark; simdjson does not.
  if (line.size() >= 3 && line.substr(0, 3) == "\xEF\xBB\xBF") {
    line.remove_prefix(3);
  }
  // simdjson reports allocation failures as error codes; the catch is for our own buffers and
  // strings (bad_alloc on a line just under the limit), which must not take the daemon down.
  try {
    thread_local ThreadParser parser;
    const TaParseError error = parseDocument(parser, line, out);
    parser.trim();
    return error;
  } catch (const std::exception&) {
    return TaParseError::kNotJson;
  }
}

}  // namespace nm
