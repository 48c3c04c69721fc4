#include "cli/daemon_plugins.h"

#include <spdlog/spdlog.h>

#include "cli/plugin_state.h"
#include "sinks/sqlite/store_state.h"

namespace nm::cli {

bool loadDaemonPlugins(const ConfigResult& cr, const std::string& sqlite_path,
                       MetricsRegistry& metrics, Pipeline& pipeline, LoadedPlugins& out,
                       std::string& error) {
  const std::optional<std::vector<std::string>>& wanted = cr.config.daemon.plugins;
  if (wanted && wanted->empty()) {
    return true;  // NMD_PLUGINS=none
  }
  std::shared_ptr<StoreState> store;
  if (!sqlite_path.empty()) {
    std::string store_error;
    store = std::shared_ptr<StoreState>(StoreState::open(sqlite_path, 5000, store_error));
    if (!store) {
      spdlog::warn("plugins run without saved state: {}", store_error);
    }
  }
  out.store = store;
  PluginConfig pc;
  if (wanted) {
    pc.enabled = *wanted;
  } else {
    // The default set is the original's (ouimap); exinfo needs GeoIP databases and an operator
    // who asked for it: NMD_PLUGINS=ouimap,exinfo.
    pc.disabled = {"exinfo"};
  }
  pc.state_for = [&out, store](std::string_view plugin) -> PluginState* {
    if (!store) {
      return nullptr;
    }
    out.states.push_back(
        std::make_unique<StorePluginState>(store, "plugin." + std::string(plugin)));
    return out.states.back().get();
  };
  const PluginContext context{cr.settings, metrics, nullptr, cr.config.deployment};
  out.set = loadPlugins(pc, context, error);
  if (!error.empty()) {
    return false;
  }
  for (RecordProcessor* p : out.set.processors()) {
    pipeline.addProcessor(p);
    spdlog::info("plugin {} enabled", p->name());
  }
  return true;
}

}  // namespace nm::cli
