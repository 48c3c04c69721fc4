// The only TA encoder. Records are written field by field: literals by memcpy, numbers with
// {fmt} (shortest round-trip doubles, as Go's encoder wrote them), and any string that could need
// escaping through nlohmann::json, so JSON's escaping rules live in one well-kept library.

#include <arpa/inet.h>
#include <fmt/compile.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>

#include "report/ta_record.h"

namespace nm {
namespace {

// Writes into a buffer through a raw cursor: reserve() guarantees room for what follows, so each
// literal is one memcpy and each number is formatted in place (string::append per token was half
// the probe's time on flow-heavy traffic). fmt's buffer grows without zero-filling.
class Writer {
 public:
  explicit Writer(fmt::memory_buffer& out) : out_(out) {
    out_.clear();
    cur_ = out_.data();
  }
  ~Writer() { out_.resize(static_cast<size_t>(cur_ - out_.data())); }
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  // Makes room for `n` more bytes.
  void reserve(size_t n) {
    const size_t used = static_cast<size_t>(cur_ - out_.data());
    if (out_.size() - used < n) {
      out_.resize(std::max(used + n, out_.capacity()));
      cur_ = out_.data() + used;
    }
  }
  template <size_t N>
  void lit(const char (&s)[N]) {
    std::memcpy(cur_, s, N - 1);
    cur_ += N - 1;
  }
  void raw(std::string_view s) {
    reserve(s.size());
    std::memcpy(cur_, s.data(), s.size());
    cur_ += s.size();
  }
  void u64(uint64_t v) { cur_ = fmt::format_to(cur_, FMT_COMPILE("{}"), v); }
  void i64(int64_t v) { cur_ = fmt::format_to(cur_, FMT_COMPILE("{}"), v); }
  void dbl(double v) {
    if (!shortDecimal(v)) {
      cur_ = fmt::format_to(cur_, FMT_COMPILE("{}"), v);
    }
  }
  // A JSON string: plain ASCII goes straight through; anything else is escaped by nlohmann,
  // invalid UTF-8 (from the wire) becoming U+FFFD rather than an exception.
  void str(std::string_view s) {
    for (unsigned char c : s) {
      if (c < 0x20 || c == '"' || c == '\\' || c >= 0x80) {
        raw(nlohmann::json(std::string(s))
                .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
        return;
      }
    }
    reserve(s.size() + 2);
    *cur_++ = '"';
    std::memcpy(cur_, s.data(), s.size());
    cur_ += s.size();
    *cur_++ = '"';
  }
  // A number written as a JSON string, as the original wrote ports.
  void quoted(uint64_t v) {
    *cur_++ = '"';
    u64(v);
    *cur_++ = '"';
  }
  void ip(const IpAddr& a) {
    *cur_++ = '"';
    if (a.isV4()) {
      const auto& b = a.bytes;
      cur_ = fmt::format_to(cur_, FMT_COMPILE("{}.{}.{}.{}"), b[0], b[1], b[2], b[3]);
    } else if (a.isV6()) {
      cur_ += formatIpv6(a.bytes.data(), cur_);
    }
    *cur_++ = '"';
  }
  void mac(const MacAddr& m) {
    *cur_++ = '"';
    for (size_t i = 0; i < 6; ++i) {
      hexByte(m.bytes[i]);
      *cur_++ = i == 5 ? '"' : ':';
    }
  }
  void hex128(uint64_t hi, uint64_t lo) {
    *cur_++ = '"';
    for (uint64_t word : {hi, lo}) {
      for (int shift = 56; shift >= 0; shift -= 8) {
        hexByte(static_cast<uint8_t>(word >> shift));
      }
    }
    *cur_++ = '"';
  }

 private:
  // Rates are small integers over 10^k (bytes * 8 / 5000 has at most four decimals), and the
  // general shortest-digits search costs more than the rest of an entry. Writes `v` as
  // N / 10^k for the smallest k <= 6 that reproduces it exactly; false to fall back.
  bool shortDecimal(double v) {
    static constexpr double kPow10[] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6};
    if (!(v >= 0 && v < 1e12)) {
      return false;
    }
    for (int k = 0; k <= 6; ++k) {
      const double scaled = v * kPow10[k];
      const auto n = static_cast<uint64_t>(scaled + 0.5);
      // Both operands are exact, so the division is correctly rounded: equal means the decimal
      // n / 10^k reads back as exactly v.
      if (static_cast<double>(n) / kPow10[k] != v) {
        continue;
      }
      const uint64_t unit = static_cast<uint64_t>(kPow10[k]);
      cur_ = fmt::format_to(cur_, FMT_COMPILE("{}"), n / unit);
      if (k > 0) {
        uint64_t frac = n % unit;
        *cur_++ = '.';
        for (uint64_t div = unit / 10; div > 0; div /= 10) {
          *cur_++ = static_cast<char>('0' + frac / div);
          frac %= div;
        }
      }
      return true;
    }
    return false;
  }

  void hexByte(uint8_t b) {
    static constexpr char kHex[] = "0123456789abcdef";
    *cur_++ = kHex[b >> 4];
    *cur_++ = kHex[b & 0x0f];
  }

