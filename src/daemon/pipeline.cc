#include "daemon/pipeline.h"

#include <spdlog/spdlog.h>

#include <array>

namespace nm {

struct Pipeline::Counters {
  Counter* records_in = nullptr;
  Counter* entries_in = nullptr;
  Counter* points_out = nullptr;
  std::array<Counter*, 10> parse_errors{};
  std::array<bool, 10> logged{};
  Counter* out_of_order = nullptr;
  bool out_of_order_logged = false;
  std::vector<Counter*> commit_failures;
  Counter* commits = nullptr;
};

namespace {

constexpr std::array<TaParseError, 9> kErrors = {TaParseError::kTooLong,
                                                 TaParseError::kTooDeep,
                                                 TaParseError::kNotJson,
                                                 TaParseError::kNotObject,
                                                 TaParseError::kMissingTrafficData,
                                                 TaParseError::kMissingField,
                                                 TaParseError::kWrongType,
                                                 TaParseError::kBadValue,
                                                 TaParseError::kBadAddress};

std::string_view kindOf(TaParseError e) {
  std::string_view name = taParseErrorName(e);
  name.remove_prefix(name.find('.') + 1);  // "ingest.not_json" -> "not_json"
  return name;
}

}  // namespace

void setDeviceName(RecordSummary& summary, std::string_view device_key, std::string_view name) {
  for (DeviceApplicationSample& a : summary.samples) {
    if (a.device == device_key) {
      a.device_name.assign(name);
    }
  }
  for (SummaryPoint& p : summary.points) {
    if (p.device == device_key) {
      p.device_name.assign(name);
    }
  }
}

Pipeline::Pipeline(PipelineOptions options, std::vector<Sink*> sinks, MetricsRegistry& metrics)
    : options_(std::move(options)),
      sinks_(std::move(sinks)),
      counters_(std::make_unique<Counters>()),
      sink_failing_(sinks_.size(), false) {
  Counters& c = *counters_;
  c.records_in = &metrics.counter("netmicroscope_ingest_records_total", "TA records accepted");
  c.entries_in = &metrics.counter("netmicroscope_ingest_flow_entries_total",
                                  "Flow entries of accepted records");
  c.points_out = &metrics.counter("netmicroscope_summary_points_total",
                                  "Summary points produced (zero-fill included)");
  c.commits = &metrics.counter("netmicroscope_commits_total", "Successful commits of all sinks");
  for (TaParseError e : kErrors) {
    c.parse_errors[static_cast<size_t>(e)] =
        &metrics.counter("netmicroscope_ingest_errors_total", "TA lines rejected, by kind",
                         {{"kind", std::string(kindOf(e))}});
  }
  c.out_of_order = &metrics.counter("netmicroscope_ingest_errors_total",
                                    "TA lines rejected, by kind", {{"kind", "out_of_order"}});
  for (Sink* s : sinks_) {
    c.commit_failures.push_back(&metrics.counter("netmicroscope_sink_commit_failures_total",
                                                 "Sink commits that failed (data kept, retried)",
                                                 {{"sink", std::string(s->name())}}));
  }
}

Pipeline::~Pipeline() = default;

void Pipeline::addProcessor(RecordProcessor* processor) {
  processors_.push_back(processor);
}

void Pipeline::countParseError(TaParseError error) {
  const auto i = static_cast<size_t>(error);
  counters_->parse_errors[i]->add();
  if (!counters_->logged[i]) {
    counters_->logged[i] = true;  // once per kind: a corrupt file must not flood the log
    spdlog::warn("skipping TA line: {} (further lines of this kind are only counted)",
                 kindOf(error));
  }
}

void Pipeline::countTooLong() {
  countParseError(TaParseError::kTooLong);
}

TaParseError Pipeline::ingestLine(std::string_view line, std::string_view deployment) {
  const TaParseError error = parseTaLine(line, record_);
  if (error != TaParseError::kNone) {
    countParseError(error);
    return error;
  }
  ingestRecord(record_, deployment);  // out-of-order records are counted there
  return TaParseError::kNone;
}

ApplicationSummarizer& Pipeline::summarizerFor(std::string_view deployment) {
  auto it = summarizers_.find(deployment);
  if (it == summarizers_.end()) {
    it = summarizers_.emplace(std::string(deployment), ApplicationSummarizer{}).first;
  }
  return it->second;
}

bool Pipeline::ingestRecord(const TaRecord& record, std::string_view deployment) {
  if (deployment.empty()) {
    deployment = options_.deployment;
  }
  ApplicationSummarizer& summarizer = summarizerFor(deployment);
  if (summarizer.hasPrevious() && record.ts_end <= summarizer.lastTsEnd()) {
    counters_->out_of_order->add();
    if (!counters_->out_of_order_logged) {
      counters_->out_of_order_logged = true;
      spdlog::warn(
          "skipping a record of {} ending at {}: not after {} (a duplicate or out of "
          "order; further ones are only counted)",
          deployment, record.ts_end, summarizer.lastTsEnd());
    }
    return false;
  }
  RecordSummary& s = summary_;
  s.deployment.assign(deployment);
  s.ts_start = record.ts_start;
  s.ts_end = record.ts_end;
  s.points = summarizer.add(record);
  s.extra_points.clear();
  s.record = &record;
  const std::vector<ApplicationSums>& sums = summarizer.lastSums();
  s.samples.resize(sums.size());
  for (size_t i = 0; i < sums.size(); ++i) {
    const ApplicationSums& a = sums[i];
    s.samples[i] = {a.device,   a.application, a.kbps_dw, a.kbps_up, a.bytes_dw,
                    a.bytes_up, a.pkts_dw,     a.pkts_up, a.flows,   {}};
  }
  for (RecordProcessor* p : processors_) {
    p->process(s);
  }
  if (options_.log_summaries) {
    for (const DeviceApplicationSample& a : s.samples) {
      spdlog::info("{}", originalLogLine(a.device_name.empty() ? a.device : a.device_name,
                                         a.application, a.kbps_dw, a.kbps_up, record.ts_end));
    }
  }
  for (Sink* sink : sinks_) {
    sink->write(s);
  }
  s.record = nullptr;
  counters_->records_in->add();
  counters_->entries_in->add(record.data.size());
  counters_->points_out->add(s.points.size() + s.extra_points.size());
  ++uncommitted_;
  return true;
}

bool Pipeline::commit() {
  bool all = true;
  for (size_t i = 0; i < sinks_.size(); ++i) {
    if (sinks_[i]->commit()) {
      if (sink_failing_[i]) {
        spdlog::info("sink {}: commits succeed again", sinks_[i]->name());
        sink_failing_[i] = false;
      }
      continue;
    }
    all = false;
    counters_->commit_failures[i]->add();
    if (!sink_failing_[i]) {
      spdlog::error("sink {}: commit failed; holding input until it succeeds", sinks_[i]->name());
      sink_failing_[i] = true;
    }
  }
  if (all) {
    uncommitted_ = 0;
    counters_->commits->add();
  }
  return all;
}

void Pipeline::finish(std::chrono::milliseconds deadline) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  for (Sink* sink : sinks_) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        end - std::chrono::steady_clock::now());
    sink->finish(std::max(left, std::chrono::milliseconds(0)));
  }
}

std::map<std::string, SummarizerState> Pipeline::summarizerStates() const {
  std::map<std::string, SummarizerState> out;
  for (const auto& [deployment, summarizer] : summarizers_) {
    out.emplace(deployment, summarizer.state());
  }
  return out;
}

void Pipeline::restoreSummarizers(const std::map<std::string, SummarizerState>& states) {
  for (const auto& [deployment, state] : states) {
    summarizerFor(deployment).restore(state);
  }
}

}  // namespace nm
