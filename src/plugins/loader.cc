#include "plugins/loader.h"

#include <dlfcn.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstddef>
#include <utility>

#include "plugins/c_abi/netmicroscope_plugin.h"
#include "plugins/c_abi_adapter.h"

namespace nm {

bool isPluginPath(std::string_view name) {
  return name.find('/') != std::string_view::npos || name.ends_with(".so");
}

std::unique_ptr<Plugin> openPluginLibrary(const std::string& path, std::string& error) {
  // RTLD_NOW: an unresolved symbol fails here, with a message, not later in process().
  // RTLD_LOCAL: two plugins may define the same symbols.
  dlerror();
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    error = fmt::format("{}: cannot load: {}", path, why != nullptr ? why : "unknown dlopen error");
    return nullptr;
  }
  SharedLibrary library(handle, path);  // closes the library on every early return below

  dlerror();
  void* symbol = dlsym(handle, NM_PLUGIN_ENTRY_SYMBOL);
  if (symbol == nullptr) {
    error = fmt::format("{}: not a NetMicroscope plugin, it exports no {}() ({})", path,
                        NM_PLUGIN_ENTRY_SYMBOL, dlerror());
    return nullptr;
  }
  // POSIX guarantees object and function pointers convert through dlsym's void*.
  const auto entry = reinterpret_cast<nm_plugin_entry_fn>(symbol);
  const nm_plugin_v1* d = entry(NM_PLUGIN_ABI_VERSION);
  if (d == nullptr) {
    error = fmt::format(
        "{}: {}({}) returned no descriptor (the plugin does not support plugin "
        "ABI v{})",
        path, NM_PLUGIN_ENTRY_SYMBOL, NM_PLUGIN_ABI_VERSION, NM_PLUGIN_ABI_VERSION);
    return nullptr;
  }
  if (d->abi_version != NM_PLUGIN_ABI_VERSION) {
    error = fmt::format("{}: built for plugin ABI v{}, but this NetMicroscope loads plugin ABI v{}",
                        path, d->abi_version, NM_PLUGIN_ABI_VERSION);
    return nullptr;
  }
  if (d->struct_size < sizeof(nm_plugin_v1)) {
    error = fmt::format(
        "{}: its plugin descriptor is {} bytes, smaller than the {} bytes of nm_plugin_v1 "
        "(plugin ABI v{}); rebuild it against this netmicroscope_plugin.h",
        path, d->struct_size, sizeof(nm_plugin_v1), NM_PLUGIN_ABI_VERSION);
    return nullptr;
  }
  if (d->name == nullptr || d->name[0] == '\0') {
    error = fmt::format("{}: its plugin descriptor has no name", path);
    return nullptr;
  }
  if (d->create == nullptr || d->process == nullptr || d->destroy == nullptr) {
    error = fmt::format("{}: plugin '{}' lacks create, process or destroy", path, d->name);
    return nullptr;
  }
  return adaptCPlugin(std::move(library), *d);
}

PluginSet::PluginSet(std::vector<std::unique_ptr<Plugin>> plugins) : plugins_(std::move(plugins)) {}

PluginSet::~PluginSet() {
  reset();
}

PluginSet::PluginSet(PluginSet&& other) noexcept
    : plugins_(std::move(other.plugins_)), finished_(other.finished_) {
  other.plugins_.clear();
}

PluginSet& PluginSet::operator=(PluginSet&& other) noexcept {
  if (this != &other) {
    reset();
    plugins_ = std::move(other.plugins_);
    finished_ = other.finished_;
    other.plugins_.clear();
  }
  return *this;
}

void PluginSet::reset() {
  finish();
  while (!plugins_.empty()) {
    plugins_.pop_back();  // reverse run order; a C plugin closes its library here
  }
  finished_ = false;
}

std::vector<RecordProcessor*> PluginSet::processors() const {
  std::vector<RecordProcessor*> out;
  out.reserve(plugins_.size());
  for (const auto& p : plugins_) {
    out.push_back(p.get());
  }
  return out;
}

void PluginSet::finish() {
  if (finished_) {
    return;
  }
  finished_ = true;
  for (const auto& p : plugins_) {
    p->finish();
  }
}

