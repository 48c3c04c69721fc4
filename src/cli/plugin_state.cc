#include "cli/plugin_state.h"

#include <spdlog/spdlog.h>

#include <chrono>

namespace nm::cli {

void StorePluginState::report(const std::string& error) {
  if (!reported_) {
    reported_ = true;
    spdlog::warn("plugin {}: state store: {} (further errors only counted by the plugin)", ns_,
                 error);
  }
}

std::optional<std::string> StorePluginState::get(std::string_view key) {
  std::string error;
  std::optional<std::string> v = store_->get(ns_, key, error);
  if (!error.empty()) {
    report(error);
  }
  return v;
}

bool StorePluginState::put(std::string_view key, std::string_view value) {
  std::string error;
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  if (!store_->put(ns_, key, value, now, error)) {
    report(error);
    return false;
  }
  return true;
}

bool StorePluginState::erase(std::string_view key) {
  std::string error;
  if (!store_->erase(ns_, key, error)) {
    report(error);
    return false;
  }
  return true;
}

bool StorePluginState::scan(std::string_view prefix,
                            const std::function<bool(std::string_view, std::string_view)>& fn) {
  std::string error;
  if (!store_->scan(ns_, prefix, fn, error)) {
    report(error);
    return false;
  }
  return true;
}

}  // namespace nm::cli
