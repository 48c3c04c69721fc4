#pragma once
// Writable side doors into the store (sqlite_sink.h) for plugins: their own state (the kv table)
// and device names. A connection of its own: usable beside a running SqliteSink on the same
// file (each write is one short transaction that waits up to busy_timeout_ms for the sink's).
// One object per thread.

#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace nm {

class StoreState {
 public:
  // Opens the store at `path`, creating the file and schema when needed; nullptr with `error`.
  static std::unique_ptr<StoreState> open(const std::string& path, int busy_timeout_ms,
                                          std::string& error);
  ~StoreState();
  StoreState(const StoreState&) = delete;
  StoreState& operator=(const StoreState&) = delete;

  // Stores `value` under (ns, key), replacing any; `updated` is the packet time (s) of the
  // change. The namespace "store" belongs to the sink and is refused.
  bool put(std::string_view ns, std::string_view key, std::string_view value, int64_t updated,
           std::string& error);
  // The value under (ns, key); nullopt when absent (error untouched) or on failure (error set).
  std::optional<std::string> get(std::string_view ns, std::string_view key,
                                 std::string& error) const;
  bool erase(std::string_view ns, std::string_view key, std::string& error);
  // Calls fn(key, value) for the keys of `ns` starting with `prefix`, in key order, until fn
  // returns false; false with `error` when the table could not be read.
  bool scan(std::string_view ns, std::string_view prefix,
            const std::function<bool(std::string_view key, std::string_view value)>& fn,
            std::string& error) const;

  // Names a device (devices.name, what StoreReader reports as device_name). A device named
  // before its first sample is created with first_seen = INT64_MAX and last_seen = INT64_MIN
  // (not seen yet); its first sample sets both.
  bool setDeviceName(std::string_view deployment, std::string_view key, std::string_view name,
                     std::string& error);

 private:
  explicit StoreState(sqlite3* db) : db_(db) {}
  sqlite3* db_;
};

}  // namespace nm
