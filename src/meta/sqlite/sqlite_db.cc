#include "meta/sqlite/sqlite_db.h"

#include <sqlite3.h>

namespace arca::sqlite {

Status Error(sqlite3* db, const std::string& what) {
  return Status(ErrorCode::kInternal, "metadata error", what + ": " + sqlite3_errmsg(db));
}

Stmt::~Stmt() {
  sqlite3_reset(s_);
  sqlite3_clear_bindings(s_);
}

Stmt& Stmt::Bind(int i, std::string_view v) {
  sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  return *this;
}
Stmt& Stmt::BindBlob(int i, std::string_view v) {
  sqlite3_bind_blob(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  return *this;
}
Stmt& Stmt::Bind(int i, int64_t v) {
  sqlite3_bind_int64(s_, i, v);
  return *this;
}
Stmt& Stmt::BindNull(int i) {
  sqlite3_bind_null(s_, i);
  return *this;
}

bool Stmt::Step() {
  int rc = sqlite3_step(s_);
  if (rc == SQLITE_ROW) return true;
  if (rc != SQLITE_DONE) status_ = Error(sqlite3_db_handle(s_), "step");
  return false;
}

Status Stmt::Exec() {
  while (Step()) {
  }
  sqlite3_reset(s_);  // ready to be bound and run again
  return status_;
}

int64_t Stmt::Int(int col) const { return sqlite3_column_int64(s_, col); }
bool Stmt::IsNull(int col) const { return sqlite3_column_type(s_, col) == SQLITE_NULL; }
std::string Stmt::Text(int col) const {
  const void* p = sqlite3_column_blob(s_, col);
  int n = sqlite3_column_bytes(s_, col);
  return p ? std::string(static_cast<const char*>(p), static_cast<size_t>(n)) : std::string();
}

Result<std::unique_ptr<Connection>> Connection::Open(const std::string& path, bool create) {
  sqlite3* db = nullptr;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  std::unique_ptr<Connection> c(new Connection(db));
  if (rc != SQLITE_OK) return Error(db, "open " + path);
  sqlite3_busy_timeout(db, 10000);
  ARCA_RETURN_IF_ERROR(c->Exec(
      "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"));
  return c;
}

Connection::~Connection() {
  for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
  sqlite3_close(db_);
}

Result<std::unique_ptr<sql::Stmt>> Connection::Prepare(const char* sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr) != SQLITE_OK) {
      return Error(db_, std::string("prepare ") + sql);
    }
    it = cache_.emplace(sql, s).first;
  }
  return std::unique_ptr<sql::Stmt>(new Stmt(it->second));
}

Result<bool> Connection::HasRow(const std::string& sql) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr) != SQLITE_OK) {
    return Error(db_, "prepare " + sql);
  }
  int rc = sqlite3_step(s);
  sqlite3_finalize(s);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return Error(db_, "step " + sql);
  return rc == SQLITE_ROW;
}

Status Connection::Exec(const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown";
    sqlite3_free(err);
    return Status(ErrorCode::kInternal, "metadata error", msg);
  }
  return Status::Ok();
}

int64_t Connection::LastInsertId() const { return sqlite3_last_insert_rowid(db_); }
int Connection::Changes() const { return sqlite3_changes(db_); }

bool Connection::InTransaction() const { return sqlite3_get_autocommit(db_) == 0; }

bool Connection::FileMoved() const {
  // WAL mode never makes SQLite run this check itself (it does so only when it opens a
  // rollback journal), so a write to an unlinked database would succeed, into a file no one
  // will ever open again.
  int moved = 0;
  if (sqlite3_file_control(db_, "main", SQLITE_FCNTL_HAS_MOVED, &moved) != SQLITE_OK) return false;
  return moved != 0;
}

}  // namespace arca::sqlite
