// A thin RAII layer over sqlite3: connections, cached prepared statements, transactions.
// Only meta/sqlite/ includes sqlite3.h.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "util/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace arca::sqlite {

class Connection;

// A prepared statement owned by its connection's cache; Reset on destruction.
class Stmt {
 public:
  explicit Stmt(sqlite3_stmt* s) : s_(s) {}
  ~Stmt();
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& Bind(int i, std::string_view v);
  Stmt& BindBlob(int i, std::string_view v);
  Stmt& Bind(int i, int64_t v);
  Stmt& BindNull(int i);
  // Steps once: true with a row, false when done; errors go to status().
  bool Step();
  Status status() const { return status_; }
  int64_t Int(int col) const;
  std::string Text(int col) const;
  bool IsNull(int col) const;
  // Runs to completion and resets, so the statement can be bound and run again; the error.
  Status Exec();

 private:
  sqlite3_stmt* s_;
  Status status_;
};

class Connection {
 public:
  // create: make the database file when it is missing (otherwise that is an error).
  static Result<std::unique_ptr<Connection>> Open(const std::string& path, bool create = true);
  ~Connection();
  // Statements are prepared once and cached by the address of their SQL: pass string
  // literals only.
  Result<std::unique_ptr<Stmt>> Prepare(const char* sql);
  // Runs a one-off query (not cached); true when it returns a row.
  Result<bool> HasRow(const std::string& sql);
  Status Exec(const std::string& sql);  // one or more statements, no results
  int64_t LastInsertId() const;
  int Changes() const;
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

// Prepares (or takes from the cache) sql on conn as Stmt& var, returning the Status on failure.
#define ARCA_PREPARE(var, conn, sql)          \
  auto var##_r = (conn).Prepare(sql);         \
  if (!var##_r.ok()) return var##_r.status(); \
  ::arca::sqlite::Stmt& var = **var##_r;

namespace arca::sqlite {

}  // namespace arca::sqlite
