#pragma once
// Turns the configuration's plugin list into initialised plugins for the pipeline:
//
//   PluginSet plugins = loadPlugins(config, context, error);
//   if (!error.empty()) { /* report, exit */ }
//   for (RecordProcessor* p : plugins.processors()) pipeline.addProcessor(p);
//   ... plugins.finish();  // before the daemon exits, after the last record
//
// Names: a built-in's registry name ("ouimap", "exinfo"), or a path to a shared library
// speaking the C ABI (anything containing '/' or ending in ".so", loaded with dlopen).
//
// Order: when `enabled` is non-empty it lists exactly the plugins to run, in that order
// (priority() is ignored: the operator's order wins). When it is empty, every built-in that is
// not `disabled` runs, lowest priority() first (ties keep registry order); external libraries
// only run when listed in `enabled`.
//
// Errors are collected over the whole list (unknown names, duplicates, a name both enabled and
// disabled, libraries that do not load, init() refusals) and reported together, one line per
// plugin naming it; then no plugin is returned.
//
// Threading: call from the thread that will run the pipeline (init() runs there).

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/pipeline.h"
#include "plugins/plugin.h"
#include "plugins/registry.h"

namespace nm {

struct PluginConfig {
  std::vector<std::string> enabled;   // names in run order; empty = all built-ins by priority
  std::vector<std::string> disabled;  // built-in names (or entries of `enabled`) not to run
  // Gives each plugin its own state (e.g. the store's kv namespace named after the plugin).
  // Called once per plugin, with its name(), before its init(); the object must outlive the
  // PluginSet; nullptr = no state. Unset: every plugin gets context.state.
  std::function<PluginState*(std::string_view plugin_name)> state_for;
};

// The initialised plugins, in run order. Owns them (and, through them, their shared
// libraries, each closed only after its plugin is destroyed). Destruction calls finish() when
// it was not called yet, then destroys the plugins in reverse order. Whatever the plugins were
// given in their PluginContext (metrics, state) must outlive the set.
class PluginSet {
 public:
  PluginSet() = default;
  explicit PluginSet(std::vector<std::unique_ptr<Plugin>> plugins);
  ~PluginSet();
  PluginSet(PluginSet&& other) noexcept;
  PluginSet& operator=(PluginSet&& other) noexcept;
  PluginSet(const PluginSet&) = delete;
  PluginSet& operator=(const PluginSet&) = delete;

  // For Pipeline::addProcessor, in run order. Valid while the set lives.
  std::vector<RecordProcessor*> processors() const;
  const std::vector<std::unique_ptr<Plugin>>& plugins() const { return plugins_; }
  size_t size() const { return plugins_.size(); }
  bool empty() const { return plugins_.empty(); }

  // Calls every plugin's finish() once, in run order; later calls do nothing.
  void finish();

 private:
  void reset();

  std::vector<std::unique_ptr<Plugin>> plugins_;
  bool finished_ = false;
};

// With the built-ins of this binary (builtinPlugins()). On failure returns an empty set and
// sets `error` ("plugin 'x': reason", several lines when several failed); else clears it.
PluginSet loadPlugins(const PluginConfig& config, const PluginContext& context, std::string& error);
// The same over an explicit list of built-ins (tests, tools). `builtins` must outlive the call.
PluginSet loadPlugins(const PluginConfig& config, const PluginContext& context,
                      std::span<const BuiltinPlugin> builtins, std::string& error);

// Opens one C ABI plugin library (not yet initialised). nullptr with `error` naming the file
// when it cannot be opened, lacks nm_plugin_entry, returns no descriptor, speaks another ABI
// version or has a too small descriptor; the library is closed again then.
std::unique_ptr<Plugin> openPluginLibrary(const std::string& path, std::string& error);

// Whether a configured name means a library path rather than a built-in.
bool isPluginPath(std::string_view name);

}  // namespace nm