namespace {

struct Candidate {
  std::string configured;  // as the configuration names it
  std::unique_ptr<Plugin> plugin;
};

std::string builtinNames(std::span<const BuiltinPlugin> builtins) {
  if (builtins.empty()) {
    return "none in this build";
  }
  std::string out;
  for (const BuiltinPlugin& b : builtins) {
    if (!out.empty()) {
      out += ", ";
    }
    out += b.name;
  }
  return out;
}

const BuiltinPlugin* findBuiltin(std::span<const BuiltinPlugin> builtins, std::string_view name) {
  for (const BuiltinPlugin& b : builtins) {
    if (b.name == name) {
      return &b;
    }
  }
  return nullptr;
}

bool contains(const std::vector<std::string>& list, const std::string& s) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

// "plugin 'ouimap'" for a built-in, "plugin 'geo' (/opt/geo.so)" for a library.
std::string label(const Candidate& c) {
  if (c.plugin == nullptr || c.plugin->name() == c.configured) {
    return fmt::format("plugin '{}'", c.configured);
  }
  return fmt::format("plugin '{}' ({})", c.plugin->name(), c.configured);
}

std::string formatErrors(const std::vector<std::string>& errors) {
  if (errors.size() == 1) {
    return errors[0];
  }
  std::string out = fmt::format("{} plugin errors:", errors.size());
  for (const std::string& e : errors) {
    out += "\n  ";
    out += e;
  }
  return out;
}

}  // namespace

PluginSet loadPlugins(const PluginConfig& config, const PluginContext& context,
                      std::string& error) {
  return loadPlugins(config, context, builtinPlugins(), error);
}

PluginSet loadPlugins(const PluginConfig& config, const PluginContext& context,
                      std::span<const BuiltinPlugin> builtins, std::string& error) {
  error.clear();
  std::vector<std::string> errors;

  for (const std::string& name : config.disabled) {
    if (contains(config.enabled, name)) {
      errors.push_back(fmt::format("plugin '{}': both enabled and disabled", name));
    } else if (findBuiltin(builtins, name) == nullptr) {
      errors.push_back(fmt::format("plugin '{}': cannot disable it, no such built-in ({})", name,
                                   builtinNames(builtins)));
    }
  }

  std::vector<Candidate> candidates;
  if (config.enabled.empty()) {
    for (const BuiltinPlugin& b : builtins) {
      if (!contains(config.disabled, std::string(b.name))) {
        candidates.push_back({std::string(b.name), b.create()});
      }
    }
    std::stable_sort(candidates.begin(), candidates.end(),
                     [](const Candidate& a, const Candidate& b) {
                       return a.plugin->priority() < b.plugin->priority();
                     });
  } else {
    for (size_t i = 0; i < config.enabled.size(); ++i) {
      const std::string& name = config.enabled[i];
      if (std::find(config.enabled.begin(), config.enabled.begin() + static_cast<std::ptrdiff_t>(i),
                    name) != config.enabled.begin() + static_cast<std::ptrdiff_t>(i)) {
        errors.push_back(fmt::format("plugin '{}': listed twice", name));
        continue;
      }
      if (contains(config.disabled, name)) {
        continue;  // reported above
      }
      if (const BuiltinPlugin* b = findBuiltin(builtins, name); b != nullptr) {
        candidates.push_back({name, b->create()});
      } else if (isPluginPath(name)) {
        std::string why;
        std::unique_ptr<Plugin> p = openPluginLibrary(name, why);
        if (p == nullptr) {
          errors.push_back(fmt::format("plugin {}", why));  // `why` starts with the path
          continue;
        }
        candidates.push_back({name, std::move(p)});
      } else {
        errors.push_back(fmt::format(
            "plugin '{}': unknown (built-ins: {}; a library is given by a path with '/' or "
            "ending in .so)",
            name, builtinNames(builtins)));
      }
    }
  }

  // Names key metrics and state namespaces: two plugins may not share one.
  for (size_t i = 0; i < candidates.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (candidates[j].plugin->name() == candidates[i].plugin->name()) {
        errors.push_back(fmt::format("{} and {}: both are named '{}'", label(candidates[j]),
                                     label(candidates[i]), candidates[i].plugin->name()));
      }
    }
  }

  // init() every plugin even after other errors, so one run reports every refusal.
  std::vector<std::unique_ptr<Plugin>> ready;
  for (Candidate& c : candidates) {
    PluginState* state = config.state_for ? config.state_for(c.plugin->name()) : context.state;
    const PluginContext own{context.settings, context.metrics, state, context.deployment};
    std::string why;
    if (!c.plugin->init(own, why)) {
      errors.push_back(fmt::format("{}: {}", label(c), why.empty() ? "init failed" : why));
      c.plugin.reset();  // refused: gone now (a library closes here)
      continue;
    }
    ready.push_back(std::move(c.plugin));
  }

  PluginSet set(std::move(ready));
  if (!errors.empty()) {
    error = formatErrors(errors);
    return {};  // `set` finishes and destroys the plugins that did start
  }
  for (const auto& p : set.plugins()) {
    spdlog::info("plugin {}: enabled (priority {})", p->name(), p->priority());
  }
  return set;
}

}  // namespace nm
