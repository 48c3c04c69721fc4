#pragma once
// A plugin's PluginState over the SQLite store's kv table: one namespace per plugin, its own
// connection (the sink's is the ingest thread's). Errors are logged once and the call reports
// failure; a plugin treats missing state as "not known yet".

#include <memory>
#include <string>

#include "plugins/plugin.h"
#include "sinks/sqlite/store_state.h"

namespace nm::cli {

class StorePluginState final : public PluginState {
 public:
  StorePluginState(std::shared_ptr<StoreState> store, std::string ns)
      : store_(std::move(store)), ns_(std::move(ns)) {}
  std::optional<std::string> get(std::string_view key) override;
  bool put(std::string_view key, std::string_view value) override;
  bool erase(std::string_view key) override;
  bool scan(std::string_view prefix,
            const std::function<bool(std::string_view, std::string_view)>& fn) override;

 private:
  void report(const std::string& error);
  std::shared_ptr<StoreState> store_;
  std::string ns_;
  bool reported_ = false;
};

}  // namespace nm::cli
