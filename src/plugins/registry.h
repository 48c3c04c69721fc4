#pragma once
// The built-in plugins, as one explicit list (registry.cc). Static self-registration would
// silently vanish from a static library, so adding a built-in is: a folder
// src/plugins/<name>/ whose CMakeLists.txt defines the STATIC library nm_plugin_<name>, its name
// in the foreach list of src/plugins/CMakeLists.txt (the NM_PLUGIN_<NAME> switch), and one
// guarded entry in registry.cc.

#include <memory>
#include <span>
#include <string_view>

#include "plugins/plugin.h"

namespace nm {

struct BuiltinPlugin {
  std::string_view name;  // what the configuration's plugin list says ("ouimap")
  // Makes an uninitialised instance (init() comes later); never null.
  std::unique_ptr<Plugin> (*create)();
};

// The built-ins compiled into this binary, in registry order (ties of priority keep it).
// Static data: valid for the whole program; may be empty.
std::span<const BuiltinPlugin> builtinPlugins();

}  // namespace nm
