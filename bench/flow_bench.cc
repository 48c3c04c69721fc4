// flow_bench: flow-table benchmarks. >>> PLACE FOR THE FLOW-TABLE BENCHMARKS <<<
//
// Built only once src/flow/flow_table.h and the nm_flow target exist (see bench/CMakeLists.txt).
// Written against src/flow/flow_table.h as it first landed: FlowTable(FlowTableConfig) and
// observe(const DecodedPacket&) -> Flow&. If that interface changes, BM_FlowObserve still
// compiles but reports "skipped" with the reason, so the build never breaks on it; update the
// construction below. Add further flow benchmarks here (expiry sweeps, resetWindow() per window,
// a table pre-filled to N flows, new vs existing flows, ...), each reporting packets/s so it can
// be set against BM_PcapRead in micro_bench and pcap_read_loop.
//
// Input: $NM_BENCH_PCAP or ${NM_CORPUS_DIR}/ndpi/netflix.pcap, decoded once before timing; only
// frames whose decode() has an IP layer are fed to the table, as the probe does.

#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>
#include <vector>

#include "decode/decode.h"
#include "flow/flow_table.h"
#include "preloaded_capture.h"

namespace {

struct DecodedCapture {
  nm::bench::PreloadedCapture capture;  // owns the bytes the decoded payload views point into
  std::vector<nm::DecodedPacket> packets;
  std::string error;
  bool ok = false;
};

const DecodedCapture& decodedCapture() {
  static const DecodedCapture shared = [] {
    DecodedCapture d;
    d.ok = nm::bench::preloadCapture(nm::bench::benchCapturePath(), d.capture, d.error);
    if (!d.ok) {
      return d;
    }
    nm::DecodedPacket decoded;
    for (const nm::RawPacket& raw : d.capture.packets) {
      if (nm::hasIpLayer(nm::decode(raw, decoded))) {
        d.packets.push_back(decoded);
      }
    }
    return d;
  }();
  return shared;
}

// One packet per iteration through one table for the whole run, cycling through the capture:
// after the first pass every packet hits an existing flow (the steady state of a long capture).
template <typename Table>
void BM_FlowObserve(benchmark::State& state) {
  if constexpr (requires(Table & t, const nm::DecodedPacket& p) {
                  Table(nm::FlowTableConfig{});
                  t.observe(p);
                }) {
    const DecodedCapture& shared = decodedCapture();
    if (!shared.ok || shared.packets.empty()) {
      state.SkipWithError(shared.ok ? "no IP packets in the capture" : shared.error.c_str());
      return;
    }
    const std::vector<nm::DecodedPacket>& packets = shared.packets;
    Table table(nm::FlowTableConfig{});
    size_t next = 0;
    for (auto _ : state) {
      auto& flow = table.observe(packets[next]);
      benchmark::DoNotOptimize(&flow);
      if (++next == packets.size()) {
        next = 0;
      }
    }
    state.SetItemsProcessed(state.iterations());
    if constexpr (requires(const Table& t) { t.activeFlows(); }) {
      state.counters["flows"] = static_cast<double>(table.activeFlows());
    }
    if constexpr (requires { Table::bytesPerFlow(); }) {
      state.counters["bytes_per_flow"] = static_cast<double>(Table::bytesPerFlow());
    }
  } else {
    state.SkipWithError(
        "FlowTable(FlowTableConfig) / observe(DecodedPacket) not found: "
        "update bench/flow_bench.cc to the real interface");
  }
}
BENCHMARK_TEMPLATE(BM_FlowObserve, nm::FlowTable);

}  // namespace

BENCHMARK_MAIN();
