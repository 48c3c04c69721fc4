#pragma once
// A PluginState in memory, for plugin tests that look at what a plugin saved.

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "plugins/plugin.h"

namespace nm::test {

class MapPluginState final : public PluginState {
 public:
  std::optional<std::string> get(std::string_view key) override {
    auto it = kv.find(std::string(key));
    return it == kv.end() ? std::nullopt : std::optional<std::string>(it->second);
  }
  bool put(std::string_view key, std::string_view value) override {
    kv[std::string(key)] = std::string(value);
    return true;
  }
  bool erase(std::string_view key) override {
    kv.erase(std::string(key));
    return true;
  }
  bool scan(std::string_view prefix,
            const std::function<bool(std::string_view, std::string_view)>& fn) override {
    for (auto it = kv.lower_bound(std::string(prefix));
         it != kv.end() && it->first.starts_with(prefix); ++it) {
      if (!fn(it->first, it->second)) {
        break;
      }
    }
    return true;
  }
  std::map<std::string, std::string> kv;
};

}  // namespace nm::test
