#pragma once
// Small RAII wrappers over the sqlite3 C API, private to this folder.

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace nm::sqlite {

class Statement {
 public:
  Statement() = default;
  Statement(sqlite3* db, std::string_view sql, std::string& error);
  ~Statement();
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  bool valid() const { return stmt_ != nullptr; }
  Statement& bind(int i, int64_t v);
  Statement& bind(int i, double v);
  Statement& bind(int i, std::string_view v);
  // NULL when absent.
  Statement& bindOrNull(int i, const std::optional<std::string>& v);
  // SQLITE_ROW, SQLITE_DONE or an error code.
  int step();
  void reset();
  int64_t columnInt(int i) const;
  double columnDouble(int i) const;
  std::string columnText(int i) const;
  bool columnIsNull(int i) const;

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

// Runs `sql` (one or more statements, no results). false with `error`.
bool exec(sqlite3* db, const char* sql, std::string& error);

}  // namespace nm::sqlite
