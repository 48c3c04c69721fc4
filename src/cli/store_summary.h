#pragma once
// What `run --summary` prints: the store's view of the run, per device and application.

#include <cstdio>
#include <string>

namespace nm::cli {

// false with `error` when the store cannot be read.
bool printStoreSummary(const std::string& db_path, FILE* out, size_t top_n, std::string& error);

}  // namespace nm::cli
