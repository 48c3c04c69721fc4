#include "plugins/registry.h"

#include <iterator>

// One guarded include and one guarded entry per built-in; NM_WITH_PLUGIN_<NAME> comes from the
// NM_PLUGIN_<NAME> build switch (src/plugins/CMakeLists.txt).
#ifdef NM_WITH_PLUGIN_OUIMAP
#include "plugins/ouimap/ouimap_plugin.h"
#endif
#ifdef NM_WITH_PLUGIN_EXINFO
#include "plugins/exinfo/exinfo_plugin.h"
#endif

namespace nm {
namespace {

// The last entry is a sentinel so the array is never empty (a zero-length array is ill-formed
// when every built-in is switched off); builtinPlugins() leaves it out.
constexpr BuiltinPlugin kBuiltins[] = {
#ifdef NM_WITH_PLUGIN_OUIMAP
    {"ouimap", &makeOuimapPlugin},
#endif
#ifdef NM_WITH_PLUGIN_EXINFO
    {"exinfo", &makeExinfoPlugin},
#endif
    {"", nullptr},
};

}  // namespace

std::span<const BuiltinPlugin> builtinPlugins() {
  return std::span<const BuiltinPlugin>(kBuiltins, std::size(kBuiltins) - 1);
}

}  // namespace nm