  fmt::memory_buffer& out_;
  char* cur_;
};

// Upper bounds of what one entry or chunk writes, excluding Meta and Domain (reserved apart).
constexpr size_t kMaxEntryBytes = 640;
constexpr size_t kMaxChunkBytes = 256;

void writeChunks(const TaFlowEntry& e, Writer& w) {
  if (!e.has_video_info) {
    w.lit("null");
    return;
  }
  w.lit("{\"UpstreamChunks\":[");
  bool first = true;
  for (const UpstreamChunk& c : e.upstream_chunks) {
    w.reserve(kMaxChunkBytes);
    if (!first) {
      w.lit(",");
    }
    first = false;
    w.lit("{\"Len\":");
    w.u64(c.len);
    w.lit(",\"Seq\":");
    w.u64(c.seq);
    w.lit(",\"TsStart\":");
    w.i64(c.ts_start);
    w.lit(",\"TsEnd\":");
    w.i64(c.ts_end);
    w.lit(",\"LastPkt\":");
    w.i64(c.last_pkt);
    w.lit(",\"DownPkts\":");
    w.u64(c.down_pkts);
    w.lit(",\"DonwBytes\":");  // sic: the original key, kept for compatibility
    w.u64(c.down_bytes);
    w.lit(",\"MaxDSeq\":");
    w.u64(c.max_dseq);
    w.lit("}");
  }
  w.lit("]}");
}

void writeEntry(const TaFlowEntry& e, Writer& w) {
  w.reserve(kMaxEntryBytes);
  w.lit("{\"Meta\":");
  w.str(e.meta);
  w.lit(",\"Device\":");
  w.ip(e.device);
  w.lit(",\"HwAddr\":");
  if (e.has_hw_addr) {
    w.mac(e.hw_addr);
  } else {
    w.lit("\"\"");
  }
  w.lit(",\"Flow\":");
  w.hex128(e.flow_hi, e.flow_lo);
  w.lit(",\"Domain\":");
  w.str(e.domain);
  w.reserve(kMaxEntryBytes);
  w.lit(",\"Proto\":");
  if (const char* name = knownIpProtoName(e.proto)) {
    w.str(name);
  } else {
    w.quoted(e.proto);
  }
  w.lit(",\"LPort\":");
  w.quoted(e.lport);
  w.lit(",\"SIP\":");
  w.ip(e.sip);
  w.lit(",\"SPort\":");
  w.quoted(e.sport);
  w.lit(",\"KbpsUp\":");
  w.dbl(e.kbps_up);
  w.lit(",\"KbpsDw\":");
  w.dbl(e.kbps_dw);
  w.lit(",\"PpsUp\":");
  w.dbl(e.pps_up);
  w.lit(",\"PpsDw\":");
  w.dbl(e.pps_dw);
  w.lit(",\"BytesUp\":");
  w.u64(e.bytes_up);
  w.lit(",\"BytesDw\":");
  w.u64(e.bytes_dw);
  w.lit(",\"PktsUp\":");
  w.u64(e.pkts_up);
  w.lit(",\"PktsDw\":");
  w.u64(e.pkts_dw);
  if (!e.ndpi.empty()) {
    w.lit(",\"Ndpi\":");
    w.str(e.ndpi);
    w.reserve(kMaxEntryBytes);
  }
  w.lit(",\"VideoInfo\":");
  writeChunks(e, w);
  w.reserve(32);
  w.lit(",\"VoIPInfo\":null}");
}

void writeRecord(const TaRecord& r, fmt::memory_buffer& buffer) {
  Writer w(buffer);
  w.reserve(1024);
  w.lit("{\"Info\":{\"Version\":");
  w.str(r.version);
  w.lit(",\"Conf\":");
  w.str(r.conf);
  w.lit(",\"Type\":");
  w.str(r.type);
  w.reserve(1024);
  w.lit(",\"TsStart\":");
  w.i64(r.ts_start);
  w.lit(",\"TsEnd\":");
  w.i64(r.ts_end);
  w.lit(",\"PktsRcvd\":");
  w.u64(r.pkts_rcvd);
  w.lit(",\"PktsDrop\":");
  w.u64(r.pkts_drop);
  w.lit("},\"CacheStats\":{\"GenFlows\":");
  w.u64(r.gen_flows);
  w.lit(",\"VideoFlows\":");
  w.u64(r.video_flows);
  w.lit(",\"TCPVideoFlows\":");
  w.u64(r.tcp_video_flows);
  w.lit(",\"TCPFlows\":");
  w.u64(r.tcp_flows);
  w.lit(",\"GeneralCounters\":");
  w.u64(r.general_counters);
  w.lit(",\"VideoSegments\":");
  w.u64(r.video_segments);
  w.lit(",\"EvictedFlows\":");
  w.u64(r.evicted_flows);
  w.lit(",\"ExpiredFlows\":");
  w.u64(r.expired_flows);
  w.lit("},\"TrafficData\":{\"Avg\":");
  w.dbl(r.avg);
  w.lit(",\"Var\":");
  w.dbl(r.var);
  w.lit(",\"Q50\":");
  w.dbl(r.q50);
  w.lit(",\"Q75\":");
  w.dbl(r.q75);
  w.lit(",\"Q90\":");
  w.dbl(r.q90);
  w.lit(",\"Q95\":");
  w.dbl(r.q95);
  w.lit(",\"Data\":[");
  bool first = true;
  for (const TaFlowEntry& e : r.data) {
    w.reserve(8);
    if (!first) {
      w.lit(",");
    }
    first = false;
    writeEntry(e, w);
  }
  w.reserve(8);
  w.lit("]}}\n");
}

}  // namespace

void appendJsonLine(const TaRecord& r, std::string& out) {
  thread_local fmt::memory_buffer buffer;
  writeRecord(r, buffer);
  out.append(buffer.data(), buffer.size());
}

std::string toJsonLine(const TaRecord& record) {
  std::string line;
  appendJsonLine(record, line);
  line.pop_back();
  return line;
}

}  // namespace nm
