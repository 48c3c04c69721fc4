#include "sinks/sqlite/store_reader.h"

#include "sinks/sqlite/sqlite_db.h"

namespace nm {

std::unique_ptr<StoreReader> StoreReader::open(const std::string& path, std::string& error) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr) !=
      SQLITE_OK) {
    error = db != nullptr ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close_v2(db);
    return nullptr;
  }
  sqlite3_busy_timeout(db, 5000);
  return std::unique_ptr<StoreReader>(new StoreReader(db));
}

StoreReader::~StoreReader() {
  sqlite3_close_v2(db_);
}

StoredSpan StoreReader::span(std::string& error) const {
  sqlite::Statement st(db_, "SELECT min(ts_start), max(ts_end), count(*) FROM records", error);
  StoredSpan s;
  if (!st.valid()) {
    return s;
  }
  if (st.step() != SQLITE_ROW) {
    error = sqlite3_errmsg(db_);
    return s;
  }
  s.first = st.columnInt(0);
  s.last = st.columnInt(1);
  s.records = static_cast<uint64_t>(st.columnInt(2));
  return s;
}

std::vector<StoredApplication> StoreReader::applications(int64_t from, int64_t to,
                                                         std::string& error) const {
  std::vector<StoredApplication> out;
  sqlite::Statement st(
      db_,
      "SELECT d.deployment, d.key, d.name, a.name, sum(s.bytes_dw), sum(s.bytes_up), "
      "sum(s.pkts_dw), sum(s.pkts_up), sum(s.seconds), "
      "sum(s.kbps_dw * s.seconds) / max(sum(s.seconds), 1), "
      "sum(s.kbps_up * s.seconds) / max(sum(s.seconds), 1), min(s.ts), max(s.ts) "
      "FROM samples s JOIN devices d ON d.id = s.device_id "
      "JOIN applications a ON a.id = s.application_id "
      "WHERE s.tier = 0 AND s.ts > ?1 AND s.ts <= ?2 GROUP BY s.device_id, s.application_id "
      "ORDER BY sum(s.bytes_dw) + sum(s.bytes_up) DESC, d.key, a.name",
      error);
  if (!st.valid()) {
    return out;
  }
  st.bind(1, from).bind(2, to);
  int rc = 0;
  while ((rc = st.step()) == SQLITE_ROW) {
    StoredApplication a;
    a.deployment = st.columnText(0);
    a.device = st.columnText(1);
    a.device_name = st.columnText(2);
    a.application = st.columnText(3);
    a.bytes_dw = static_cast<uint64_t>(st.columnInt(4));
    a.bytes_up = static_cast<uint64_t>(st.columnInt(5));
    a.pkts_dw = static_cast<uint64_t>(st.columnInt(6));
    a.pkts_up = static_cast<uint64_t>(st.columnInt(7));
    a.active_seconds = st.columnInt(8);
    a.mean_kbps_dw = st.columnDouble(9);
    a.mean_kbps_up = st.columnDouble(10);
    a.first = st.columnInt(11);
    a.last = st.columnInt(12);
    out.push_back(std::move(a));
  }
  if (rc != SQLITE_DONE) {
    error = sqlite3_errmsg(db_);
  }
  return out;
}

}  // namespace nm
