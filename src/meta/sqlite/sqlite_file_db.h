// A small SQLite database in a file of its own, as a sql::Database: one connection (WAL, fsync'd
// commits) lent to one caller at a time. For stores that change rarely or are written in
// batches by one thread: the accounts (auth.db) and the audit stream (audit.db), whose SQL is
// shared with PostgreSQL (meta/sql/sql_account_store.h, sql_audit_store.h).
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>

#include "auth/account_store.h"
#include "auth/audit.h"
#include "meta/sql/sql_database.h"

namespace arca {

class SqliteFileDatabase final : public sql::Database {
 public:
  // Opens (creating when missing) the file and runs schema, statements that create what is
  // missing (IF NOT EXISTS) and leave what exists alone.
  static Result<std::unique_ptr<SqliteFileDatabase>> Open(const std::string& path,
                                                          const char* schema);
  ~SqliteFileDatabase() override;
  Result<sql::Lease> AcquireReader() override;
  Status WriteTransaction(const std::function<Status(sql::Connection&)>& fn) override;
  Status ReadSnapshot(const std::function<Status(sql::Connection&)>& fn) override;

 private:
  explicit SqliteFileDatabase(std::unique_ptr<sql::Connection> c) : conn_(std::move(c)) {}
  std::unique_ptr<sql::Connection> Take();
  void Give(std::unique_ptr<sql::Connection> c);
  Status Transaction(const char* begin, const std::function<Status(sql::Connection&)>& fn);

  std::mutex mu_;
  std::condition_variable cv_;
  std::unique_ptr<sql::Connection> conn_;  // GUARDED_BY(mu_); null while lent
};

// <root>/auth.db and <root>/audit.db: the accounts and the audit stream on SQLite.
Result<std::unique_ptr<auth::AccountStore>> OpenSqliteAccountStore(const std::string& path);
Result<std::unique_ptr<auth::AuditStore>> OpenSqliteAuditStore(const std::string& path);

}  // namespace arca
