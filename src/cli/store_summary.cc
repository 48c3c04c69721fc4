#include "cli/store_summary.h"

#include <fmt/format.h>

#include "sinks/sqlite/store_reader.h"

namespace nm::cli {

bool printStoreSummary(const std::string& db_path, FILE* out, size_t top_n, std::string& error) {
  std::unique_ptr<StoreReader> reader = StoreReader::open(db_path, error);
  if (!reader) {
    return false;
  }
  const StoredSpan span = reader->span(error);
  const auto apps = reader->applications(std::numeric_limits<int64_t>::min(), span.last, error);
  if (!error.empty()) {
    return false;
  }
  fmt::print(out, "\nSQLite store {}: {} records, {} device x application pairs\n", db_path,
             span.records, apps.size());
  fmt::print(out, "  {:<32} {:<24} {:>10} {:>10} {:>9} {:>9}\n", "device", "application", "MB down",
             "MB up", "kbps dw", "kbps up");
  for (size_t i = 0; i < apps.size() && i < top_n; ++i) {
    const StoredApplication& a = apps[i];
    fmt::print(out, "  {:<32} {:<24} {:>10.3f} {:>10.3f} {:>9.1f} {:>9.1f}\n", a.device_name,
               a.application, static_cast<double>(a.bytes_dw) / 1e6,
               static_cast<double>(a.bytes_up) / 1e6, a.mean_kbps_dw, a.mean_kbps_up);
  }
  if (apps.size() > top_n) {
    fmt::print(out, "  ... {} more (sqlite3 {} 'SELECT ...')\n", apps.size() - top_n, db_path);
  }
  return true;
}

}  // namespace nm::cli
