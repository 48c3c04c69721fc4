#pragma once
// Read-only queries over the store (sqlite_sink.h), for the CLI summary and the dashboard. Safe
// while a daemon writes (WAL readers never block the writer). One reader per thread.

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace nm {

// Traffic of one (device, application) over a period, from raw samples.
struct StoredApplication {
  std::string deployment;
  std::string device;       // the device key (MAC or IP text)
  std::string device_name;  // what plugins named it; the key when unnamed
  std::string application;
  uint64_t bytes_dw = 0;
  uint64_t bytes_up = 0;
  uint64_t pkts_dw = 0;
  uint64_t pkts_up = 0;
  int64_t active_seconds = 0;  // seconds of windows in which the pair moved traffic
  double mean_kbps_dw = 0;     // mean of the original's rates over those windows
  double mean_kbps_up = 0;
  int64_t first = 0;  // TsEnd of its first and last window
  int64_t last = 0;
};

struct StoredSpan {
  int64_t first = 0;  // TsStart of the oldest stored record, TsEnd of the newest
  int64_t last = 0;
  uint64_t records = 0;
};

class StoreReader {
 public:
  static std::unique_ptr<StoreReader> open(const std::string& path, std::string& error);
  ~StoreReader();
  StoreReader(const StoreReader&) = delete;
  StoreReader& operator=(const StoreReader&) = delete;

  StoredSpan span(std::string& error) const;
  // Pairs with a raw sample ending in (from, to], most bytes first.
  std::vector<StoredApplication> applications(int64_t from, int64_t to, std::string& error) const;

 private:
  explicit StoreReader(sqlite3* db) : db_(db) {}
  sqlite3* db_;
};

}  // namespace nm
