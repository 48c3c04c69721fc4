#pragma once
// The daemon's middle stage: TA records in (lines from a file or a queue, or records handed over
// by an in-process probe), the original per-device, per-application summary, record processors
// (plugins) in priority order, then every sink.
//
// Threading: one ingest thread owns a Pipeline and makes every call. Sinks do their own delivery
// on their own threads (daemon/sink.h).

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/metrics.h"
#include "daemon/sink.h"
#include "daemon/summary.h"
#include "daemon/ta_parser.h"

namespace nm {

// A plugin's view of the pipeline (plugins/ builds on it): may rename devices, annotate samples
// and add extra points before the sinks see the summary.
class RecordProcessor {
 public:
  virtual ~RecordProcessor() = default;
  virtual std::string_view name() const = 0;
  virtual void process(RecordSummary& summary) = 0;
};

struct PipelineOptions {
  // Deployment of records that arrive without one (files, in-process, old producers' messages).
  std::string deployment = "default";
  // The original's "Application-device {'KbpsDw': ...}" info line per pair and record.
  bool log_summaries = true;
};

class Pipeline {
 public:
  // `sinks` and `metrics` must outlive the pipeline. Sinks are written in the order given.
  Pipeline(PipelineOptions options, std::vector<Sink*> sinks, MetricsRegistry& metrics);
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  // Processors run in the order added (the caller sorts by priority). Not owned.
  void addProcessor(RecordProcessor* processor);

  // Parses one TA line; a bad line is counted by kind, logged once per kind, and skipped.
  // A record whose TsEnd is not after the last one of its deployment is a duplicate (a queue
  // redelivery, a republish after a broker restart) or out of order: it is counted as
  // kind="out_of_order" and skipped, because summarising it again would zero-fill against the
  // wrong neighbour. Its data already reached the sinks the first time.
  // `deployment` empty = options.deployment.
  TaParseError ingestLine(std::string_view line, std::string_view deployment = {});
  // A line the source could not even read whole (over the size limit): counted as too long.
  void countTooLong();
  // Returns false when the record was skipped as out of order (see ingestLine).
  bool ingestRecord(const TaRecord& record, std::string_view deployment = {});

  // Commits every sink. true when all of them made everything durable; the caller may then
  // checkpoint its sources. On false the caller stops reading and calls commit() again later.
  bool commit();
  // Records ingested since the last successful commit().
  uint64_t uncommittedRecords() const { return uncommitted_; }

  // Last call: finishes every sink within `deadline` overall.
  void finish(std::chrono::milliseconds deadline);

  // The summarizers' memory per deployment, for the checkpoint; restore() before ingesting.
  std::map<std::string, SummarizerState> summarizerStates() const;
  void restoreSummarizers(const std::map<std::string, SummarizerState>& states);

 private:
  struct Counters;

  ApplicationSummarizer& summarizerFor(std::string_view deployment);
  void countParseError(TaParseError error);

  PipelineOptions options_;
  std::vector<Sink*> sinks_;
  std::vector<RecordProcessor*> processors_;
  std::unique_ptr<Counters> counters_;
  std::map<std::string, ApplicationSummarizer, std::less<>> summarizers_;
  TaRecord record_;  // reused between lines
  RecordSummary summary_;
  uint64_t uncommitted_ = 0;
  std::vector<bool> sink_failing_;
};

}  // namespace nm
