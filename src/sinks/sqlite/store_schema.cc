#include "sinks/sqlite/store_schema.h"

#include "sinks/sqlite/sqlite_db.h"

namespace nm {

bool createStoreSchema(sqlite3* db, std::string& error) {
  std::string ignored;
  sqlite::Statement version(db, "PRAGMA user_version", error);
  if (!version.valid() || version.step() != SQLITE_ROW) {
    error = "cannot read schema version: " + error;
    return false;
  }
  const int64_t v = version.columnInt(0);
  version.reset();
  if (v == kStoreSchemaVersion) {
    return true;
  }
  if (v == 1) {
    // Version 1 keyed samples (tier, device, application, ts): every commit dirtied pages all
    // over the table and rollups scanned whole tiers. Same columns, time-ordered key.
    static constexpr const char* kFromV1 = R"sql(
BEGIN IMMEDIATE;
CREATE TABLE samples_v2(
  tier INTEGER NOT NULL, ts INTEGER NOT NULL,
  device_id INTEGER NOT NULL REFERENCES devices(id),
  application_id INTEGER NOT NULL REFERENCES applications(id),
  seconds INTEGER NOT NULL, kbps_dw REAL NOT NULL, kbps_up REAL NOT NULL,
  bytes_dw INTEGER NOT NULL, bytes_up INTEGER NOT NULL, pkts_dw INTEGER NOT NULL,
  pkts_up INTEGER NOT NULL, flows INTEGER NOT NULL,
  PRIMARY KEY(tier, ts, device_id, application_id)) WITHOUT ROWID;
INSERT INTO samples_v2 SELECT tier, ts, device_id, application_id, seconds, kbps_dw, kbps_up,
  bytes_dw, bytes_up, pkts_dw, pkts_up, flows FROM samples;
DROP TABLE samples;
ALTER TABLE samples_v2 RENAME TO samples;
PRAGMA user_version = 2;
COMMIT;
)sql";
    if (!sqlite::exec(db, kFromV1, error)) {
      sqlite::exec(db, "ROLLBACK", ignored);
      error = "migrating the store from version 1: " + error;
      return false;
    }
    return true;
  }
  if (v != 0) {
    error = "store schema version " + std::to_string(v) + " is newer than this program's (" +
            std::to_string(kStoreSchemaVersion) + ")";
    return false;
  }
  static constexpr const char* kSchema = R"sql(
BEGIN IMMEDIATE;
CREATE TABLE IF NOT EXISTS devices(
  id INTEGER PRIMARY KEY, deployment TEXT NOT NULL, key TEXT NOT NULL, name TEXT NOT NULL,
  first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL, UNIQUE(deployment, key));
CREATE TABLE IF NOT EXISTS applications(
  id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,
  first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS samples(
  tier INTEGER NOT NULL, ts INTEGER NOT NULL,
  device_id INTEGER NOT NULL REFERENCES devices(id),
  application_id INTEGER NOT NULL REFERENCES applications(id),
  seconds INTEGER NOT NULL, kbps_dw REAL NOT NULL, kbps_up REAL NOT NULL,
  bytes_dw INTEGER NOT NULL, bytes_up INTEGER NOT NULL, pkts_dw INTEGER NOT NULL,
  pkts_up INTEGER NOT NULL, flows INTEGER NOT NULL,
  PRIMARY KEY(tier, ts, device_id, application_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS records(
  deployment TEXT NOT NULL, ts_start INTEGER NOT NULL, ts_end INTEGER NOT NULL,
  entries INTEGER NOT NULL, PRIMARY KEY(deployment, ts_end)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS points(
  measurement TEXT NOT NULL, tags TEXT NOT NULL, fields TEXT NOT NULL, ts INTEGER NOT NULL,
  PRIMARY KEY(measurement, tags, ts)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS kv(
  namespace TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, updated INTEGER NOT NULL,
  PRIMARY KEY(namespace, key)) WITHOUT ROWID;
PRAGMA user_version = 2;
COMMIT;
)sql";
  if (!sqlite::exec(db, kSchema, error)) {
    sqlite::exec(db, "ROLLBACK", ignored);
    return false;
  }
  return true;
}

std::optional<std::string> readKvValue(sqlite3* db, std::string_view ns, std::string_view key,
                                       std::string& error) {
  sqlite::Statement st(db, "SELECT value FROM kv WHERE namespace = ?1 AND key = ?2", error);
  if (!st.valid()) {
    return std::nullopt;
  }
  st.bind(1, ns).bind(2, key);
  const int rc = st.step();
  if (rc == SQLITE_ROW) {
    return st.columnText(0);
  }
  if (rc != SQLITE_DONE) {
    error = sqlite3_errmsg(db);
  }
  return std::nullopt;
}

}  // namespace nm
