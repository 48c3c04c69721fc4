#include "sinks/sqlite/store_reader.h"

#include <algorithm>
#include <charconv>
#include <string_view>

#include "sinks/sqlite/sqlite_db.h"
#include "sinks/sqlite/sqlite_sink.h"
#include "sinks/sqlite/store_schema.h"

namespace nm {
namespace {

constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

int64_t saturatingAdd(int64_t a, int64_t b) {
  int64_t r = 0;
  if (__builtin_add_overflow(a, b, &r)) {
    return b > 0 ? kMax : kMin;
  }
  return r;
}

// "step:keep,step:keep,..." as the sink records it; empty on any malformed part.
std::vector<StoredTier> parseTiers(std::string_view text) {
  std::vector<StoredTier> out;
  while (!text.empty()) {
    const size_t comma = std::min(text.find(','), text.size());
    const std::string_view part = text.substr(0, comma);
    text.remove_prefix(std::min(comma + 1, text.size()));
    const size_t colon = part.find(':');
    StoredTier t;
    t.tier = static_cast<int>(out.size());
    if (colon == std::string_view::npos ||
        std::from_chars(part.data(), part.data() + colon, t.step_s).ec != std::errc() ||
        std::from_chars(part.data() + colon + 1, part.data() + part.size(), t.keep_s).ec !=
            std::errc()) {
      return {};
    }
    out.push_back(t);
  }
  return out;
}

// The one value of a query without parameters, or of `sql` bound to (1: i): nullopt when it
// yields no row or NULL; error set on failure.
std::optional<int64_t> oneInt(sqlite3* db, const char* sql, std::optional<int64_t> param,
                              std::string& error) {
  sqlite::Statement st(db, sql, error);
  if (!st.valid()) {
    return std::nullopt;
  }
  if (param) {
    st.bind(1, *param);
  }
  const int rc = st.step();
  if (rc == SQLITE_ROW && !st.columnIsNull(0)) {
    return st.columnInt(0);
  }
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
    error = sqlite3_errmsg(db);
  }
  return std::nullopt;
}

}  // namespace

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

std::optional<std::string> StoreReader::value(std::string_view ns, std::string_view key,
                                              std::string& error) const {
  return readKvValue(db_, ns, key, error);
}

std::vector<StoredTier> StoreReader::tiers(std::string& error) const {
  std::vector<StoredTier> out;
  {
    sqlite::Statement st(db_, "SELECT value FROM kv WHERE namespace = 'store' AND key = 'tiers'",
                         error);
    if (!st.valid()) {
      return out;
    }
    const int rc = st.step();
    if (rc == SQLITE_ROW) {
      out = parseTiers(st.columnText(0));
    } else if (rc != SQLITE_DONE) {
      error = sqlite3_errmsg(db_);
      return out;
    }
  }
  if (out.empty()) {
    // Written before the sink recorded its tiers: the defaults' steps, keeps unknown.
    for (const StoreTier& d : SqliteStoreOptions().tiers) {
      out.push_back({static_cast<int>(out.size()), d.step_s, 0, kMin, false, 0, 0});
    }
  }
  std::string failed;
  for (StoredTier& t : out) {
    const std::string key = "deleted_before." + std::to_string(t.tier);
    sqlite::Statement cut(
        db_, "SELECT CAST(value AS INTEGER) FROM kv WHERE namespace = 'store' AND key = ?1",
        failed);
    if (cut.valid()) {
      cut.bind(1, std::string_view(key));
      if (cut.step() == SQLITE_ROW) {
        t.deleted_before = cut.columnInt(0);
      }
    }
    // Two statements: SQLite answers one min() or max() from the key, not both at once.
    const auto oldest =
        oneInt(db_, "SELECT ts FROM samples WHERE tier = ?1 ORDER BY ts LIMIT 1", t.tier, failed);
    const auto newest = oneInt(
        db_, "SELECT ts FROM samples WHERE tier = ?1 ORDER BY ts DESC LIMIT 1", t.tier, failed);
    t.has_rows = oldest.has_value() && newest.has_value();
    t.oldest = oldest.value_or(0);
    t.newest = newest.value_or(0);
  }
  if (!failed.empty()) {
    error = failed;
    return {};
  }
  return out;
}

int StoreReader::chooseTier(const StoreQuery& q, size_t max_points, std::string& error) const {
  const std::vector<StoredTier> all = tiers(error);
  if (all.empty()) {
    return -1;
  }
  if (q.tier != kAutoTier) {
    if (q.tier < 0 || static_cast<size_t>(q.tier) >= all.size()) {
      error = "the store has no tier " + std::to_string(q.tier);
      return -1;
    }
    return q.tier;
  }
  // Nothing any tier holds begins before `earliest`: retention cutting a tier below it removed
  // nothing another tier still has, so the tier is whole from there on.
  int64_t earliest = kMax;
  for (const StoredTier& t : all) {
    if (t.has_rows) {
      earliest = std::min(earliest, saturatingAdd(t.oldest, -std::max<int64_t>(t.step_s, 1)));
    }
  }
  const int64_t from = earliest == kMax ? q.from : std::max(q.from, earliest);
  int64_t raw_window = 1;
  if (max_points > 0) {
    raw_window = std::max<int64_t>(
        1, oneInt(db_, "SELECT seconds FROM samples WHERE tier = 0 ORDER BY ts DESC LIMIT 1",
                  std::nullopt, error)
               .value_or(1));
  }
  for (const StoredTier& t : all) {
    if (t.deleted_before > saturatingAdd(from, 1)) {
      continue;  // retention cut into the range
    }
    if (max_points == 0 || !t.has_rows) {
      return t.tier;
    }
    const double step = static_cast<double>(t.step_s > 0 ? t.step_s : raw_window);
    const double lo = std::max(static_cast<double>(from), static_cast<double>(t.oldest) - step);
    const double hi = std::min(static_cast<double>(q.to), static_cast<double>(t.newest));
    if (hi <= lo || (hi - lo) / step <= static_cast<double>(max_points)) {
      return t.tier;
    }
  }
  return all.back().tier;
}

std::vector<StoredDevice> StoreReader::devices(std::string& error) const {
  std::vector<StoredDevice> out;
  const int tier = chooseTier(StoreQuery{}, 0, error);
  if (tier < 0) {
    return out;
  }
  sqlite::Statement st(
      db_,
      "SELECT d.deployment, d.key, d.name, d.first_seen, d.last_seen, coalesce(t.bdw, 0), "
      "coalesce(t.bup, 0) FROM devices d LEFT JOIN (SELECT device_id, sum(bytes_dw) AS bdw, "
      "sum(bytes_up) AS bup FROM samples WHERE tier = ?1 GROUP BY device_id) t "
      "ON t.device_id = d.id ORDER BY coalesce(t.bdw, 0) + coalesce(t.bup, 0) DESC, "
      "d.deployment, d.key",
      error);
  if (!st.valid()) {
    return out;
  }
  st.bind(1, static_cast<int64_t>(tier));
  int rc = 0;
  while ((rc = st.step()) == SQLITE_ROW) {
    StoredDevice d;
    d.deployment = st.columnText(0);
    d.key = st.columnText(1);
    d.name = st.columnText(2);
    d.first_seen = st.columnInt(3);
    d.last_seen = st.columnInt(4);
    d.bytes_dw = static_cast<uint64_t>(st.columnInt(5));
    d.bytes_up = static_cast<uint64_t>(st.columnInt(6));
    out.push_back(std::move(d));
  }
  if (rc != SQLITE_DONE) {
    error = sqlite3_errmsg(db_);
  }
  return out;
}

}  // namespace nm
