#include "meta/sqlite/sqlite_file_db.h"

#include "meta/sql/sql_account_store.h"
#include "meta/sql/sql_audit_store.h"
#include "meta/sqlite/sqlite_db.h"

namespace arca {

namespace {

// The tables of meta/sql/sql_account_store.h; PostgreSQL's are pg_schema.h kAccounts.
constexpr const char* kAccountsSchema = R"(
CREATE TABLE IF NOT EXISTS accounts (
  name TEXT PRIMARY KEY, kind TEXT NOT NULL, secret_hash TEXT NOT NULL,
  disabled INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL DEFAULT 0, description TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS personal_tokens (
  id TEXT PRIMARY KEY, account TEXT NOT NULL REFERENCES accounts(name) ON DELETE CASCADE,
  description TEXT NOT NULL, secret_digest TEXT NOT NULL, created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS memberships (
  group_name TEXT NOT NULL, member TEXT NOT NULL REFERENCES accounts(name) ON DELETE CASCADE,
  PRIMARY KEY (group_name, member));
CREATE TABLE IF NOT EXISTS grants (
  id INTEGER PRIMARY KEY, subject TEXT NOT NULL, repositories TEXT NOT NULL,
  permission TEXT NOT NULL, created_at INTEGER NOT NULL,
  UNIQUE (subject, repositories, permission));
CREATE TABLE IF NOT EXISTS auth_changes (
  id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL);
INSERT INTO auth_changes (id, version) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;
CREATE TABLE IF NOT EXISTS auth_imports (source TEXT PRIMARY KEY, imported_at INTEGER NOT NULL);
)";

// The table of meta/sql/sql_audit_store.h; PostgreSQL's is pg_schema.h kAccounts.
constexpr const char* kAuditSchema = R"(
CREATE TABLE IF NOT EXISTS audit (
  id INTEGER PRIMARY KEY AUTOINCREMENT, time INTEGER NOT NULL, principal TEXT NOT NULL,
  action TEXT NOT NULL, repository TEXT NOT NULL, target TEXT NOT NULL, status INTEGER NOT NULL,
  remote TEXT NOT NULL, request_id TEXT NOT NULL, detail TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS audit_by_time ON audit(time);
CREATE INDEX IF NOT EXISTS audit_by_principal ON audit(principal, id);
CREATE INDEX IF NOT EXISTS audit_by_repository ON audit(repository, id);
)";

}  // namespace

Result<std::unique_ptr<SqliteFileDatabase>> SqliteFileDatabase::Open(const std::string& path,
                                                                     const char* schema) {
  auto c = sqlite::Connection::Open(path, true);
  if (!c.ok()) return c.status();
  ARCA_RETURN_IF_ERROR((*c)->Exec(schema));
  return std::unique_ptr<SqliteFileDatabase>(new SqliteFileDatabase(std::move(*c)));
}

SqliteFileDatabase::~SqliteFileDatabase() = default;

std::unique_ptr<sql::Connection> SqliteFileDatabase::Take() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return conn_ != nullptr; });
  return std::move(conn_);
}

void SqliteFileDatabase::Give(std::unique_ptr<sql::Connection> c) {
  {
    std::lock_guard lock(mu_);
    conn_ = std::move(c);
  }
  cv_.notify_one();
}

Result<sql::Lease> SqliteFileDatabase::AcquireReader() {
  return sql::Lease(Take(), [this](std::unique_ptr<sql::Connection> c) { Give(std::move(c)); });
}

Status SqliteFileDatabase::Transaction(const char* begin,
                                       const std::function<Status(sql::Connection&)>& fn) {
  sql::Lease lease(Take(), [this](std::unique_ptr<sql::Connection> c) { Give(std::move(c)); });
  auto& c = static_cast<sqlite::Connection&>(*lease);
  ARCA_RETURN_IF_ERROR(c.Exec(begin));
  Status s = fn(c);
  if (s.ok()) s = c.Exec("COMMIT");
  if (!s.ok() && c.InTransaction()) (void)c.Exec("ROLLBACK");
  return s;
}

Status SqliteFileDatabase::WriteTransaction(const std::function<Status(sql::Connection&)>& fn) {
  return Transaction("BEGIN IMMEDIATE", fn);
}

Status SqliteFileDatabase::ReadSnapshot(const std::function<Status(sql::Connection&)>& fn) {
  return Transaction("BEGIN", fn);
}

Result<std::unique_ptr<auth::AccountStore>> OpenSqliteAccountStore(const std::string& path) {
  auto db = SqliteFileDatabase::Open(path, kAccountsSchema);
  if (!db.ok()) return db.status();
  std::shared_ptr<SqliteFileDatabase> owned = std::move(*db);
  return std::unique_ptr<auth::AccountStore>(new SqlAccountStore(*owned, owned));
}

Result<std::unique_ptr<auth::AuditStore>> OpenSqliteAuditStore(const std::string& path) {
  auto db = SqliteFileDatabase::Open(path, kAuditSchema);
  if (!db.ok()) return db.status();
  std::shared_ptr<SqliteFileDatabase> owned = std::move(*db);
  return std::unique_ptr<auth::AuditStore>(new SqlAuditStore(*owned, owned));
}

}  // namespace arca
