#pragma once
// The store's schema (documented in sqlite_sink.h), shared by the writer and the reader.

#include <sqlite3.h>

#include <string>

namespace nm {

inline constexpr int kStoreSchemaVersion = 2;

inline constexpr const char* kStorePragmas =
    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; "
    "PRAGMA foreign_keys = ON; PRAGMA cache_size = -8192; PRAGMA temp_store = MEMORY;";

// Creates the tables of an empty database, migrates a version-1 one, or checks the version.
bool createStoreSchema(sqlite3* db, std::string& error);

}  // namespace nm
