#include "sinks/sqlite/store_state.h"

#include <cstdint>
#include <functional>

#include "sinks/sqlite/sqlite_db.h"
#include "sinks/sqlite/store_schema.h"

namespace nm {
namespace {

bool runOnce(sqlite3* db, std::string_view sql, std::string& error,
             const std::function<void(sqlite::Statement&)>& bind) {
  sqlite::Statement st(db, sql, error);
  if (!st.valid()) {
    return false;
  }
  bind(st);
  const int rc = st.step();
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
    error = sqlite3_errmsg(db);
    return false;
  }
  return true;
}

}  // namespace

std::unique_ptr<StoreState> StoreState::open(const std::string& path, int busy_timeout_ms,
                                             std::string& error) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    error = db != nullptr ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close_v2(db);
    return nullptr;
  }
  std::unique_ptr<StoreState> state(new StoreState(db));
  sqlite3_busy_timeout(db, busy_timeout_ms);
  if (!sqlite::exec(db, kStorePragmas, error) || !createStoreSchema(db, error)) {
    return nullptr;
  }
  return state;
}

StoreState::~StoreState() {
  sqlite3_close_v2(db_);
}

bool StoreState::put(std::string_view ns, std::string_view key, std::string_view value,
                     int64_t updated, std::string& error) {
  if (ns == "store") {
    error = "the kv namespace 'store' belongs to the SQLite sink";
    return false;
  }
  return runOnce(
      db_, "INSERT OR REPLACE INTO kv(namespace, key, value, updated) VALUES(?1, ?2, ?3, ?4)",
      error,
      [&](sqlite::Statement& st) { st.bind(1, ns).bind(2, key).bind(3, value).bind(4, updated); });
}

std::optional<std::string> StoreState::get(std::string_view ns, std::string_view key,
                                           std::string& error) const {
  return readKvValue(db_, ns, key, error);
}

bool StoreState::erase(std::string_view ns, std::string_view key, std::string& error) {
  if (ns == "store") {
    error = "the kv namespace 'store' belongs to the SQLite sink";
    return false;
  }
  return runOnce(db_, "DELETE FROM kv WHERE namespace = ?1 AND key = ?2", error,
                 [&](sqlite::Statement& st) { st.bind(1, ns).bind(2, key); });
}

bool StoreState::scan(std::string_view ns, std::string_view prefix,
                      const std::function<bool(std::string_view, std::string_view)>& fn,
                      std::string& error) const {
  // substr() rather than LIKE: keys may hold '%' and '_'; the primary key orders the rows.
  sqlite::Statement st(db_,
                       "SELECT key, value FROM kv WHERE namespace = ?1 AND "
                       "substr(key, 1, length(?2)) = ?2 ORDER BY key",
                       error);
  if (!st.valid()) {
    return false;
  }
  st.bind(1, ns).bind(2, prefix);
  int rc;
  while ((rc = st.step()) == SQLITE_ROW) {
    if (!fn(st.columnText(0), st.columnText(1))) {
      return true;
    }
  }
  if (rc != SQLITE_DONE) {
    error = sqlite3_errmsg(db_);
    return false;
  }
  return true;
}

bool StoreState::setDeviceName(std::string_view deployment, std::string_view key,
                               std::string_view name, std::string& error) {
  return runOnce(db_,
                 "INSERT INTO devices(deployment, key, name, first_seen, last_seen) "
                 "VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(deployment, key) DO UPDATE SET "
                 "name = excluded.name",
                 error, [&](sqlite::Statement& st) {
                   st.bind(1, deployment)
                       .bind(2, key)
                       .bind(3, name)
                       .bind(4, int64_t{INT64_MAX})
                       .bind(5, int64_t{INT64_MIN});
                 });
}

}  // namespace nm
