#include "meta/sql/sql_audit_store.h"

namespace arca {

using sql::Connection;

namespace {

// Audited text comes from requests (a user name in a failed login, a decoded path) and may be
// anything; the stream keeps it as valid UTF-8 without NULs, each bad byte replaced by U+FFFD,
// so that one hostile value never costs the entries written with it (PostgreSQL refuses
// such text, and a batch is one transaction).
std::string Printable(std::string_view s) {
  static constexpr char kReplacement[] = "\xEF\xBF\xBD";
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
    unsigned char c = b(i);
    size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // the second byte's range
    if (c >= 0x01 && c < 0x80) {
      len = 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;  // no UTF-16 surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    }
    bool ok = len > 0 && i + len <= s.size();
    for (size_t k = 1; ok && k < len; ++k) {
      unsigned char t = b(i + k);
      ok = k == 1 ? (t >= lo && t <= hi) : (t >= 0x80 && t <= 0xBF);
    }
    if (ok) {
      out.append(s.substr(i, len));
      i += len;
    } else {
      out += kReplacement;
      ++i;
    }
  }
  return out;
}

}  // namespace

Status SqlAuditStore::Append(const std::vector<auth::AuditEntry>& entries) {
  return db_.WriteTransaction([&](Connection& c) -> Status {
    ARCA_PREPARE(q, c, "INSERT INTO audit (time, principal, action, repository, target, status, "
                       "remote, request_id, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
    for (const auth::AuditEntry& e : entries) {
      ARCA_RETURN_IF_ERROR(q.Bind(1, e.time).Bind(2, Printable(e.principal))
                               .Bind(3, Printable(e.action)).Bind(4, Printable(e.repository))
                               .Bind(5, Printable(e.target)).Bind(6, int64_t{e.status})
                               .Bind(7, Printable(e.remote)).Bind(8, Printable(e.request_id))
                               .Bind(9, Printable(e.detail)).Exec());
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
