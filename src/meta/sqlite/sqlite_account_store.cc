#include "meta/sqlite/sqlite_account_store.h"

#include "meta/sqlite/sqlite_db.h"

namespace arca {

using sqlite::Connection;

namespace {

constexpr const char* kSchema = R"(
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
)";

Status Unknown(const std::string& what, const std::string& name) {
  return Status(ErrorCode::kNameUnknown, "no such " + what, name);
}

}  // namespace

SqliteAccountStore::SqliteAccountStore(std::unique_ptr<Connection> c) : conn_(std::move(c)) {}
SqliteAccountStore::~SqliteAccountStore() = default;

Result<std::unique_ptr<SqliteAccountStore>> SqliteAccountStore::Open(const std::string& path) {
  auto c = Connection::Open(path, true);
  if (!c.ok()) return c.status();
  ARCA_RETURN_IF_ERROR((*c)->Exec(kSchema));
  return std::unique_ptr<SqliteAccountStore>(new SqliteAccountStore(std::move(*c)));
}

template <typename F>
Status SqliteAccountStore::Write(F&& body) {
  std::lock_guard lock(mu_);
  ARCA_RETURN_IF_ERROR(conn_->Exec("BEGIN IMMEDIATE"));
  Status s = body(*conn_);
  if (s.ok()) s = conn_->Exec("COMMIT");
  if (!s.ok()) {
    if (conn_->InTransaction()) (void)conn_->Exec("ROLLBACK");
    return s;
  }
  ++local_writes_;
  return s;
}

Result<int64_t> SqliteAccountStore::Version() {
  std::lock_guard lock(mu_);
  ARCA_PREPARE(q, *conn_, "PRAGMA data_version");
  if (!q.Step()) return q.status();
  // Both only grow, so their sum changes whenever either does.
  return q.Int(0) + local_writes_;
}

Result<auth::AccountSnapshot> SqliteAccountStore::Load() {
  std::lock_guard lock(mu_);
  auth::AccountSnapshot snap;
  ARCA_RETURN_IF_ERROR(conn_->Exec("BEGIN"));  // one consistent read of all four tables
  struct End {
    Connection& c;
    ~End() { (void)c.Exec("COMMIT"); }
  } end{*conn_};
  {
    ARCA_PREPARE(q, *conn_, "SELECT name, kind, secret_hash, disabled, created_at, expires_at, "
                            "description FROM accounts");
    while (q.Step()) {
      auth::Account a;
      a.name = q.Text(0);
      a.kind = q.Text(1) == "robot" ? auth::Account::kRobot : auth::Account::kUser;
      a.secret_hash = q.Text(2);
      a.disabled = q.Int(3) != 0;
      a.created_at = q.Int(4);
      a.expires_at = q.Int(5);
      a.description = q.Text(6);
      snap.accounts.push_back(std::move(a));
    }
    ARCA_RETURN_IF_ERROR(q.status());
  }
  {
    ARCA_PREPARE(q, *conn_, "SELECT id, account, description, secret_digest, created_at, "
                            "expires_at FROM personal_tokens");
    while (q.Step()) {
      snap.tokens.push_back({q.Text(0), q.Text(1), q.Text(2), q.Text(3), q.Int(4), q.Int(5)});
    }
    ARCA_RETURN_IF_ERROR(q.status());
  }
  {
    ARCA_PREPARE(q, *conn_, "SELECT group_name, member FROM memberships");
    while (q.Step()) snap.memberships.push_back({q.Text(0), q.Text(1)});
    ARCA_RETURN_IF_ERROR(q.status());
  }
  {
    ARCA_PREPARE(q, *conn_, "SELECT id, subject, repositories, permission, created_at FROM grants "
                            "ORDER BY id");
    while (q.Step()) {
      auth::Grant g;
      g.id = q.Int(0);
      g.subject = q.Text(1);
      g.repositories = q.Text(2);
      if (!auth::ParsePermission(q.Text(3), g.permission)) continue;  // written by us; never
      g.created_at = q.Int(4);
      snap.grants.push_back(std::move(g));
    }
    ARCA_RETURN_IF_ERROR(q.status());
  }
  return snap;
}

Status SqliteAccountStore::RequireAccount(const std::string& name) {
  ARCA_PREPARE(q, *conn_, "SELECT 1 FROM accounts WHERE name = ?");
  bool found = q.Bind(1, name).Step();
  ARCA_RETURN_IF_ERROR(q.status());
  return found ? Status::Ok() : Unknown("account", name);
}

Status SqliteAccountStore::AddAccount(const auth::Account& a) {
  return Write([&](Connection& c) -> Status {
    if (RequireAccount(a.name).ok()) {
      return Status(ErrorCode::kConflict, "account exists", a.name);
    }
    ARCA_PREPARE(q, c, "INSERT INTO accounts (name, kind, secret_hash, disabled, created_at, "
                       "expires_at, description) VALUES (?, ?, ?, ?, ?, ?, ?)");
    return q.Bind(1, a.name).Bind(2, auth::KindName(a.kind)).Bind(3, a.secret_hash)
        .Bind(4, int64_t{a.disabled}).Bind(5, a.created_at).Bind(6, a.expires_at)
        .Bind(7, a.description).Exec();
  });
}

