// `netmicroscope daemon`: the original backend daemon's job — TA records from files or a queue,
// per-device, per-application summaries, sinks — in one typed, lossless process.

#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

#include "cli/commands.h"
#include "cli/daemon_log.h"
#include "cli/daemon_loops.h"
#include "cli/daemon_paths.h"
#include "cli/daemon_plugins.h"
#include "cli/daemon_sinks.h"
#include "cli/pidfile.h"
#include "daemon/checkpoint.h"
#include "sinks/prometheus/metrics_server.h"

namespace nm::cli {
namespace {

struct DaemonOptions {
  std::string env_file;
  std::string pid_file;
  std::string log_file;
  bool to_stderr = false;
  std::string ta_file;
  bool once = false;
  std::string sqlite_path;
};

std::atomic<bool> g_stop{false};

void onSignal(int) {
  g_stop.store(true);
}

void installSignals() {
  struct sigaction sa = {};
  sa.sa_handler = onSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

int runDaemon(const DaemonOptions& o) {
  DaemonPaths paths;
  std::string error;
  if (!resolveDaemonPaths(o.env_file, o.pid_file, o.log_file, paths, error)) {
    std::fprintf(stderr, "netmicroscope daemon: %s\n", error.c_str());
    return 2;
  }
  ConfigResult cr = loadDaemonConfig(paths.env_file, processEnvironment());
  if (!cr.errors.empty()) {
    std::fprintf(stderr, "%s", formatConfigErrors(cr.errors).c_str());
    return 2;
  }
  DaemonConfig& config = cr.config;
  // --once is a batch job: it logs to the terminal unless a log file is asked for.
  const std::string log_file = o.once && o.log_file.empty() ? "" : paths.log_file;
  if (!setupDaemonLogging(log_file, o.to_stderr, error)) {
    std::fprintf(stderr, "cannot open log file %s: %s\n", log_file.c_str(), error.c_str());
    return 1;
  }
  for (const std::string& w : cr.warnings) {
    spdlog::warn("{}", w);
  }
  spdlog::info("netmicroscope daemon starting: {}", describeConfig(config));

  PidFile pidfile;
  if ((!o.once || !o.pid_file.empty()) && !pidfile.acquire(paths.pid_file, error)) {
    spdlog::error("{}", error);
    return 1;
  }
  std::error_code ec;
  std::filesystem::create_directories(config.daemon.state_dir, ec);
  if (ec) {
    spdlog::error("cannot create state directory {}: {}", config.daemon.state_dir, ec.message());
    return 1;
  }
  installSignals();

  MetricsRegistry metrics;
  MetricsServer metrics_server(metrics);
  if (config.daemon.metrics_enabled) {
    const std::string listen = config.daemon.metrics_host.find(':') != std::string::npos
                                   ? "[" + config.daemon.metrics_host + "]"
                                   : config.daemon.metrics_host;
    if (!metrics_server.start(listen + ":" + std::to_string(config.daemon.metrics_port), error)) {
      spdlog::error("NMD_METRICS_LISTEN: {}", error);
      return 1;
    }
    spdlog::info("metrics on http://{}:{}/metrics", listen, metrics_server.port());
  }

  LoopContext ctx{config, metrics, g_stop, {}, false, {}};
  ctx.checkpoint_path = o.once ? "" : config.daemon.state_dir + "/checkpoint.json";
  ctx.once = o.once;
  ctx.ta_file = o.ta_file;

  if (config.mode == DaemonMode::kProducer) {
    return runProducer(ctx);
  }
  SinkSet sinks;
  if (!buildSinks(config, o.sqlite_path, metrics, sinks, error)) {
    spdlog::error("{}", error);
    return 1;
  }
  if (sinks.owned.empty()) {
    spdlog::error("no sink enabled: set NMD_SQLITE_ENABLE=true or INFLUXDB_ENABLE=true");
    return 2;
  }
  PipelineOptions po;
  po.deployment = config.deployment;
  po.log_summaries = config.daemon.log_summaries;
  LoadedPlugins plugins;  // outlives the pipeline, which holds pointers to them
  Pipeline pipeline(po, sinks.sinks(), metrics);
  const std::string store_path =
      !o.sqlite_path.empty() ? o.sqlite_path
                             : (config.daemon.sqlite_enabled ? config.daemon.sqlite_path : "");
  if (!loadDaemonPlugins(cr, store_path, metrics, pipeline, plugins, error)) {
    spdlog::error("{}", error);
    return 2;
  }
  return config.mode == DaemonMode::kConsumer ? runConsumer(ctx, pipeline)
                                              : runStandalone(ctx, pipeline);
}

}  // namespace

Runner addDaemonCommand(CLI::App& app) {
  auto opts = std::make_shared<DaemonOptions>();
  CLI::App* cmd = app.add_subcommand(
      "daemon", "Ingest TA records (files or RabbitMQ), summarise, write SQLite/InfluxDB/RabbitMQ");
  cmd->add_option("--env", opts->env_file, "The .env file (default: ./.env when present)");
  cmd->add_option("--pid-file", opts->pid_file, "Default: NMD_PID_FILE or /tmp/appmonitor.pid");
  cmd->add_option("--log-file", opts->log_file, "Default: NMD_LOG_FILE or /tmp/appmonitor.log");
  cmd->add_flag("--stderr", opts->to_stderr, "Also log to stderr");
  auto* ta =
      cmd->add_option("--ta-file", opts->ta_file, "Follow this one TA file instead of NMD_TA_GLOB");
  cmd->add_flag("--once", opts->once,
                "Ingest to the end of the input, flush every sink, exit (no checkpoint)")
      ->needs(ta);
  cmd->add_option("--db", opts->sqlite_path, "SQLite store path (default: NMD_SQLITE_PATH)");
  return [opts] { return runDaemon(*opts); };
}

}  // namespace nm::cli
