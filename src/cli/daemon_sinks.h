#pragma once
// Builds the sinks a configuration asks for: the only place that knows both the daemon's
// settings and every sink's own settings type.

#include <memory>
#include <string>
#include <vector>

#include "core/metrics.h"
#include "daemon/env_config.h"
#include "daemon/sink.h"

namespace nm::cli {

struct SinkSet {
  std::vector<std::unique_ptr<Sink>> owned;
  std::vector<Sink*> sinks() const;
};

// SQLite (unless disabled; `sqlite_path_override` wins over the config's path) and InfluxDB
// (when enabled). false with every problem in `error`.
bool buildSinks(const DaemonConfig& config, const std::string& sqlite_path_override,
                MetricsRegistry& metrics, SinkSet& out, std::string& error);

}  // namespace nm::cli
