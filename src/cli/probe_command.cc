// `netmicroscope probe`: capture -> decode -> flows -> TA records.

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>

#include "capture/packet_source.h"
#include "classify/classifier.h"
#include "cli/commands.h"
#include "cli/probe_runner.h"
#include "cli/service_config.h"
#include "cli/summary.h"
#include "decode/decode.h"
#include "flow/flow_table.h"
#include "report/window_reporter.h"

namespace nm::cli {
namespace {

std::atomic<PacketSource*> g_source{nullptr};
std::atomic<bool> g_stop{false};

void onSignal(int) {
  g_stop.store(true);
  if (PacketSource* s = g_source.load()) {
    s->breakLoop();
  }
}

// Writes each record as one line and flushes, so a tailing reader never sees half a record.
class TaFileSink final : public TaRecordSink {
 public:
  explicit TaFileSink(FILE* out) : out_(out) {}
  void write(const TaRecord& record) override {
    line_.clear();  // reused: its capacity settles at the largest record
    appendJsonLine(record, line_);
    if (std::fwrite(line_.data(), 1, line_.size(), out_) != line_.size() ||
        std::fflush(out_) != 0) {
      ++write_errors_;
    }
  }
  uint64_t writeErrors() const { return write_errors_; }

 private:
  FILE* out_;
  std::string line_;
  uint64_t write_errors_ = 0;
};

// Hands each record to the TA file (if any) and to the in-process tap (if any).
class FanOutSink final : public TaRecordSink {
 public:
  FanOutSink(TaRecordSink* first, TaRecordSink* second) : first_(first), second_(second) {}
  void write(const TaRecord& record) override {
    if (first_ != nullptr) {
      first_->write(record);
    }
    if (second_ != nullptr) {
      second_->write(record);
    }
  }

 private:
  TaRecordSink* first_;
  TaRecordSink* second_;
};

// Settles a flow's label (when classifying) before the reporter writes its last window entry.
class FinalizingListener final : public EvictionListener {
 public:
  FinalizingListener(Classifier* classifier, EvictionListener& next)
      : classifier_(classifier), next_(next) {}
  void onFlowRemoved(Flow& flow) override {
    if (classifier_ != nullptr) {
      classifier_->finalize(flow);
    }
    next_.onFlowRemoved(flow);
  }

