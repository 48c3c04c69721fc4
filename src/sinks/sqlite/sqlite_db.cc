#include "sinks/sqlite/sqlite_db.h"

#include <utility>

namespace nm::sqlite {

Statement::Statement(sqlite3* db, std::string_view sql, std::string& error) {
  if (sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                         &stmt_, nullptr) != SQLITE_OK) {
    error = sqlite3_errmsg(db);
    stmt_ = nullptr;
  }
}

Statement::~Statement() {
  sqlite3_finalize(stmt_);
}

Statement::Statement(Statement&& other) noexcept : stmt_(std::exchange(other.stmt_, nullptr)) {}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    stmt_ = std::exchange(other.stmt_, nullptr);
  }
  return *this;
}

Statement& Statement::bind(int i, int64_t v) {
  sqlite3_bind_int64(stmt_, i, v);
  return *this;
}

Statement& Statement::bind(int i, double v) {
  sqlite3_bind_double(stmt_, i, v);
  return *this;
}

Statement& Statement::bind(int i, std::string_view v) {
  sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  return *this;
}

Statement& Statement::bindOrNull(int i, const std::optional<std::string>& v) {
  if (!v) {
    sqlite3_bind_null(stmt_, i);
    return *this;
  }
  return bind(i, std::string_view(*v));
}

int Statement::step() {
  return sqlite3_step(stmt_);
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

int64_t Statement::columnInt(int i) const {
  return sqlite3_column_int64(stmt_, i);
}

double Statement::columnDouble(int i) const {
  return sqlite3_column_double(stmt_, i);
}

std::string Statement::columnText(int i) const {
  const auto* p = sqlite3_column_text(stmt_, i);
  return p != nullptr ? std::string(reinterpret_cast<const char*>(p),
                                    static_cast<size_t>(sqlite3_column_bytes(stmt_, i)))
                      : std::string();
}

bool Statement::columnIsNull(int i) const {
  return sqlite3_column_type(stmt_, i) == SQLITE_NULL;
}

bool exec(sqlite3* db, const char* sql, std::string& error) {
  char* msg = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &msg) != SQLITE_OK) {
    error = msg != nullptr ? msg : sqlite3_errmsg(db);
    sqlite3_free(msg);
    return false;
  }
  return true;
}

}  // namespace nm::sqlite
