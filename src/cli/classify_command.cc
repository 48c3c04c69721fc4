// `netmicroscope classify -r FILE`: one line per flow saying what it is and why, with nDPI's
// independent verdict beside ours, for users who ask "why is this labelled Netflix?".

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <vector>

#include "capture/packet_source.h"
#include "classify/classifier.h"
#include "cli/commands.h"
#include "cli/service_config.h"
#include "decode/decode.h"
#include "flow/flow_table.h"

namespace nm::cli {
namespace {

struct ClassifyOptions {
  std::string read_file;
  std::string filter;
  std::string services;
  std::vector<std::string> local_cidrs;
  bool json = false;
  bool no_ndpi = false;
};

struct FlowVerdict {
  Timestamp first_seen;
  std::string proto;
  std::string local;
  uint16_t lport;
  std::string remote;
  uint16_t rport;
  std::string service;
  std::string domain;
  std::string evidence;
  std::string ndpi;
  uint64_t bytes;
  uint64_t packets;
};

// Settles each flow as the table lets it go (expiry, eviction, end of capture) and keeps its
// verdict.
class VerdictCollector final : public EvictionListener {
 public:
  explicit VerdictCollector(Classifier& classifier) : classifier_(classifier) {}
  void onFlowRemoved(Flow& flow) override {
    classifier_.finalize(flow);
    const FlowLabel& l = flow.label;
    verdicts.push_back(
        FlowVerdict{flow.first_seen, ipProtoName(flow.key.proto), flow.localIp().toString(),
                    flow.localPort(), flow.remoteIp().toString(), flow.remotePort(),
                    l.service ? *l.service : (l.domain ? "Other" : "Unknown"),
                    l.domain ? *l.domain : "", evidenceName(static_cast<Evidence>(l.evidence)),
                    l.ndpi ? *l.ndpi : "", flow.total_bytes, flow.total_pkts});
  }
  std::vector<FlowVerdict> verdicts;

 private:
  Classifier& classifier_;
};

int runClassify(const ClassifyOptions& o) {
  ServiceMap services;
  if (!loadServices(o.services.empty() ? defaultServicesPath() : o.services, services)) {
    return 2;
  }
  FlowTableConfig flow_config;
  for (const std::string& cidr : o.local_cidrs) {
    IpPrefix p;
    if (!IpPrefix::parse(cidr, p)) {
      spdlog::error("--local {}: not a CIDR prefix", cidr);
      return 2;
    }
    flow_config.local_prefixes.push_back(p);
  }
  std::string error;
  auto source = openCaptureFile(o.read_file, o.filter, error);
  if (!source) {
    spdlog::error("cannot open {}: {}", o.read_file, error);
    return 1;
  }
  ClassifierConfig cc;
  cc.ndpi = !o.no_ndpi;
  Classifier classifier(services, cc);
  VerdictCollector collector(classifier);
  FlowTable table(flow_config, &collector);

  RawPacket raw;
  DecodedPacket pkt;
  Timestamp last_expiry = 0;
  for (;;) {
    const ReadStatus rs = source->next(raw);
    if (rs == ReadStatus::kError) {
      spdlog::warn("capture read error: {}", source->error());
      break;
    }
    if (rs != ReadStatus::kOk) {
      break;
    }
    if (!hasIpLayer(decode(raw, pkt))) {
      continue;
    }
    classifier.inspect(table.observe(pkt), pkt);
    if (pkt.ts - last_expiry > 5 * kNanosPerSecond) {
      table.expire(pkt.ts);
      last_expiry = pkt.ts;
    }
  }
  table.clear();

  auto& v = collector.verdicts;
  std::stable_sort(v.begin(), v.end(),
                   [](const auto& a, const auto& b) { return a.first_seen < b.first_seen; });
  if (o.json) {
    for (const FlowVerdict& f : v) {
      nlohmann::ordered_json j{
          {"proto", f.proto},   {"local", f.local},       {"local_port", f.lport},
          {"remote", f.remote}, {"remote_port", f.rport}, {"service", f.service},
          {"domain", f.domain}, {"evidence", f.evidence}, {"ndpi", f.ndpi},
          {"bytes", f.bytes},   {"packets", f.packets},   {"first_seen_ns", f.first_seen}};
      std::puts(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    }
    return 0;
  }
  auto endpoint = [](const std::string& ip, uint16_t port) {
    return ip.find(':') == std::string::npos ? fmt::format("{}:{}", ip, port)
                                             : fmt::format("[{}]:{}", ip, port);
  };
  for (const FlowVerdict& f : v) {
    std::printf("%-6s %s <-> %s  %s  %s  [%s]  ndpi=%s  %llu bytes %llu pkts\n", f.proto.c_str(),
                endpoint(f.local, f.lport).c_str(), endpoint(f.remote, f.rport).c_str(),
                f.service.c_str(), f.domain.empty() ? "-" : f.domain.c_str(), f.evidence.c_str(),
                f.ndpi.empty() ? "-" : f.ndpi.c_str(), static_cast<unsigned long long>(f.bytes),
                static_cast<unsigned long long>(f.packets));
  }
  return 0;
}

}  // namespace

Runner addClassifyCommand(CLI::App& app) {
  auto opts = std::make_shared<ClassifyOptions>();
  CLI::App* cmd = app.add_subcommand(
      "classify", "Print every flow of a capture with its service, domain, evidence and nDPI's");
  cmd->add_option("-r,--read", opts->read_file, "Capture file (pcap or pcapng)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("-f,--filter", opts->filter, "BPF filter expression");
  cmd->add_option("--services", opts->services, "Service map (TOML); default: the shipped one");
  cmd->add_option("--local", opts->local_cidrs, "Local network prefix (repeatable)");
  cmd->add_flag("--json", opts->json, "One JSON object per flow");
  cmd->add_flag("--no-ndpi", opts->no_ndpi, "Do not run nDPI beside our classifier");
  return [opts] { return runClassify(*opts); };
}

}  // namespace nm::cli
