// micro_bench: per-stage benchmarks (Google Benchmark), in the style of PcapPlusPlus'
// BM_PacketParsing.
//
//   BM_PcapRead          baseline: nm::openCaptureFile + next() over the whole capture, header only
//   BM_PcapReadDecode    the same loop plus decode(): what the first two stages of the probe cost
//   BM_Decode            decode() alone over the capture's frames preloaded into memory
//   BM_DecodeEthIpv4Tcp  decode() of one synthetic Ethernet/IPv4/TCP frame with 100 payload bytes
//
// The capture is $NM_BENCH_PCAP, or ${NM_CORPUS_DIR}/ndpi/netflix.pcap by default. Every benchmark
// reports items (packets) per second and bytes (captured bytes) per second. After the run a table
// gives each benchmark's packets/s as a ratio to BM_PcapRead measured in the same run (on stdout
// for the console format, on stderr with --benchmark_format=json).

#include <unistd.h>

#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "capture/packet_source.h"
#include "decode/decode.h"
#include "preloaded_capture.h"

namespace {

constexpr int kDltEthernet = 1;  // DLT_EN10MB
constexpr const char* kBaseline = "BM_PcapRead";

// The capture every file-based benchmark uses, read once per process.
struct SharedCapture {
  nm::bench::PreloadedCapture capture;
  std::string error;
  bool ok = false;
};

const SharedCapture& sharedCapture() {
  static const SharedCapture shared = [] {
    SharedCapture s;
    s.ok = nm::bench::preloadCapture(nm::bench::benchCapturePath(), s.capture, s.error);
    return s;
  }();
  return shared;
}

std::string baseName(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

void BM_PcapRead(benchmark::State& state) {
  const std::string path = nm::bench::benchCapturePath();
  uint64_t packets = 0;
  uint64_t bytes = 0;
  for (auto _ : state) {
    std::string error;
    std::unique_ptr<nm::PacketSource> source = nm::openCaptureFile(path, "", error);
    if (source == nullptr) {
      state.SkipWithError((path + ": " + error).c_str());
      break;
    }
    nm::RawPacket pkt;
    while (source->next(pkt) == nm::ReadStatus::kOk) {
      ++packets;
      bytes += pkt.caplen;
    }
    benchmark::DoNotOptimize(packets);
  }
  state.SetItemsProcessed(static_cast<int64_t>(packets));
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  state.SetLabel(baseName(path));
}
BENCHMARK(BM_PcapRead)->Unit(benchmark::kMillisecond);

void BM_PcapReadDecode(benchmark::State& state) {
  const std::string path = nm::bench::benchCapturePath();
  uint64_t packets = 0;
  uint64_t bytes = 0;
  nm::DecodedPacket decoded;
  for (auto _ : state) {
    std::string error;
    std::unique_ptr<nm::PacketSource> source = nm::openCaptureFile(path, "", error);
    if (source == nullptr) {
      state.SkipWithError((path + ": " + error).c_str());
      break;
    }
    nm::RawPacket pkt;
    while (source->next(pkt) == nm::ReadStatus::kOk) {
      nm::DecodeStatus status = nm::decode(pkt, decoded);
      benchmark::DoNotOptimize(status);
      benchmark::DoNotOptimize(decoded);
      ++packets;
      bytes += pkt.caplen;
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(packets));
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  state.SetLabel(baseName(path));
}
BENCHMARK(BM_PcapReadDecode)->Unit(benchmark::kMillisecond);

// One packet per iteration, cycling through the file, so the iteration count is not tied to
// the capture's size.
void BM_Decode(benchmark::State& state) {
  const SharedCapture& shared = sharedCapture();
  if (!shared.ok) {
    state.SkipWithError(shared.error.c_str());
    return;
  }
  const std::vector<nm::RawPacket>& packets = shared.capture.packets;
  nm::DecodedPacket decoded;
  size_t next = 0;
  uint64_t bytes = 0;
  for (auto _ : state) {
    const nm::RawPacket& raw = packets[next];
    nm::DecodeStatus status = nm::decode(raw, decoded);
    benchmark::DoNotOptimize(status);
    benchmark::DoNotOptimize(decoded);
    bytes += raw.caplen;
    if (++next == packets.size()) {
      next = 0;
    }
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  state.counters["file_packets"] = static_cast<double>(packets.size());
  state.SetLabel(baseName(shared.capture.path));
}
BENCHMARK(BM_Decode);

// Ethernet II + IPv4 (no options) + TCP (no options) + 100 payload bytes: a typical data segment
// of a web flow. Checksums are left zero: the decoder does not verify them.
std::vector<uint8_t> ethIpv4TcpFrame() {
  constexpr size_t kPayload = 100;
  constexpr size_t kIpTotal = 20 + 20 + kPayload;
  std::vector<uint8_t> frame = {
      // Ethernet: dst, src, EtherType IPv4.
      0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x08, 0x00,
      // IPv4: version/IHL, DSCP, total length, id, DF, TTL 64, TCP, checksum, src, dst.
      0x45, 0x00, static_cast<uint8_t>(kIpTotal >> 8), static_cast<uint8_t>(kIpTotal & 0xff), 0x12,
      0x34, 0x40, 0x00, 0x40, 0x06, 0x00, 0x00, 192, 168, 1, 10, 93, 184, 216, 34,
      // TCP: 51514 -> 443, seq, ack, data offset 5, PSH|ACK, window, checksum, urgent.
      0xc9, 0x3a, 0x01, 0xbb, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x20, 0x00, 0x50, 0x18, 0xff,
      0xff, 0x00, 0x00, 0x00, 0x00};
  for (size_t i = 0; i < kPayload; ++i) {
    frame.push_back(static_cast<uint8_t>(i));
  }
  return frame;
}

void BM_DecodeEthIpv4Tcp(benchmark::State& state) {
  const std::vector<uint8_t> frame = ethIpv4TcpFrame();
  nm::RawPacket raw;
  raw.ts = 1'700'000'000 * nm::kNanosPerSecond;
  raw.caplen = static_cast<uint32_t>(frame.size());
  raw.wirelen = raw.caplen;
  raw.linktype = kDltEthernet;
  raw.data = frame.data();

  nm::DecodedPacket decoded;
  if (nm::decode(raw, decoded) != nm::DecodeStatus::kOk || !decoded.has_l4) {
    state.SkipWithError("the synthetic Ethernet/IPv4/TCP frame does not decode to kOk with L4");
    return;
  }
  for (auto _ : state) {
    benchmark::DoNotOptimize(raw.data);
    nm::DecodeStatus status = nm::decode(raw, decoded);
    benchmark::DoNotOptimize(status);
    benchmark::DoNotOptimize(decoded);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(frame.size()));
}
BENCHMARK(BM_DecodeEthIpv4Tcp);

// Shows the runs through the reporter the command line asked for, keeps each benchmark's
// packets/s (the median when --benchmark_repetitions is used) and at the end prints them as
// ratios to the baseline measured in the same run.
class BaselineRatioReporter final : public benchmark::BenchmarkReporter {
 public:
  BaselineRatioReporter(std::unique_ptr<benchmark::BenchmarkReporter> display, bool console)
      : display_(std::move(display)), console_(console) {}

  bool ReportContext(const Context& context) override { return display_->ReportContext(context); }

  void ReportRuns(const std::vector<Run>& runs) override {
    display_->ReportRuns(runs);
    for (const Run& run : runs) {
      if (run.error_occurred) {
        continue;
      }
      const bool keep = run.run_type == Run::RT_Iteration || run.aggregate_name == "median";
      const auto rate = run.counters.find("items_per_second");
      if (!keep || rate == run.counters.end()) {
        continue;
      }
      const std::string name = run.run_name.str();
      if (rates_.find(name) == rates_.end()) {
        order_.push_back(name);
      }
      rates_[name] = rate->second.value;
      if (run.run_name.function_name == kBaseline) {
        baseline_pps_ = rate->second.value;
      }
    }
  }

  void Finalize() override {
    display_->Finalize();
    std::ostream& out = console_ ? display_->GetOutputStream() : display_->GetErrorStream();
    if (baseline_pps_ <= 0) {
      out << "\nno ratios: the baseline " << kBaseline << " did not run\n";
      return;
    }
    char line[160];
    out << "\npackets/s relative to " << kBaseline << " in this run"
        << " (cost % = baseline packets/s / packets/s: per-packet time as a share of reading)\n";
    std::snprintf(line, sizeof(line), "%-28s %12s %10s %10s %8s\n", "benchmark", "Mpps", "ns/pkt",
                  "x baseline", "cost %");
    out << line;
    for (const std::string& name : order_) {
      const double pps = rates_[name];
      if (pps <= 0) {
        continue;
      }
      std::snprintf(line, sizeof(line), "%-28s %12.3f %10.1f %10.2f %8.1f\n", name.c_str(),
                    pps / 1e6, 1e9 / pps, pps / baseline_pps_, 100.0 * baseline_pps_ / pps);
      out << line;
    }
  }

 private:
  std::unique_ptr<benchmark::BenchmarkReporter> display_;
  bool console_;
  std::map<std::string, double> rates_;
  std::vector<std::string> order_;
  double baseline_pps_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  // Initialize() consumes the flags it knows, so the output format is looked at first.
  bool json = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--benchmark_format=json") == 0) {
      json = true;
    }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
    return 1;
  }
  std::unique_ptr<benchmark::BenchmarkReporter> display;
  if (json) {
    display = std::make_unique<benchmark::JSONReporter>();
  } else {
    display = std::make_unique<benchmark::ConsoleReporter>(
        isatty(STDOUT_FILENO) ? benchmark::ConsoleReporter::OO_Color
                              : benchmark::ConsoleReporter::OO_None);
  }
  BaselineRatioReporter reporter(std::move(display), !json);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