 private:
  Classifier* classifier_;
  EvictionListener& next_;
};

// A fresh /tmp/tmp.ta.<digits>, as the original core wrote, so tailing daemons find it.
FILE* openFreshTaFile(std::string& path) {
  std::random_device rd;
  std::uniform_int_distribution<uint32_t> dist(100'000'000, 999'999'999);
  for (int attempt = 0; attempt < 100; ++attempt) {
    path = "/tmp/tmp.ta." + std::to_string(dist(rd));
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd >= 0) {
      return ::fdopen(fd, "w");
    }
  }
  return nullptr;
}

bool buildConfig(const ProbeOptions& o, FlowTableConfig& config) {
  bool ok = true;
  for (const std::string& cidr : o.local_cidrs) {
    IpPrefix p;
    if (!IpPrefix::parse(cidr, p)) {
      spdlog::error("--local {}: not a CIDR prefix (e.g. 192.168.0.0/16, fd00::/8)", cidr);
      ok = false;
      continue;
    }
    config.local_prefixes.push_back(p);
  }
  config.max_flows = o.max_flows;
  config.tcp_idle_timeout = o.tcp_timeout * kNanosPerSecond;
  config.tcp_closed_timeout = o.tcp_closed_timeout * kNanosPerSecond;
  config.udp_idle_timeout = o.udp_timeout * kNanosPerSecond;
  config.other_idle_timeout = o.udp_timeout * kNanosPerSecond;
  config.chunk_min_payload = o.chunk_min_payload;
  return ok;
}

Timestamp wallNow() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class ProgressLine {
 public:
  explicit ProgressLine(bool enabled) : enabled_(enabled) {}
  void tick(uint64_t packets, uint64_t bytes) {
    if (!enabled_ || (packets & 0xffff) != 0) {
      return;
    }
    const auto now = std::chrono::steady_clock::now();
    if (now - last_ < std::chrono::milliseconds(500)) {
      return;
    }
    last_ = now;
    std::fprintf(stderr, "\r%llu packets, %.1f MB", static_cast<unsigned long long>(packets),
                 static_cast<double>(bytes) / 1e6);
    shown_ = true;
  }
  void done() {
    if (shown_) {
      std::fputc('\n', stderr);
    }
  }

 private:
  bool enabled_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace

int runProbe(const ProbeOptions& o, TaRecordSink* tap) {
  FlowTableConfig flow_config;
  if (!buildConfig(o, flow_config)) {
    return 2;
  }
  // Declared before the flow table: flows point to the classifier's interned labels.
  ServiceMap services;
  std::unique_ptr<Classifier> classifier;
  if (!o.no_classify) {
    if (!loadServices(o.services.empty() ? defaultServicesPath() : o.services, services)) {
      return 2;
    }
    ClassifierConfig cc;
    cc.ndpi = o.ndpi;
    classifier = std::make_unique<Classifier>(services, cc);
  }
  const bool live = !o.interface.empty();
  std::string error;
  std::unique_ptr<PacketSource> source;
  if (live) {
    LiveOptions lo;
    lo.interface = o.interface;
    lo.bpf_filter = o.filter;
    lo.snaplen = o.snaplen;
    source = openLiveCapture(lo, error);
  } else {
    source = openCaptureFile(o.read_file, o.filter, error);
  }
  if (!source) {
    spdlog::error("cannot open {}: {}", live ? o.interface : o.read_file, error);
    return 1;
  }

  std::string ta_path = o.ta_path.empty() ? (live ? "" : "-") : o.ta_path;
  if (o.ta_path.empty() && tap != nullptr) {
    ta_path = "none";  // in-process: TA lines only when asked for
  }
  FILE* ta_out = nullptr;
  if (ta_path == "none") {
  } else if (ta_path == "-") {
    ta_out = stdout;
  } else if (ta_path.empty()) {
    ta_out = openFreshTaFile(ta_path);
  } else {
    ta_out = std::fopen(ta_path.c_str(), "w");
  }
  if (ta_out == nullptr && ta_path != "none") {
    spdlog::error("cannot write TA records to {}: {}", ta_path.empty() ? "/tmp" : ta_path,
                  std::strerror(errno));
    return 1;
  }

  FlowTable table(flow_config);
  TaFileSink sink(ta_out);
  FanOutSink fan_out(ta_out != nullptr ? &sink : nullptr, tap);
  SummarySink summary(fan_out);
  TaRecordSink& first_sink = o.summary ? static_cast<TaRecordSink&>(summary) : fan_out;
  WindowReporter reporter(ReportConfig{o.window_seconds}, table, first_sink);
  FinalizingListener finalizing(classifier.get(), reporter);
  table.setListener(&finalizing);
  PacketSource* src = source.get();
  reporter.setDropCounter([src] { return src->stats().dropped; });

  g_source.store(src);
  std::signal(SIGINT, onSignal);
  std::signal(SIGTERM, onSignal);
  if (live) {
    spdlog::info("listening on {} (TA records -> {})", o.interface, ta_path);
  }

  std::array<uint64_t, static_cast<size_t>(DecodeStatus::kCount)> decode_counts{};
  uint64_t frames = 0;
  uint64_t bytes = 0;
  uint64_t no_ip = 0;
  uint64_t read_errors = 0;
  ProgressLine progress(!live && isatty(STDERR_FILENO) != 0);
  RawPacket raw;
  DecodedPacket pkt;
  while (!g_stop.load(std::memory_order_relaxed)) {
    const ReadStatus rs = source->next(raw);
    if (rs == ReadStatus::kTimeout) {
      reporter.advanceTo(wallNow());
      continue;
    }
    if (rs == ReadStatus::kEof) {
      break;
    }
    if (rs == ReadStatus::kError) {
      // A truncated file or a vanished interface: keep everything read so far.
      ++read_errors;
      spdlog::warn("capture read error: {}", source->error());
      break;
    }
    ++frames;
    bytes += raw.wirelen;
    progress.tick(frames, bytes);
    reporter.advanceTo(raw.ts);
    reporter.countFrame();
    const DecodeStatus status = decode(raw, pkt);
    ++decode_counts[static_cast<size_t>(status)];
    if (!hasIpLayer(status)) {
      ++no_ip;
      continue;
    }
    Flow& flow = table.observe(pkt);
    if (classifier) {
      classifier->inspect(flow, pkt);
    }
  }
  progress.done();
  reporter.finish();
  g_source.store(nullptr);

  const CaptureStats cs = source->stats();
  std::map<std::string, uint64_t> counters;
  counters["capture.received"] = frames;
  counters["capture.bytes"] = bytes;
  counters["capture.dropped"] = cs.dropped;
  counters["capture.if_dropped"] = cs.if_dropped;
  counters["capture.read_errors"] = read_errors;
  for (size_t i = 0; i < decode_counts.size(); ++i) {
    counters[decodeStatusName(static_cast<DecodeStatus>(i))] = decode_counts[i];
  }
  counters["flow.packets_without_ip"] = no_ip;
  const FlowTableStats& fs = table.stats();
  counters["flow.created"] = fs.flows_created;
  counters["flow.expired"] = fs.flows_expired;
  counters["flow.evicted_lru"] = fs.flows_evicted_lru;
  counters["flow.fragments_attributed"] = fs.fragments_attributed;
  counters["flow.fragments_unattributed"] = fs.fragments_unattributed;
  counters["flow.active_peak"] = fs.active_peak;
  counters["flow.chunks_over_cap"] = fs.chunks_over_cap;
  counters["flow.bytes_per_flow"] = FlowTable::bytesPerFlow();
  if (classifier) {
    const ClassifierStats& st = classifier->stats();
    counters["classify.flows_decided"] = st.flows_decided;
    for (uint8_t e = 0; e < 11; ++e) {
      counters[std::string("classify.by_") + evidenceName(static_cast<Evidence>(e))] =
          st.by_evidence[e];
    }
    counters["classify.dns_responses"] = st.dns_responses;
    counters["classify.dns_malformed"] = st.dns_malformed;
    counters["classify.tls_malformed"] = st.tls_malformed;
    counters["classify.quic_malformed"] = st.quic_malformed;
    counters["classify.dns_cache_entries"] = classifier->dnsCacheSize();
    counters["classify.dns_cache_rejected_full"] = classifier->dnsCacheRejected();
  }
  counters["report.records"] = reporter.recordsWritten();
  counters["report.write_errors"] = sink.writeErrors();

  spdlog::info("{} frames, {} flows, {} TA records{}", frames, fs.flows_created,
               reporter.recordsWritten(),
               ta_path == "-" || ta_path == "none" ? "" : " -> " + ta_path);
  if (o.summary) {
    summary.print(stderr, 15);
  }
  if (!o.stats_path.empty()) {
    nlohmann::ordered_json j;
    j["counters"] = counters;
    const std::string text = j.dump(2) + "\n";
    if (o.stats_path == "-") {
      std::fputs(text.c_str(), stderr);
    } else {
      std::ofstream(o.stats_path) << text;
    }
  }
  if (ta_out != nullptr && ta_out != stdout) {
    std::fclose(ta_out);
  }
  return sink.writeErrors() == 0 ? 0 : 1;
}

void addProbeOptions(CLI::App* cmd, ProbeOptions& o) {
  ProbeOptions* opts = &o;
  auto* r = cmd->add_option("-r,--read", opts->read_file, "Capture file (pcap or pcapng)")
                ->check(CLI::ExistingFile);
  auto* i = cmd->add_option("-i,--interface", opts->interface, "Live interface (promiscuous)");
  r->excludes(i);
  cmd->add_option("-f,--filter", opts->filter, "BPF filter expression");
  cmd->add_option("--ta", opts->ta_path,
                  "TA output file, - for stdout (default: stdout for -r, a fresh "
                  "/tmp/tmp.ta.<random> for -i)");
  cmd->add_option("--stats", opts->stats_path, "Write counters as JSON at exit (- = stderr)");
  cmd->add_option("--window", opts->window_seconds, "Window length in seconds")
      ->default_val(5)
      ->check(CLI::Range(1, 3600));
  cmd->add_option("--local", opts->local_cidrs,
                  "Local network prefix (repeatable); default: private address ranges");
  cmd->add_option("--max-flows", opts->max_flows, "Flow table cap; LRU eviction beyond it")
      ->default_val(500'000)
      ->check(CLI::Range(1u, 100'000'000u));
  cmd->add_option("--tcp-timeout", opts->tcp_timeout, "Idle timeout of open TCP flows (s)")
      ->default_val(300);
  cmd->add_option("--tcp-closed-timeout", opts->tcp_closed_timeout,
                  "Idle timeout of TCP flows after FIN both ways or RST (s)")
      ->default_val(10);
  cmd->add_option("--udp-timeout", opts->udp_timeout, "Idle timeout of UDP and other flows (s)")
      ->default_val(60);
  cmd->add_option("--chunk-min-payload", opts->chunk_min_payload,
                  "Upstream TCP payload bytes that open a VideoInfo chunk (0 = off)")
      ->default_val(1);
  cmd->add_option("--snaplen", opts->snaplen, "Live capture snap length")
      ->default_val(65535)
      ->check(CLI::Range(256, 262144));
  cmd->add_flag("--summary", opts->summary, "Print traffic per device and endpoint at exit");
  cmd->add_option("--services", opts->services, "Service map (TOML); default: the shipped one");
  cmd->add_flag("--no-classify", opts->no_classify, "Leave Meta Unknown and Domain empty");
  cmd->add_flag("--ndpi", opts->ndpi, "Also run nDPI on each flow (see `classify`)");
  cmd->callback([cmd] {
    if (cmd->count("--read") == 0 && cmd->count("--interface") == 0) {
      throw CLI::RequiredError("-r FILE or -i IFACE");
    }
  });
}

Runner addProbeCommand(CLI::App& app) {
  auto opts = std::make_shared<ProbeOptions>();
  CLI::App* cmd = app.add_subcommand("probe", "Capture packets and write per-window TA records");
  addProbeOptions(cmd, *opts);
  return [opts] { return runProbe(*opts, nullptr); };
}

}  // namespace nm::cli
