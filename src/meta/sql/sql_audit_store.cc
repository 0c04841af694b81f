#include "meta/sql/sql_audit_store.h"

namespace arca {

using sql::Connection;

Status SqlAuditStore::Append(const std::vector<auth::AuditEntry>& entries) {
  return db_.WriteTransaction([&](Connection& c) -> Status {
    ARCA_PREPARE(q, c, "INSERT INTO audit (time, principal, action, repository, target, status, "
                       "remote, request_id, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
    for (const auth::AuditEntry& e : entries) {
      ARCA_RETURN_IF_ERROR(q.Bind(1, e.time).Bind(2, e.principal).Bind(3, e.action)
                               .Bind(4, e.repository).Bind(5, e.target)
                               .Bind(6, int64_t{e.status}).Bind(7, e.remote)
                               .Bind(8, e.request_id).Bind(9, e.detail).Exec());
    }
    return Status::Ok();
  });
}

Result<std::pair<std::vector<auth::AuditEntry>, bool>> SqlAuditStore::List(
    const auth::AuditQuery& q) {
  auto lease = db_.AcquireReader();
  if (!lease.ok()) return lease.status();
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
  ARCA_PREPARE(st, **lease, sql);
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

Result<int64_t> SqlAuditStore::Prune(int64_t before, int64_t max_entries) {
  int64_t removed = 0;
  // In slices of their own transactions, so that a large backlog never holds a write long.
  auto slices = [&](const std::function<Status(Connection&, int&)>& slice) -> Status {
    while (true) {
      int n = 0;
      ARCA_RETURN_IF_ERROR(db_.WriteTransaction([&](Connection& c) { return slice(c, n); }));
      removed += n;
      if (n < 20000) return Status::Ok();
    }
  };
  ARCA_RETURN_IF_ERROR(slices([&](Connection& c, int& n) -> Status {
    ARCA_PREPARE(q, c, "DELETE FROM audit WHERE id IN (SELECT id FROM audit WHERE time < ? "
                       "ORDER BY time LIMIT 20000)");
    ARCA_RETURN_IF_ERROR(q.Bind(1, before).Exec());
    n = c.Changes();
    return Status::Ok();
  }));
  ARCA_RETURN_IF_ERROR(slices([&](Connection& c, int& n) -> Status {
    ARCA_PREPARE(q, c, "DELETE FROM audit WHERE id IN (SELECT id FROM audit WHERE id <= "
                       "(SELECT id FROM audit ORDER BY id DESC LIMIT 1 OFFSET ?) ORDER BY id "
                       "LIMIT 20000)");
    ARCA_RETURN_IF_ERROR(q.Bind(1, max_entries).Exec());
    n = c.Changes();
    return Status::Ok();
  }));
  return removed;
}

}  // namespace arca
