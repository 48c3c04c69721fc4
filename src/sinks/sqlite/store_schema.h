#pragma once
// The store's schema (documented in sqlite_sink.h), shared by the writer and the reader.

#include <sqlite3.h>

#include <string>

namespace nm {

inline constexpr int kStoreSchemaVersion = 1;

inline constexpr const char* kStorePragmas =
    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;";

// Creates the tables of an empty database, or checks the version of an existing one.
bool createStoreSchema(sqlite3* db, std::string& error);

}  // namespace nm
