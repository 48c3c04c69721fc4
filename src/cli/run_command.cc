// `netmicroscope run`: the probe and the daemon in one process — packets in, the SQLite store
// (and InfluxDB when configured) out, no TA files in between.

#include <spdlog/spdlog.h>

#include <chrono>
#include <thread>

#include "cli/commands.h"
#include "cli/daemon_plugins.h"
#include "cli/daemon_sinks.h"
#include "cli/probe_runner.h"
#include "cli/store_summary.h"
#include "daemon/pipeline.h"

namespace nm::cli {
namespace {

struct RunOptions {
  ProbeOptions probe;
  std::string env_file;
  std::string db;
  bool log_summaries = false;
};

// Hands each record to the pipeline on the capture thread and commits about once a second.
class DaemonTap final : public TaRecordSink {
 public:
  explicit DaemonTap(Pipeline& pipeline) : pipeline_(pipeline) {}
  void write(const TaRecord& record) override {
    pipeline_.ingestRecord(record);
    const auto now = std::chrono::steady_clock::now();
    if (now - last_commit_ >= std::chrono::seconds(1) || pipeline_.uncommittedRecords() >= 256) {
      last_commit_ = now;
      pipeline_.commit();  // a failing sink keeps its data and is retried at the next record
    }
  }

 private:
  Pipeline& pipeline_;
  std::chrono::steady_clock::time_point last_commit_ = std::chrono::steady_clock::now();
};

int runRun(RunOptions& o) {
  std::map<std::string, std::string> environment = processEnvironment();
  ConfigResult cr = loadDaemonConfig(o.env_file, environment);
  if (!cr.errors.empty()) {
    std::fprintf(stderr, "%s", formatConfigErrors(cr.errors).c_str());
    return 2;
  }
  for (const std::string& w : cr.warnings) {
    spdlog::warn("{}", w);
  }
  MetricsRegistry metrics;
  SinkSet sinks;
  std::string error;
  const std::string db = o.db.empty() ? cr.config.daemon.sqlite_path : o.db;
  if (!buildSinks(cr.config, db, metrics, sinks, error)) {
    spdlog::error("{}", error);
    return 1;
  }
  PipelineOptions po;
  po.deployment = cr.config.deployment;
  po.log_summaries = o.log_summaries;
  LoadedPlugins plugins;  // outlives the pipeline, which holds pointers to them
  Pipeline pipeline(po, sinks.sinks(), metrics);
  if (!loadDaemonPlugins(cr, db, metrics, pipeline, plugins, error)) {
    spdlog::error("{}", error);
    return 2;
  }
  DaemonTap tap(pipeline);

  const bool print_summary = o.probe.summary;
  o.probe.summary = false;  // the store's summary below replaces the probe's
  const int probe_rc = runProbe(o.probe, &tap);

  bool durable = pipeline.commit();
  for (int attempt = 0; !durable && attempt < 20; ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    durable = pipeline.commit();
  }
  pipeline.finish(std::chrono::seconds(30));
  if (!durable) {
    spdlog::error("some records could not be stored (see the errors above)");
    return 1;
  }
  spdlog::info("{} records, {} flow entries -> {}",
               metrics.counter("netmicroscope_ingest_records_total", "").value(),
               metrics.counter("netmicroscope_ingest_flow_entries_total", "").value(), db);
  if (print_summary && !printStoreSummary(db, stdout, 15, error)) {
    spdlog::error("{}", error);
    return 1;
  }
  return probe_rc;
}

}  // namespace

Runner addRunCommand(CLI::App& app) {
  auto opts = std::make_shared<RunOptions>();
  CLI::App* cmd = app.add_subcommand(
      "run", "Probe and daemon in one process: packets -> SQLite store (+ InfluxDB if set)");
  addProbeOptions(cmd, opts->probe);
  cmd->add_option("--env", opts->env_file, "A .env file (InfluxDB, deployment, store path)");
  cmd->add_option("--db", opts->db, "SQLite store (default: NMD_SQLITE_PATH)");
  cmd->add_flag("--log-summaries", opts->log_summaries,
                "Log the original daemon's per-device, per-application line for every record");
  return [opts] { return runRun(*opts); };
}

}  // namespace nm::cli