Status SqliteAccountStore::SetSecret(const std::string& name, const std::string& secret_hash) {
  return Write([&](Connection& c) -> Status {
    ARCA_RETURN_IF_ERROR(RequireAccount(name));
    ARCA_PREPARE(q, c, "UPDATE accounts SET secret_hash = ? WHERE name = ?");
    return q.Bind(1, secret_hash).Bind(2, name).Exec();
  });
}

Status SqliteAccountStore::SetDisabled(const std::string& name, bool disabled) {
  return Write([&](Connection& c) -> Status {
    ARCA_RETURN_IF_ERROR(RequireAccount(name));
    ARCA_PREPARE(q, c, "UPDATE accounts SET disabled = ? WHERE name = ?");
    return q.Bind(1, int64_t{disabled}).Bind(2, name).Exec();
  });
}

Status SqliteAccountStore::RemoveAccount(const std::string& name) {
  return Write([&](Connection& c) -> Status {
    ARCA_RETURN_IF_ERROR(RequireAccount(name));
    ARCA_PREPARE(g, c, "DELETE FROM grants WHERE subject IN ('user:' || ?1, 'robot:' || ?1)");
    ARCA_RETURN_IF_ERROR(g.Bind(1, name).Exec());
    // Tokens and memberships go with it (ON DELETE CASCADE).
    ARCA_PREPARE(q, c, "DELETE FROM accounts WHERE name = ?");
    return q.Bind(1, name).Exec();
  });
}

Status SqliteAccountStore::AddToken(const auth::PersonalToken& t) {
  return Write([&](Connection& c) -> Status {
    ARCA_RETURN_IF_ERROR(RequireAccount(t.account));
    ARCA_PREPARE(q, c, "INSERT INTO personal_tokens (id, account, description, secret_digest, "
                       "created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)");
    return q.Bind(1, t.id).Bind(2, t.account).Bind(3, t.description).Bind(4, t.secret_digest)
        .Bind(5, t.created_at).Bind(6, t.expires_at).Exec();
  });
}

Status SqliteAccountStore::RemoveToken(const std::string& account, const std::string& id) {
  return Write([&](Connection& c) -> Status {
    ARCA_PREPARE(q, c, "DELETE FROM personal_tokens WHERE account = ? AND id = ?");
    ARCA_RETURN_IF_ERROR(q.Bind(1, account).Bind(2, id).Exec());
    return c.Changes() ? Status::Ok() : Unknown("token", id);
  });
}

Status SqliteAccountStore::AddMember(const std::string& group, const std::string& member) {
  return Write([&](Connection& c) -> Status {
    ARCA_RETURN_IF_ERROR(RequireAccount(member));
    ARCA_PREPARE(q, c, "INSERT OR IGNORE INTO memberships (group_name, member) VALUES (?, ?)");
    return q.Bind(1, group).Bind(2, member).Exec();
  });
}

Status SqliteAccountStore::RemoveMember(const std::string& group, const std::string& member) {
  return Write([&](Connection& c) -> Status {
    ARCA_PREPARE(q, c, "DELETE FROM memberships WHERE group_name = ? AND member = ?");
    ARCA_RETURN_IF_ERROR(q.Bind(1, group).Bind(2, member).Exec());
    return c.Changes() ? Status::Ok() : Unknown("group member", group + "/" + member);
  });
}

Result<int64_t> SqliteAccountStore::AddGrant(const auth::Grant& g) {
  int64_t id = 0;
  Status s = Write([&](Connection& c) -> Status {
    ARCA_PREPARE(f, c, "SELECT id FROM grants WHERE subject = ? AND repositories = ? AND "
                       "permission = ?");
    const char* perm = auth::PermissionName(g.permission);
    if (f.Bind(1, g.subject).Bind(2, g.repositories).Bind(3, perm).Step()) {
      return Status(ErrorCode::kConflict, "grant exists", "grant " + std::to_string(f.Int(0)));
    }
    ARCA_RETURN_IF_ERROR(f.status());
    ARCA_PREPARE(q, c, "INSERT INTO grants (subject, repositories, permission, created_at) "
                       "VALUES (?, ?, ?, ?)");
    ARCA_RETURN_IF_ERROR(q.Bind(1, g.subject).Bind(2, g.repositories).Bind(3, perm)
                             .Bind(4, g.created_at).Exec());
    id = c.LastInsertId();
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return id;
}

Status SqliteAccountStore::RemoveGrant(int64_t id) {
  return Write([&](Connection& c) -> Status {
    ARCA_PREPARE(q, c, "DELETE FROM grants WHERE id = ?");
    ARCA_RETURN_IF_ERROR(q.Bind(1, id).Exec());
    return c.Changes() ? Status::Ok() : Unknown("grant", std::to_string(id));
  });
}

}  // namespace arca
