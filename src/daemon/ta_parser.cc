#include "daemon/ta_parser.h"

#include <cmath>
#include <exception>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>

namespace nm {
namespace {

using Json = nlohmann::json;

// TsEnd * 10^9 must fit an int64 (the summary's timestamps are in ns).
constexpr int64_t kMaxTsSeconds = std::numeric_limits<int64_t>::max() / kNanosPerSecond;

// nlohmann's parser keeps its own stack, but a value nested a million levels deep still costs a
// node per level; a byte scan bounds the depth before any allocation.
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

int hexValue(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

bool parseMac(std::string_view text, MacAddr& out) {
  if (text.size() != 17) {
    return false;
  }
  for (size_t i = 0; i < 6; ++i) {
    const int hi = hexValue(text[i * 3]);
    const int lo = hexValue(text[i * 3 + 1]);
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
    const int v = hexValue(text[i]);
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

// Reads the keys of one record. Each method returns false after recording the first error, so
// the callers stop at the first problem and report it.
class RecordReader {
 public:
  TaParseError error() const { return error_; }

  bool read(const Json& root, TaRecord& r) {
    if (!root.is_object()) {
      return fail(TaParseError::kNotObject);
    }
    const Json* traffic = find(root, "TrafficData");
    if (traffic == nullptr) {
      return fail(TaParseError::kMissingTrafficData);
    }
    const Json* info = nullptr;
    if (!object(root, "Info", true, info) || !readInfo(*info, r)) {
      return false;
    }
    const Json* cache = nullptr;
    if (!object(root, "CacheStats", false, cache) || (cache != nullptr && !readCache(*cache, r))) {
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

  static const Json* find(const Json& obj, const char* key) {
    const auto it = obj.find(key);
    return it == obj.end() ? nullptr : &*it;
  }

  // Looks up `key`: `out` is nullptr when it is absent, which fails only when `required`.
  bool lookup(const Json& obj, const char* key, bool required, const Json*& out) {
    out = find(obj, key);
    if (out == nullptr && required) {
      return fail(TaParseError::kMissingField);
    }
    return true;
  }

  bool object(const Json& obj, const char* key, bool required, const Json*& out) {
    if (!lookup(obj, key, required, out)) {
      return false;
    }
    if (out != nullptr && !out->is_object()) {
      return fail(TaParseError::kWrongType);
    }
    return true;
  }

  bool str(const Json& obj, const char* key, bool required, std::string& out) {
    const Json* v = nullptr;
    if (!lookup(obj, key, required, v)) {
      return false;
    }
    if (v == nullptr) {
      return true;  // optional and absent: keep the default
    }
    if (!v->is_string()) {
      return fail(TaParseError::kWrongType);
    }
    out = v->get_ref<const std::string&>();
    return true;
  }

  // Borrows a required string value.
  bool strView(const Json& obj, const char* key, std::string_view& out) {
    const Json* v = nullptr;
    if (!lookup(obj, key, true, v)) {
      return false;
    }
    if (!v->is_string()) {
      return fail(TaParseError::kWrongType);
    }
    out = v->get_ref<const std::string&>();
    return true;
  }

  bool u64(const Json& obj, const char* key, bool required, uint64_t max, uint64_t& out) {
    const Json* v = nullptr;
    if (!lookup(obj, key, required, v)) {
      return false;
    }
    if (v == nullptr) {
      return true;  // optional and absent: keep the default
    }
    if (!v->is_number_integer()) {
      return fail(TaParseError::kWrongType);
    }
    if (!v->is_number_unsigned() || v->get<uint64_t>() > max) {
      return fail(TaParseError::kBadValue);
    }
    out = v->get<uint64_t>();
    return true;
  }

  template <typename T>
  bool narrow(const Json& obj, const char* key, T& out) {
    uint64_t v = out;
    if (!u64(obj, key, false, std::numeric_limits<T>::max(), v)) {
      return false;
    }
    out = static_cast<T>(v);
    return true;
  }

  bool i64(const Json& obj, const char* key, bool required, int64_t max, int64_t& out) {
    const Json* v = nullptr;
    if (!lookup(obj, key, required, v)) {
      return false;
    }
    if (v == nullptr) {
      return true;  // optional and absent: keep the default
    }
    if (!v->is_number_integer()) {
      return fail(TaParseError::kWrongType);
    }
    if (v->is_number_unsigned() ? v->get<uint64_t>() > static_cast<uint64_t>(max)
                                : v->get<int64_t>() < 0) {
      return fail(TaParseError::kBadValue);
    }
    out = v->get<int64_t>();
    return true;
  }

  bool dbl(const Json& obj, const char* key, bool required, double& out) {
    const Json* v = nullptr;
    if (!lookup(obj, key, required, v)) {
      return false;
    }
    if (v == nullptr) {
      return true;  // optional and absent: keep the default
    }
    if (!v->is_number()) {
      return fail(TaParseError::kWrongType);
    }
    // nlohmann already refuses 1e400 as malformed; this keeps any other route from handing the
    // summary an infinite rate.
    const double d = v->get<double>();
    if (!std::isfinite(d)) {
      return fail(TaParseError::kBadValue);
    }
    out = d;
    return true;
  }

  bool port(const Json& obj, const char* key, uint16_t& out) {
    const Json* v = nullptr;
    if (!lookup(obj, key, true, v)) {
      return false;
    }
    uint64_t n = 0;
    if (v->is_string()) {
      if (!parseDigits(v->get_ref<const std::string&>(), 65535, n)) {
        return fail(TaParseError::kBadValue);
      }
    } else if (!u64(obj, key, true, 65535, n)) {
      return false;
    }
    out = static_cast<uint16_t>(n);
    return true;
  }

  bool proto(const Json& obj, uint8_t& out) {
    const Json* v = nullptr;
    if (!lookup(obj, "Proto", true, v)) {
      return false;
    }
    uint64_t n = 0;
    if (v->is_string()) {
      const std::string& text = v->get_ref<const std::string&>();
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
    } else if (!u64(obj, "Proto", true, 255, n)) {
      return false;
    }
    out = static_cast<uint8_t>(n);
    return true;
  }

  bool ip(const Json& obj, const char* key, IpAddr& out) {
    std::string_view text;
    if (!strView(obj, key, text)) {
      return false;
    }
    if (!IpAddr::parse(text, out)) {
      return fail(TaParseError::kBadAddress);
    }
    return true;
  }

  bool readInfo(const Json& info, TaRecord& r) {
    return str(info, "Version", false, r.version) && str(info, "Conf", false, r.conf) &&
           str(info, "Type", false, r.type) &&
           i64(info, "TsStart", true, kMaxTsSeconds, r.ts_start) &&
           i64(info, "TsEnd", true, kMaxTsSeconds, r.ts_end) &&
           u64(info, "PktsRcvd", false, UINT64_MAX, r.pkts_rcvd) &&
           u64(info, "PktsDrop", false, UINT64_MAX, r.pkts_drop);
  }

  bool readCache(const Json& c, TaRecord& r) {
    return u64(c, "GenFlows", false, UINT64_MAX, r.gen_flows) &&
           u64(c, "VideoFlows", false, UINT64_MAX, r.video_flows) &&
           u64(c, "TCPVideoFlows", false, UINT64_MAX, r.tcp_video_flows) &&
           u64(c, "TCPFlows", false, UINT64_MAX, r.tcp_flows) &&
           u64(c, "GeneralCounters", false, UINT64_MAX, r.general_counters) &&
           u64(c, "VideoSegments", false, UINT64_MAX, r.video_segments) &&
           u64(c, "EvictedFlows", false, UINT64_MAX, r.evicted_flows) &&
           u64(c, "ExpiredFlows", false, UINT64_MAX, r.expired_flows);
  }

  bool readTraffic(const Json& t, TaRecord& r) {
    if (!dbl(t, "Avg", false, r.avg) || !dbl(t, "Var", false, r.var) ||
        !dbl(t, "Q50", false, r.q50) || !dbl(t, "Q75", false, r.q75) ||
        !dbl(t, "Q90", false, r.q90) || !dbl(t, "Q95", false, r.q95)) {
      return false;
    }
    const Json* data = nullptr;
    if (!lookup(t, "Data", true, data)) {
      return false;
    }
    if (!data->is_array()) {
      return fail(TaParseError::kWrongType);
    }
    r.data.resize(data->size());
    size_t i = 0;
    for (const Json& entry : *data) {
      if (!entry.is_object()) {
        return fail(TaParseError::kWrongType);
      }
      if (!readEntry(entry, r.data[i++])) {
        return false;
      }
    }
    return true;
  }

  bool readEntry(const Json& e, TaFlowEntry& f) {
    std::string_view hw;
    std::string_view flow;
    if (!str(e, "Meta", true, f.meta) || !ip(e, "Device", f.device) || !strView(e, "HwAddr", hw) ||
        !strView(e, "Flow", flow) || !str(e, "Domain", true, f.domain) || !proto(e, f.proto) ||
        !port(e, "LPort", f.lport) || !ip(e, "SIP", f.sip) || !port(e, "SPort", f.sport) ||
        !dbl(e, "KbpsUp", true, f.kbps_up) || !dbl(e, "KbpsDw", true, f.kbps_dw) ||
        !dbl(e, "PpsUp", true, f.pps_up) || !dbl(e, "PpsDw", true, f.pps_dw) ||
        !u64(e, "BytesUp", false, UINT64_MAX, f.bytes_up) ||
        !u64(e, "BytesDw", false, UINT64_MAX, f.bytes_dw) ||
        !u64(e, "PktsUp", false, UINT64_MAX, f.pkts_up) ||
        !u64(e, "PktsDw", false, UINT64_MAX, f.pkts_dw) || !str(e, "Ndpi", false, f.ndpi)) {
      return false;
    }
    f.has_hw_addr = !hw.empty();
    if (f.has_hw_addr && !parseMac(hw, f.hw_addr)) {
      return fail(TaParseError::kBadAddress);
    }
    if (!parseHex128(flow, f.flow_hi, f.flow_lo)) {
      taFlowHash(flow, f.flow_hi, f.flow_lo);
    }
    return readVideo(e, f);
  }

  bool readVideo(const Json& e, TaFlowEntry& f) {
    const Json* video = find(e, "VideoInfo");
    if (video == nullptr || video->is_null()) {
      return true;
    }
    if (!video->is_object()) {
      return fail(TaParseError::kWrongType);
    }
    const Json* chunks = nullptr;
    if (!lookup(*video, "UpstreamChunks", true, chunks)) {
      return false;
    }
    if (!chunks->is_array()) {
      return fail(TaParseError::kWrongType);
    }
    f.has_video_info = true;
    f.upstream_chunks.resize(chunks->size());
    size_t i = 0;
    for (const Json& c : *chunks) {
      if (!c.is_object()) {
        return fail(TaParseError::kWrongType);
      }
      UpstreamChunk& u = f.upstream_chunks[i++];
      constexpr int64_t kMaxNs = std::numeric_limits<int64_t>::max();
      if (!narrow(c, "Len", u.len) || !narrow(c, "Seq", u.seq) ||
          !i64(c, "TsStart", false, kMaxNs, u.ts_start) ||
          !i64(c, "TsEnd", false, kMaxNs, u.ts_end) ||
          !i64(c, "LastPkt", false, kMaxNs, u.last_pkt) || !narrow(c, "DownPkts", u.down_pkts) ||
          !u64(c, "DonwBytes", false, UINT64_MAX, u.down_bytes) ||  // sic, the original's key
          !narrow(c, "MaxDSeq", u.max_dseq)) {
        return false;
      }
    }
    return true;
  }

  TaParseError error_ = TaParseError::kNone;
};

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
  if (!nestingWithin(line, kMaxTaNesting)) {
    return TaParseError::kTooDeep;
  }
  // allow_exceptions=false covers malformed input; the catch is for what remains (bad_alloc on a
  // line just under the limit), which must not take the daemon down either.
  try {
    const Json root = Json::parse(line.begin(), line.end(), nullptr, false);
    if (root.is_discarded()) {
      return TaParseError::kNotJson;
    }
    out = TaRecord{};
    RecordReader reader;
    reader.read(root, out);
    return reader.error();
  } catch (const std::exception&) {
    return TaParseError::kNotJson;
  }
}

}  // namespace nm
