// A thin RAII layer over sqlite3: connections, cached prepared statements, transactions.
// Only meta/sqlite/ includes sqlite3.h.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "meta/sql/sql_conn.h"
#include "util/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace arca::sqlite {

class Connection;

// A prepared statement owned by its connection's cache; Reset on destruction.
class Stmt final : public sql::Stmt {
 public:
  explicit Stmt(sqlite3_stmt* s) : s_(s) {}
  ~Stmt() override;
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& Bind(int i, std::string_view v) override;
  Stmt& BindBlob(int i, std::string_view v) override;
  Stmt& Bind(int i, int64_t v) override;
  Stmt& BindNull(int i) override;
  bool Step() override;
  Status status() const override { return status_; }
  int64_t Int(int col) const override;
  std::string Text(int col) const override;
  bool IsNull(int col) const override;
  Status Exec() override;

 private:
  sqlite3_stmt* s_;
  Status status_;
};

class Connection final : public sql::Connection {
 public:
  // create: make the database file when it is missing (otherwise that is an error).
  static Result<std::unique_ptr<Connection>> Open(const std::string& path, bool create = true);
  ~Connection() override;
  Result<std::unique_ptr<sql::Stmt>> Prepare(const char* sql) override;
  Result<bool> HasRow(const std::string& sql) override;
  Status Exec(const std::string& sql) override;
  int Changes() const override;
  int64_t LastInsertId() const;
  // False once SQLite has ended the transaction on its own (it rolls back the whole of it on
  // errors such as a full disk or an I/O error).
  bool InTransaction() const;
  // True when the file at the path it was opened by is no longer the file it has open
  // (unlinked, or replaced by a rename). One stat(2).
  bool FileMoved() const;

 private:
  explicit Connection(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  std::map<const char*, sqlite3_stmt*> cache_;
};

Status Error(sqlite3* db, const std::string& what);

}  // namespace arca::sqlite
