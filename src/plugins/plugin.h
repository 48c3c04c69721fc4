#pragma once
// The plugin stage's door. A plugin sees every record's summary after the original's sums and
// before the sinks (daemon/pipeline.h RecordProcessor): it may name devices (setDeviceName in
// daemon/sink.h), add points (RecordSummary::extra_points), and keep its own state in the store.
// As the original's plugins (`init(conf) -> priority`, `preprocess(data) -> data`), plugins run
// in priority order, lowest first; configuration enables, disables and reorders them.
//
// Built-in plugins are listed explicitly in registry.cc (a folder + one registry entry + a build
// switch); external ones are shared libraries loaded through the versioned C ABI in
// plugins/c_abi/netmicroscope_plugin.h.
//
// Threading: init() and process() are called from the daemon's one ingest thread. A plugin that
// does slow work (DNS, disk) does it on its own threads and lets the results join later
// summaries; process() must not block.

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/metrics.h"
#include "daemon/pipeline.h"

namespace nm {

// A plugin's own persistent key-value state (the SQLite store's kv table, one namespace per
// plugin: loadPlugins asks PluginConfig::state_for for each plugin's, plugins/loader.h). Null in
// PluginContext when the store is off. Called from the ingest thread only.
class PluginState {
 public:
  virtual ~PluginState() = default;
  virtual std::optional<std::string> get(std::string_view key) = 0;
  virtual bool put(std::string_view key, std::string_view value) = 0;
  virtual bool erase(std::string_view key) = 0;
  // Calls fn(key, value) for every key starting with `prefix`, in key order, until fn returns
  // false. false when the state could not be read.
  virtual bool scan(
      std::string_view prefix,
      const std::function<bool(std::string_view key, std::string_view value)>& fn) = 0;
};

// settings[key], or `fallback` when it is unset or empty.
inline std::string settingOr(const std::map<std::string, std::string>& settings,
                             const std::string& key, std::string_view fallback) {
  auto it = settings.find(key);
  if (it == settings.end() || it->second.empty()) {
    return std::string(fallback);
  }
  return it->second;
}

struct PluginContext {
  // Every setting of the daemon's configuration (.env variables after merging with the
  // environment), so a plugin reads its own (OUIMAP_*, EXINFO_*, MMGEOIP_*).
  const std::map<std::string, std::string>& settings;
  MetricsRegistry& metrics;
  PluginState* state = nullptr;
  std::string deployment;
};

class Plugin : public RecordProcessor {
 public:
  // Runs before others with a higher number (the original's init() return value).
  virtual int priority() const = 0;
  // Reads settings, opens databases. false with `error` (naming the setting) refuses to start.
  virtual bool init(const PluginContext& context, std::string& error) = 0;
  // Last call before the daemon exits: stop threads, flush state.
  virtual void finish() {}
};

}  // namespace nm
