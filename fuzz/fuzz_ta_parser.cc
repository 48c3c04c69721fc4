// libFuzzer target for the daemon's TA-line parser. Any bytes must end in a verdict without a
// crash, a sanitizer report or a hang. Parsing into a reused record gives what parsing into a
// fresh one gives (no stale entry leaks through). A record that parses must survive the encoder:
// its toJsonLine() parses again, to the same record, so nothing the parser accepts is lost or
// changed on the way to a file or a queue. The first input byte also picks a small max_line_bytes
// now and then, to exercise kTooLong against the rest.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "daemon/ta_parser.h"
#include "report/ta_record.h"

namespace {

void check(bool ok) {
  if (!ok) {
    __builtin_trap();
  }
}

// Doubles compared with ==: the encoder may spell -0.0 as an integer zero, read back as +0.0.
void checkSameEntry(const nm::TaFlowEntry& x, const nm::TaFlowEntry& y) {
  check(x.meta == y.meta && x.domain == y.domain && x.ndpi == y.ndpi);
  check(x.device == y.device && x.sip == y.sip);
  check(x.has_hw_addr == y.has_hw_addr && (!x.has_hw_addr || x.hw_addr == y.hw_addr));
  check(x.flow_hi == y.flow_hi && x.flow_lo == y.flow_lo);
  check(x.proto == y.proto && x.lport == y.lport && x.sport == y.sport);
  check(x.kbps_up == y.kbps_up && x.kbps_dw == y.kbps_dw && x.pps_up == y.pps_up &&
        x.pps_dw == y.pps_dw);
  check(x.bytes_up == y.bytes_up && x.bytes_dw == y.bytes_dw && x.pkts_up == y.pkts_up &&
        x.pkts_dw == y.pkts_dw);
  check(x.has_video_info == y.has_video_info);
  check(x.upstream_chunks.size() == y.upstream_chunks.size());
  for (size_t k = 0; k < x.upstream_chunks.size(); ++k) {
    const nm::UpstreamChunk& c = x.upstream_chunks[k];
    const nm::UpstreamChunk& d = y.upstream_chunks[k];
    check(c.len == d.len && c.seq == d.seq && c.ts_start == d.ts_start && c.ts_end == d.ts_end &&
          c.last_pkt == d.last_pkt && c.down_pkts == d.down_pkts && c.down_bytes == d.down_bytes &&
          c.max_dseq == d.max_dseq);
  }
}

void checkSameRecord(const nm::TaRecord& a, const nm::TaRecord& b) {
  check(a.version == b.version && a.conf == b.conf && a.type == b.type);
  check(a.ts_start == b.ts_start && a.ts_end == b.ts_end);
  check(a.pkts_rcvd == b.pkts_rcvd && a.pkts_drop == b.pkts_drop);
  check(a.gen_flows == b.gen_flows && a.video_flows == b.video_flows &&
        a.tcp_video_flows == b.tcp_video_flows && a.tcp_flows == b.tcp_flows &&
        a.general_counters == b.general_counters && a.video_segments == b.video_segments &&
        a.evicted_flows == b.evicted_flows && a.expired_flows == b.expired_flows);
  check(a.avg == b.avg && a.var == b.var && a.q50 == b.q50 && a.q75 == b.q75 && a.q90 == b.q90 &&
        a.q95 == b.q95);
  check(a.data.size() == b.data.size());
  for (size_t i = 0; i < a.data.size(); ++i) {
    checkSameEntry(a.data[i], b.data[i]);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  // Reused across inputs, as the daemon reuses one record: stale entries must not leak through.
  static nm::TaRecord record;
  size_t limit = size_t{4} << 20;
  if (size > 0 && data[0] == '#') {
    limit = size % 64;
  }
  const nm::TaParseError error = nm::parseTaLine(input, record, limit);
  check(std::string_view(nm::taParseErrorName(error)).starts_with("ingest."));
  if (size > limit) {
    check(error == nm::TaParseError::kTooLong);
  }
  if (error != nm::TaParseError::kNone) {
    return 0;
  }
  nm::TaRecord fresh;
  check(nm::parseTaLine(input, fresh, limit) == nm::TaParseError::kNone);
  checkSameRecord(record, fresh);
  const std::string line = nm::toJsonLine(record);
  nm::TaRecord again;
  check(nm::parseTaLine(line, again) == nm::TaParseError::kNone);
  checkSameRecord(record, again);
  return 0;
}
