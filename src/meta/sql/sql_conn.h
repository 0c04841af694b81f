// The small connection interface the shared SQL layer (meta/sql) is written against. Each
// database has a shim that implements it: meta/sqlite on sqlite3, meta/postgres on libpq.
//
// SQL text handed to Prepare is the common dialect of SQLite 3.40 and PostgreSQL 15:
// parameters as `?` or `?N` (the PostgreSQL shim rewrites them to `$N`), RETURNING instead of
// last-insert ids, ON CONFLICT(...) DO ... instead of INSERT OR ..., CASE instead of the
// two-argument max/min, and no functions only one of them has. A boolean expression selected
// as a column reads as 0 or 1 through Int().
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "util/status.h"

namespace arca::sql {

// A prepared statement, owned by its connection's cache; reset when the handle is destroyed.
class Stmt {
 public:
  virtual ~Stmt() = default;
  virtual Stmt& Bind(int i, std::string_view v) = 0;
  virtual Stmt& BindBlob(int i, std::string_view v) = 0;
  virtual Stmt& Bind(int i, int64_t v) = 0;
  virtual Stmt& BindNull(int i) = 0;
  // Steps once: true with a row, false when done; errors go to status().
  virtual bool Step() = 0;
  virtual Status status() const = 0;
  virtual int64_t Int(int col) const = 0;
  virtual std::string Text(int col) const = 0;
  virtual bool IsNull(int col) const = 0;
  // Runs to completion and resets, so the statement can be bound and run again; the error.
  virtual Status Exec() = 0;
};

class Connection {
 public:
  virtual ~Connection() = default;
  // Statements are prepared once and cached by the address of their SQL: pass string
  // literals only.
  virtual Result<std::unique_ptr<Stmt>> Prepare(const char* sql) = 0;
  // Runs a one-off query (not cached); true when it returns a row.
  virtual Result<bool> HasRow(const std::string& sql) = 0;
  virtual Status Exec(const std::string& sql) = 0;  // one or more statements, no results
  // Rows changed by the last INSERT, UPDATE or DELETE run to completion with Exec.
  virtual int Changes() const = 0;
};

// A connection lent by a pool; it goes back to the pool when the lease ends.
class Lease {
 public:
  using Release = std::function<void(std::unique_ptr<Connection>)>;
  Lease(std::unique_ptr<Connection> c, Release release)
      : c_(std::move(c)), release_(std::move(release)) {}
  Lease(Lease&& o) noexcept = default;
  Lease& operator=(Lease&&) = delete;
  ~Lease() {
    if (c_ && release_) release_(std::move(c_));
  }
  Connection& operator*() { return *c_; }
  Connection* operator->() { return c_.get(); }

 private:
  std::unique_ptr<Connection> c_;
  Release release_;
};

}  // namespace arca::sql

// Prepares (or takes from the cache) sql on conn as Stmt& var, returning the Status on failure.
#define ARCA_PREPARE(var, conn, text)         \
  auto var##_r = (conn).Prepare(text);        \
  if (!var##_r.ok()) return var##_r.status(); \
  ::arca::sql::Stmt& var = **var##_r;
