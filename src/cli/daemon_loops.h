#pragma once
// The daemon's three ingest loops (NMD_MODE). Each runs on the calling thread until `stop` is
// set (SIGINT/SIGTERM) or, with `once`, the input is exhausted; then commits, checkpoints and
// finishes. Return the process exit code.

#include <atomic>
#include <string>

#include "core/metrics.h"
#include "daemon/env_config.h"
#include "daemon/pipeline.h"

namespace nm::cli {

struct LoopContext {
  const DaemonConfig& config;
  MetricsRegistry& metrics;
  std::atomic<bool>& stop;
  std::string checkpoint_path;  // empty: neither read nor written (--once)
  bool once = false;
  std::string ta_file;  // non-empty: this file instead of the glob
};

// standalone: tail TA files -> pipeline; checkpoint after every successful commit.
int runStandalone(const LoopContext& ctx, Pipeline& pipeline);
// consumer: RabbitMQ -> pipeline; acknowledge after every successful commit.
int runConsumer(const LoopContext& ctx, Pipeline& pipeline);
// producer: tail TA files -> RabbitMQ; checkpoint after the broker confirmed.
int runProducer(const LoopContext& ctx);

}  // namespace nm::cli
