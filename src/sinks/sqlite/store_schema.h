#pragma once
// The store's schema (documented in sqlite_sink.h), shared by the writer and the reader.

#include <sqlite3.h>

#include <optional>
#include <string>
#include <string_view>

namespace nm {

inline constexpr int kStoreSchemaVersion = 2;

inline constexpr const char* kStorePragmas =
    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; "
    "PRAGMA foreign_keys = ON; PRAGMA cache_size = -8192; PRAGMA temp_store = MEMORY;";

// Creates the tables of an empty database, migrates a version-1 one, or checks the version.
bool createStoreSchema(sqlite3* db, std::string& error);

// The kv table's value under (ns, key); nullopt when absent (error untouched) or on failure
// (error set). For the writer's side doors and the reader alike.
std::optional<std::string> readKvValue(sqlite3* db, std::string_view ns, std::string_view key,
                                       std::string& error);

}  // namespace nm
