// StoreReader's range queries: applications, series and totals over one tier.

#include <string_view>

#include "sinks/sqlite/sqlite_db.h"
#include "sinks/sqlite/store_reader.h"

namespace nm {
namespace {

// The rows of a StoreQuery: ?1 tier, ?2 from, ?3 to, ?4 deployment, ?5 device, ?6 application
// (NULL: any). The (tier, ts) range is a range of the primary key.
constexpr std::string_view kWhere =
    " WHERE s.tier = ?1 AND s.ts > ?2 AND s.ts <= ?3"
    " AND ((?4 IS NULL AND ?5 IS NULL) OR s.device_id IN (SELECT id FROM devices"
    " WHERE (?4 IS NULL OR deployment = ?4) AND (?5 IS NULL OR key = ?5)))"
    " AND (?6 IS NULL OR s.application_id IN (SELECT id FROM applications WHERE name = ?6))";

void bindQuery(sqlite::Statement& st, const StoreQuery& q, int tier) {
  st.bind(1, static_cast<int64_t>(tier))
      .bind(2, q.from)
      .bind(3, q.to)
      .bindOrNull(4, q.deployment)
      .bindOrNull(5, q.device)
      .bindOrNull(6, q.application);
}

// The step of `tier` (0 for raw), or -1 with `error`.
int64_t stepOf(const StoreReader& reader, int tier, std::string& error) {
  const std::vector<StoredTier> all = reader.tiers(error);
  if (tier < 0 || static_cast<size_t>(tier) >= all.size()) {
    return -1;
  }
  return all[static_cast<size_t>(tier)].step_s;
}

}  // namespace

std::vector<StoredApplication> StoreReader::applications(int64_t from, int64_t to,
                                                         std::string& error) const {
  StoreQuery q;
  q.from = from;
  q.to = to;
  q.tier = 0;
  return applications(q, error);
}

std::vector<StoredApplication> StoreReader::applications(const StoreQuery& q,
                                                         std::string& error) const {
  std::vector<StoredApplication> out;
  const int tier = chooseTier(q, 0, error);
  const int64_t step = tier < 0 ? -1 : stepOf(*this, tier, error);
  if (step < 0) {
    return out;
  }
  // A raw row's rate holds for its window (`seconds`); a rollup's is the mean over its whole
  // bucket (`step`), so both weights give back the traffic-weighted mean over active seconds.
  const std::string sql =
      "SELECT d.deployment, d.key, d.name, a.name, sum(s.bytes_dw), sum(s.bytes_up), "
      "sum(s.pkts_dw), sum(s.pkts_up), sum(s.flows), sum(s.seconds), "
      "sum(s.kbps_dw * iif(?7 = 0, s.seconds, ?7)) / max(sum(s.seconds), 1), "
      "sum(s.kbps_up * iif(?7 = 0, s.seconds, ?7)) / max(sum(s.seconds), 1), min(s.ts), "
      "max(s.ts) FROM samples s JOIN devices d ON d.id = s.device_id "
      "JOIN applications a ON a.id = s.application_id" +
      std::string(kWhere) +
      " GROUP BY s.device_id, s.application_id "
      "ORDER BY sum(s.bytes_dw) + sum(s.bytes_up) DESC, d.deployment, d.key, a.name";
  sqlite::Statement st(db_, sql, error);
  if (!st.valid()) {
    return out;
  }
  bindQuery(st, q, tier);
  st.bind(7, step);
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
    a.flows = static_cast<uint64_t>(st.columnInt(8));
    a.active_seconds = st.columnInt(9);
    a.mean_kbps_dw = st.columnDouble(10);
    a.mean_kbps_up = st.columnDouble(11);
    a.first = st.columnInt(12);
    a.last = st.columnInt(13);
    out.push_back(std::move(a));
  }
  if (rc != SQLITE_DONE) {
    error = sqlite3_errmsg(db_);
  }
  return out;
}

StoredSeries StoreReader::series(const StoreQuery& q, size_t max_points, std::string& error) const {
  StoredSeries out;
  const int tier = chooseTier(q, max_points, error);
  const int64_t step = tier < 0 ? -1 : stepOf(*this, tier, error);
  if (step < 0) {
    return out;
  }
  out.tier = tier;
  out.step_s = step;
  const std::string sql =
      "SELECT s.ts, max(s.seconds), sum(s.kbps_dw), sum(s.kbps_up), sum(s.bytes_dw), "
      "sum(s.bytes_up), sum(s.pkts_dw), sum(s.pkts_up), sum(s.flows) FROM samples s" +
      std::string(kWhere) + " GROUP BY s.ts ORDER BY s.ts";
  sqlite::Statement st(db_, sql, error);
  if (!st.valid()) {
    return out;
  }
  bindQuery(st, q, tier);
  int rc = 0;
  while ((rc = st.step()) == SQLITE_ROW) {
    SeriesPoint p;
    p.ts = st.columnInt(0);
    p.seconds = st.columnInt(1);
    p.kbps_dw = st.columnDouble(2);
    p.kbps_up = st.columnDouble(3);
    p.bytes_dw = static_cast<uint64_t>(st.columnInt(4));
    p.bytes_up = static_cast<uint64_t>(st.columnInt(5));
    p.pkts_dw = static_cast<uint64_t>(st.columnInt(6));
    p.pkts_up = static_cast<uint64_t>(st.columnInt(7));
    p.flows = static_cast<uint64_t>(st.columnInt(8));
    out.points.push_back(p);
  }
  if (rc != SQLITE_DONE) {
    error = sqlite3_errmsg(db_);
  }
  return out;
}

StoredTotals StoreReader::totals(const StoreQuery& q, std::string& error) const {
  StoredTotals out;
  const int tier = chooseTier(q, 0, error);
  if (tier < 0) {
    return out;
  }
  out.tier = tier;
  const std::string sql =
      "SELECT coalesce(sum(s.bytes_dw), 0), coalesce(sum(s.bytes_up), 0), "
      "coalesce(sum(s.pkts_dw), 0), coalesce(sum(s.pkts_up), 0), coalesce(sum(s.flows), 0), "
      "count(DISTINCT s.device_id), count(DISTINCT s.application_id), coalesce(min(s.ts), 0), "
      "coalesce(max(s.ts), 0) FROM samples s" +
      std::string(kWhere);
  sqlite::Statement st(db_, sql, error);
  if (!st.valid()) {
    return out;
  }
  bindQuery(st, q, tier);
  if (st.step() != SQLITE_ROW) {
    error = sqlite3_errmsg(db_);
    return out;
  }
  out.bytes_dw = static_cast<uint64_t>(st.columnInt(0));
  out.bytes_up = static_cast<uint64_t>(st.columnInt(1));
  out.pkts_dw = static_cast<uint64_t>(st.columnInt(2));
  out.pkts_up = static_cast<uint64_t>(st.columnInt(3));
  out.flows = static_cast<uint64_t>(st.columnInt(4));
  out.devices = static_cast<uint64_t>(st.columnInt(5));
  out.applications = static_cast<uint64_t>(st.columnInt(6));
  out.first = st.columnInt(7);
  out.last = st.columnInt(8);
  return out;
}

}  // namespace nm
