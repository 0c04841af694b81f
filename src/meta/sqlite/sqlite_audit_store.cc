#include "meta/sqlite/sqlite_audit_store.h"

#include "meta/sqlite/sqlite_db.h"

namespace arca {

using sqlite::Connection;

namespace {

constexpr const char* kSchema = R"(
CREATE TABLE IF NOT EXISTS audit (
  id INTEGER PRIMARY KEY AUTOINCREMENT, time INTEGER NOT NULL, principal TEXT NOT NULL,
  action TEXT NOT NULL, repository TEXT NOT NULL, target TEXT NOT NULL, status INTEGER NOT NULL,
  remote TEXT NOT NULL, request_id TEXT NOT NULL, detail TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS audit_by_time ON audit(time);
CREATE INDEX IF NOT EXISTS audit_by_principal ON audit(principal, id);
CREATE INDEX IF NOT EXISTS audit_by_repository ON audit(repository, id);
)";

}  // namespace

SqliteAuditStore::SqliteAuditStore(std::unique_ptr<Connection> c) : conn_(std::move(c)) {}
SqliteAuditStore::~SqliteAuditStore() = default;

Result<std::unique_ptr<SqliteAuditStore>> SqliteAuditStore::Open(const std::string& path) {
  auto c = Connection::Open(path, true);
  if (!c.ok()) return c.status();
  ARCA_RETURN_IF_ERROR((*c)->Exec(kSchema));
  return std::unique_ptr<SqliteAuditStore>(new SqliteAuditStore(std::move(*c)));
}

Status SqliteAuditStore::Append(const std::vector<auth::AuditEntry>& entries) {
  std::lock_guard lock(mu_);
  ARCA_RETURN_IF_ERROR(conn_->Exec("BEGIN IMMEDIATE"));
  Status s;
  {
    auto q = conn_->Prepare(
        "INSERT INTO audit (time, principal, action, repository, target, status, remote, "
        "request_id, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
    if (!q.ok()) {
      s = q.status();
    } else {
      for (const auth::AuditEntry& e : entries) {
        s = (*q)->Bind(1, e.time).Bind(2, e.principal).Bind(3, e.action).Bind(4, e.repository)
                .Bind(5, e.target).Bind(6, int64_t{e.status}).Bind(7, e.remote)
                .Bind(8, e.request_id).Bind(9, e.detail).Exec();
        if (!s.ok()) break;
      }
    }
  }
  if (s.ok()) s = conn_->Exec("COMMIT");
  if (!s.ok() && conn_->InTransaction()) (void)conn_->Exec("ROLLBACK");
  return s;
}

Result<std::pair<std::vector<auth::AuditEntry>, bool>> SqliteAuditStore::List(
    const auth::AuditQuery& q) {
  std::lock_guard lock(mu_);
  // One statement per leading filter, so that each walks its own index newest first and a
  // filtered listing stays fast at millions of entries.
#define ARCA_AUDIT_SELECT                                                                 \
  "SELECT id, time, principal, action, repository, target, status, remote, request_id, " \
  "detail FROM audit WHERE (?1 = 0 OR id < ?1) AND "
#define ARCA_AUDIT_REST "(?4 = '' OR action = ?4) ORDER BY id DESC LIMIT ?5"
  const char* sql =
      !q.principal.empty()
          ? ARCA_AUDIT_SELECT "principal = ?2 AND (?3 = '' OR repository = ?3) AND " ARCA_AUDIT_REST
      : !q.repository.empty()
          ? ARCA_AUDIT_SELECT "?2 = '' AND repository = ?3 AND " ARCA_AUDIT_REST
          : ARCA_AUDIT_SELECT "?2 = '' AND ?3 = '' AND " ARCA_AUDIT_REST;
#undef ARCA_AUDIT_SELECT
#undef ARCA_AUDIT_REST
  auto prepared = conn_->Prepare(sql);
  if (!prepared.ok()) return prepared.status();
  sql::Stmt& st = **prepared;
  st.Bind(1, q.before_id).Bind(2, q.principal).Bind(3, q.repository).Bind(4, q.action)
      .Bind(5, static_cast<int64_t>(q.limit) + 1);
  std::vector<auth::AuditEntry> out;
  while (st.Step()) {
    auth::AuditEntry e;
    e.id = st.Int(0);
    e.time = st.Int(1);
    e.principal = st.Text(2);
    e.action = st.Text(3);
    e.repository = st.Text(4);
    e.target = st.Text(5);
    e.status = static_cast<int>(st.Int(6));
    e.remote = st.Text(7);
    e.request_id = st.Text(8);
    e.detail = st.Text(9);
    out.push_back(std::move(e));
  }
  ARCA_RETURN_IF_ERROR(st.status());
  bool more = out.size() > q.limit;
  if (more) out.pop_back();
  return std::make_pair(std::move(out), more);
}

Result<int64_t> SqliteAuditStore::Prune(int64_t before, int64_t max_entries) {
  std::lock_guard lock(mu_);
  int64_t removed = 0;
  // In slices, so that a large backlog never holds the write lock long.
  while (true) {
    ARCA_PREPARE(q, *conn_,
                 "DELETE FROM audit WHERE id IN (SELECT id FROM audit WHERE time < ? "
                 "ORDER BY time LIMIT 20000)");
    ARCA_RETURN_IF_ERROR(q.Bind(1, before).Exec());
    int n = conn_->Changes();
    removed += n;
    if (n < 20000) break;
  }
  while (true) {
    ARCA_PREPARE(q, *conn_,
                 "DELETE FROM audit WHERE id IN (SELECT id FROM audit WHERE id <= "
                 "(SELECT id FROM audit ORDER BY id DESC LIMIT 1 OFFSET ?) ORDER BY id LIMIT 20000)");
    ARCA_RETURN_IF_ERROR(q.Bind(1, max_entries).Exec());
    int n = conn_->Changes();
    removed += n;
    if (n < 20000) break;
  }
  return removed;
}

}  // namespace arca
