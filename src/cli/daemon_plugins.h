#pragma once
// Loads the plugins NMD_PLUGINS asks for (every built-in by default), each with its own state
// namespace in the SQLite store when the store is on.

#include <memory>
#include <string>
#include <vector>

#include "daemon/env_config.h"
#include "daemon/pipeline.h"
#include "plugins/loader.h"

namespace nm::cli {

struct LoadedPlugins {
  // Declared before `set`: destroyed after it, since plugins save state in finish().
  std::shared_ptr<void> store;  // keeps the state store's connection alive
  std::vector<std::unique_ptr<PluginState>> states;
  PluginSet set;
};

// Adds the plugins to `pipeline` in run order. false with every problem in `error`.
// `sqlite_path` empty: no state store.
bool loadDaemonPlugins(const ConfigResult& config, const std::string& sqlite_path,
                       MetricsRegistry& metrics, Pipeline& pipeline, LoadedPlugins& out,
                       std::string& error);

}  // namespace nm::cli
