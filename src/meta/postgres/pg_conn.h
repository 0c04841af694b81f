// The PostgreSQL shim of meta/sql/sql_conn.h, on libpq. Only meta/postgres/ includes
// libpq-fe.h.
//
// Statements are prepared on the server once per connection (PQprepare) and run with
// PQexecPrepared; their `?`/`?N` parameters are rewritten to `$N`. Integers are sent typed
// (int8), blobs as binary bytea, text untyped (the server infers the type from the statement,
// as it does for a quoted literal). Results come back as text; bytea columns are decoded and
// booleans read as 0 or 1. A result is held whole by the client: statements are paginated.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "meta/sql/sql_conn.h"

struct pg_conn;

namespace arca::pg {

class Stmt;

// `?` and `?N` outside quoted strings and identifiers become `$N` (a bare `?` takes the
// number after the highest one seen so far, as SQLite numbers them). params gets the highest.
// Comments, $$-quoting, E'' escapes and PostgreSQL's `?` operators are not understood: the
// shared SQL uses none of them, and must not.
std::string ToDollarParams(std::string_view sql, int* params = nullptr);

// SQLSTATE classes the store retries a whole transaction on.
bool IsRetryable(const std::string& sqlstate);  // serialization failure, deadlock
// Connection trouble (class 08) or a server going away (57P01-57P03).
bool IsConnectionLost(const std::string& sqlstate);

class Connection final : public sql::Connection {
 public:
  // conninfo: a libpq connection string or postgres:// URI.
  static Result<std::unique_ptr<Connection>> Open(const std::string& conninfo);
  ~Connection() override;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  Result<std::unique_ptr<sql::Stmt>> Prepare(const char* sql) override;
  Result<bool> HasRow(const std::string& sql) override;
  Status Exec(const std::string& sql) override;
  int Changes() const override { return changes_; }

  // The SQLSTATE of the last statement that failed ("" when the last one succeeded).
  const std::string& last_sqlstate() const { return last_sqlstate_; }
  // The SQLSTATE of the first statement that failed since ClearFirstFailure: what aborted a
  // transaction, even when the caller went on (every later statement then fails with 25P02).
  const std::string& first_sqlstate() const { return first_sqlstate_; }
  void ClearFirstFailure() { first_sqlstate_.clear(); }
  // False once the connection to the server is gone; the pool then drops it.
  bool Healthy() const;
  // Healthy, after reading whatever the server sent while the connection sat idle: a server
  // that restarted or ended the session has closed it, which this notices without a round
  // trip. For connections about to be lent.
  bool StillOpen();
  // Turns a failed result (or a lost connection) into a Status, remembering its SQLSTATE.
  Status Failure(const std::string& what, const void* result);
  pg_conn* raw() { return conn_; }

 private:
  friend class Stmt;
  explicit Connection(pg_conn* c) : conn_(c) {}
  struct Prepared {
    std::string sql;  // in $N form
    int params = 0;
    std::map<std::string, std::string> names;  // parameter type signature -> server name
  };
  Prepared& Lookup(const char* sql);

  pg_conn* conn_;
  std::map<const char*, Prepared> cache_;
  int next_name_ = 0;
  int changes_ = 0;
  std::string last_sqlstate_;
  std::string first_sqlstate_;
};

}  // namespace arca::pg
