#include "report/window_reporter.h"

#include <algorithm>
#include <cmath>
#include <tuple>

namespace nm {
namespace {

Timestamp floorDiv(Timestamp a, Timestamp b) {
  Timestamp q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) {
    --q;
  }
  return q;
}

// Nearest-rank quantile of sorted values.
double quantile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) {
    return 0;
  }
  const auto rank = static_cast<size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

}  // namespace

WindowReporter::WindowReporter(ReportConfig config, FlowTable& table, TaRecordSink& sink)
    : config_(config), table_(table), sink_(sink) {
  config_.window_seconds = std::max<int64_t>(config_.window_seconds, 1);
  table_.setListener(this);
}

void WindowReporter::startWindowAt(Timestamp ts) {
  const Timestamp len = config_.window_seconds * kNanosPerSecond;
  if (started_) {
    closeWindow();
    table_.expire(ts);
  }
  started_ = true;
  window_start_ = floorDiv(ts, len) * len;
  window_end_ = window_start_ + len;
}

void WindowReporter::finish() {
  if (started_) {
    closeWindow();
    started_ = false;
  }
}

void WindowReporter::onFlowRemoved(Flow& flow) {
  if (!flow.window.empty()) {
    fillEntry(flow, nextEntry());
  }
}

TaFlowEntry& WindowReporter::nextEntry() {
  if (entries_used_ == record_.data.size()) {
    record_.data.emplace_back();
  }
  return record_.data[entries_used_++];
}

// Overwrites every field, so entries (and their chunk vectors' capacity) are reused across
// windows instead of allocated per flow and window.
void WindowReporter::fillEntry(const Flow& flow, TaFlowEntry& e) const {
  // No evidence: Unknown; a name without a known service: Other (as the original).
  const FlowLabel& label = flow.label;
  if (label.service != nullptr) {
    e.meta = *label.service;
  } else {
    e.meta = label.domain != nullptr ? "Other" : "Unknown";
  }
  if (label.domain != nullptr) {
    e.domain = *label.domain;
  } else {
    e.domain.clear();
  }
  if (label.ndpi != nullptr) {
    e.ndpi = *label.ndpi;
  } else {
    e.ndpi.clear();
  }
  e.device = flow.localIp();
  e.has_hw_addr = flow.has_mac;
  e.hw_addr = flow.local_mac;
  std::tie(e.flow_hi, e.flow_lo) = flow.id();
  e.proto = flow.key.proto;
  e.lport = flow.localPort();
  e.sip = flow.remoteIp();
  e.sport = flow.remotePort();
  const auto secs = static_cast<double>(config_.window_seconds);
  const WindowCounters& w = flow.window;
  e.bytes_up = w.bytes_up;
  e.bytes_dw = w.bytes_dw;
  e.pkts_up = w.pkts_up;
  e.pkts_dw = w.pkts_dw;
  // One division, so the result is the correctly rounded quotient (0.1536, not
  // 0.15360000000000001).
  e.kbps_up = static_cast<double>(w.bytes_up * 8) / (1000 * secs);
  e.kbps_dw = static_cast<double>(w.bytes_dw * 8) / (1000 * secs);
  e.pps_up = static_cast<double>(w.pkts_up) / secs;
  e.pps_dw = static_cast<double>(w.pkts_dw) / secs;
  e.has_video_info =
      flow.chunks && (flow.chunks->has_open || !flow.chunks->closed_in_window.empty());
  e.upstream_chunks.clear();
  if (e.has_video_info) {
    e.upstream_chunks.assign(flow.chunks->closed_in_window.begin(),
                             flow.chunks->closed_in_window.end());
    if (flow.chunks->has_open) {
      e.upstream_chunks.push_back(flow.chunks->open);
    }
  }
}

void WindowReporter::closeWindow() {
  TaRecord& r = record_;
  r.ts_start = window_start_ / kNanosPerSecond;
  r.ts_end = window_end_ / kNanosPerSecond;
  r.pkts_rcvd = frames_in_window_;
  r.pkts_drop = 0;
  if (drops_) {
    const uint64_t drops = drops_();
    r.pkts_drop = drops - std::min(drops, drops_reported_);
    drops_reported_ = std::max(drops, drops_reported_);
  }
  table_.forEachWindowFlow([&](const Flow& f) { fillEntry(f, nextEntry()); });
  r.data.resize(entries_used_);
  entries_used_ = 0;

  const FlowTableStats& ts = table_.stats();
  r.gen_flows = table_.activeFlows();
  r.tcp_flows = table_.activeTcpFlows();
  r.general_counters = r.data.size();
  r.evicted_flows = ts.flows_evicted_lru - evicted_seen_;
  r.expired_flows = ts.flows_expired - expired_seen_;
  evicted_seen_ = ts.flows_evicted_lru;
  expired_seen_ = ts.flows_expired;

  std::vector<double>& kbps = kbps_scratch_;
  kbps.clear();
  r.video_segments = 0;
  r.avg = r.var = r.q50 = r.q75 = r.q90 = r.q95 = 0;
  for (const TaFlowEntry& e : r.data) {
    kbps.push_back(e.kbps_dw);
    r.video_segments += e.upstream_chunks.size();
  }
  if (!kbps.empty()) {
    double sum = 0;
    for (double v : kbps) {
      sum += v;
    }
    r.avg = sum / static_cast<double>(kbps.size());
    double sq = 0;
    for (double v : kbps) {
      sq += (v - r.avg) * (v - r.avg);
    }
    r.var = sq / static_cast<double>(kbps.size());
    std::sort(kbps.begin(), kbps.end());
    r.q50 = quantile(kbps, 0.50);
    r.q75 = quantile(kbps, 0.75);
    r.q90 = quantile(kbps, 0.90);
    r.q95 = quantile(kbps, 0.95);
  }

  table_.resetWindow();
  frames_in_window_ = 0;
  if (!r.data.empty() || r.pkts_rcvd != 0) {
    sink_.write(r);
    ++records_written_;
  }
}

}  // namespace nm
