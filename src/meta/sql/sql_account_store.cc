#include "meta/sql/sql_account_store.h"

namespace arca {

using sql::Connection;

namespace {

Status Unknown(const std::string& what, const std::string& name) {
  return Status(ErrorCode::kNameUnknown, "no such " + what, name);
}

Status RequireAccount(Connection& c, const std::string& name) {
  ARCA_PREPARE(q, c, "SELECT 1 FROM accounts WHERE name = ?");
  bool found = q.Bind(1, name).Step();
  ARCA_RETURN_IF_ERROR(q.status());
  return found ? Status::Ok() : Unknown("account", name);
}

Status LoadAll(Connection& c, auth::AccountSnapshot& snap) {
  snap = {};
  {
    ARCA_PREPARE(q, c, "SELECT name, kind, secret_hash, disabled, created_at, expires_at, "
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
    ARCA_PREPARE(q, c, "SELECT id, account, description, secret_digest, created_at, "
                       "expires_at FROM personal_tokens");
    while (q.Step()) {
      snap.tokens.push_back({q.Text(0), q.Text(1), q.Text(2), q.Text(3), q.Int(4), q.Int(5)});
    }
    ARCA_RETURN_IF_ERROR(q.status());
  }
  {
    ARCA_PREPARE(q, c, "SELECT group_name, member FROM memberships");
    while (q.Step()) snap.memberships.push_back({q.Text(0), q.Text(1)});
    ARCA_RETURN_IF_ERROR(q.status());
  }
  ARCA_PREPARE(q, c, "SELECT id, subject, repositories, permission, created_at FROM grants "
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
  return q.status();
}

}  // namespace

Status SqlAccountStore::Write(const std::function<Status(Connection&)>& body,
                              const Check& check) {
  return db_.WriteTransaction([&](Connection& c) -> Status {
    auth::AccountSnapshot before, after;
    if (check) ARCA_RETURN_IF_ERROR(LoadAll(c, before));
    ARCA_RETURN_IF_ERROR(body(c));
    if (check) {
      ARCA_RETURN_IF_ERROR(LoadAll(c, after));
      ARCA_RETURN_IF_ERROR(check(before, after));
    }
    ARCA_PREPARE(q, c, "UPDATE auth_changes SET version = version + 1 WHERE id = 1");
    return q.Exec();
  });
}

Result<int64_t> SqlAccountStore::Version() {
  auto c = db_.AcquireReader();
  if (!c.ok()) return c.status();
  ARCA_PREPARE(q, **c, "SELECT version FROM auth_changes WHERE id = 1");
  if (!q.Step()) {
    ARCA_RETURN_IF_ERROR(q.status());
    return Status(ErrorCode::kInternal, "metadata error", "auth_changes has no row");
  }
  return q.Int(0);
}

Result<auth::AccountSnapshot> SqlAccountStore::Load() {
  auth::AccountSnapshot snap;
  // One consistent read of the four tables.
  Status s = db_.ReadSnapshot([&](Connection& c) { return LoadAll(c, snap); });
  if (!s.ok()) return s;
  return snap;
}

Status SqlAccountStore::AddAccount(const auth::Account& a) {
  return Write([&](Connection& c) -> Status {
    if (RequireAccount(c, a.name).ok()) {
      return Status(ErrorCode::kConflict, "account exists", a.name);
    }
    ARCA_PREPARE(q, c, "INSERT INTO accounts (name, kind, secret_hash, disabled, created_at, "
                       "expires_at, description) VALUES (?, ?, ?, ?, ?, ?, ?)");
    return q.Bind(1, a.name).Bind(2, auth::KindName(a.kind)).Bind(3, a.secret_hash)
        .Bind(4, int64_t{a.disabled}).Bind(5, a.created_at).Bind(6, a.expires_at)
        .Bind(7, a.description).Exec();
  });
}

Status SqlAccountStore::SetSecret(const std::string& name, const std::string& secret_hash) {
  return Write([&](Connection& c) -> Status {
    ARCA_RETURN_IF_ERROR(RequireAccount(c, name));
    ARCA_PREPARE(q, c, "UPDATE accounts SET secret_hash = ? WHERE name = ?");
    return q.Bind(1, secret_hash).Bind(2, name).Exec();
  });
}

Status SqlAccountStore::SetDisabled(const std::string& name, bool disabled, const Check& check) {
  return Write([&](Connection& c) -> Status {
    ARCA_RETURN_IF_ERROR(RequireAccount(c, name));
    ARCA_PREPARE(q, c, "UPDATE accounts SET disabled = ? WHERE name = ?");
    return q.Bind(1, int64_t{disabled}).Bind(2, name).Exec();
  }, check);
}

Status SqlAccountStore::RemoveAccount(const std::string& name, const Check& check) {
  return Write([&](Connection& c) -> Status {
    ARCA_RETURN_IF_ERROR(RequireAccount(c, name));
    ARCA_PREPARE(g, c, "DELETE FROM grants WHERE subject IN ('user:' || ?1, 'robot:' || ?1)");
    ARCA_RETURN_IF_ERROR(g.Bind(1, name).Exec());
    // Tokens and memberships go with it (ON DELETE CASCADE).
    ARCA_PREPARE(q, c, "DELETE FROM accounts WHERE name = ?");
    return q.Bind(1, name).Exec();
  }, check);
}

Status SqlAccountStore::AddToken(const auth::PersonalToken& t) {
  return Write([&](Connection& c) -> Status {
    ARCA_RETURN_IF_ERROR(RequireAccount(c, t.account));
    ARCA_PREPARE(q, c, "INSERT INTO personal_tokens (id, account, description, secret_digest, "
                       "created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)");
    return q.Bind(1, t.id).Bind(2, t.account).Bind(3, t.description).Bind(4, t.secret_digest)
        .Bind(5, t.created_at).Bind(6, t.expires_at).Exec();
  });
}

Status SqlAccountStore::RemoveToken(const std::string& account, const std::string& id) {
  return Write([&](Connection& c) -> Status {
    ARCA_PREPARE(q, c, "DELETE FROM personal_tokens WHERE account = ? AND id = ?");
    ARCA_RETURN_IF_ERROR(q.Bind(1, account).Bind(2, id).Exec());
    return c.Changes() ? Status::Ok() : Unknown("token", id);
  });
}

Status SqlAccountStore::AddMember(const std::string& group, const std::string& member) {
  return Write([&](Connection& c) -> Status {
    ARCA_RETURN_IF_ERROR(RequireAccount(c, member));
    ARCA_PREPARE(q, c, "INSERT INTO memberships (group_name, member) VALUES (?, ?) "
                       "ON CONFLICT (group_name, member) DO NOTHING");
    return q.Bind(1, group).Bind(2, member).Exec();
  });
}

Status SqlAccountStore::RemoveMember(const std::string& group, const std::string& member,
                                     const Check& check) {
  return Write([&](Connection& c) -> Status {
    ARCA_PREPARE(q, c, "DELETE FROM memberships WHERE group_name = ? AND member = ?");
    ARCA_RETURN_IF_ERROR(q.Bind(1, group).Bind(2, member).Exec());
    return c.Changes() ? Status::Ok() : Unknown("group member", group + "/" + member);
  }, check);
}

Result<int64_t> SqlAccountStore::AddGrant(const auth::Grant& g) {
  int64_t id = 0;
  Status s = Write([&](Connection& c) -> Status {
    id = 0;
    ARCA_PREPARE(f, c, "SELECT id FROM grants WHERE subject = ? AND repositories = ? AND "
                       "permission = ?");
    const char* perm = auth::PermissionName(g.permission);
    if (f.Bind(1, g.subject).Bind(2, g.repositories).Bind(3, perm).Step()) {
      return Status(ErrorCode::kConflict, "grant exists", "grant " + std::to_string(f.Int(0)));
    }
    ARCA_RETURN_IF_ERROR(f.status());
    ARCA_PREPARE(q, c, "INSERT INTO grants (subject, repositories, permission, created_at) "
                       "VALUES (?, ?, ?, ?) RETURNING id");
    if (!q.Bind(1, g.subject).Bind(2, g.repositories).Bind(3, perm).Bind(4, g.created_at)
             .Step()) {
      ARCA_RETURN_IF_ERROR(q.status());
      return Status(ErrorCode::kInternal, "metadata error", "no grant id returned");
    }
    id = q.Int(0);
    return q.Exec();  // runs it to completion
  });
  if (!s.ok()) return s;
  return id;
}

namespace {

Result<SqlAccountStore::ImportState> ReadImportState(Connection& c) {
  SqlAccountStore::ImportState state;
  ARCA_PREPARE(done, c, "SELECT 1 FROM auth_imports LIMIT 1");
  state.imported_before = done.Step();
  ARCA_RETURN_IF_ERROR(done.status());
  ARCA_PREPARE(any, c, "SELECT 1 FROM accounts LIMIT 1");
  state.has_accounts = any.Step();
  ARCA_RETURN_IF_ERROR(any.status());
  return state;
}

}  // namespace

Result<SqlAccountStore::ImportState> SqlAccountStore::State() {
  ImportState state;
  Status s = db_.ReadSnapshot([&](Connection& c) -> Status {
    auto read = ReadImportState(c);
    if (!read.ok()) return read.status();
    state = *read;
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return state;
}

Result<SqlAccountStore::Import> SqlAccountStore::ImportOnce(const auth::AccountSnapshot& snap,
                                                            const std::string& source,
                                                            int64_t now) {
  Import result = Import::kNotEmpty;
  Status s = Write([&](Connection& c) -> Status {
    auto state = ReadImportState(c);
    if (!state.ok()) return state.status();
    if (state->imported_before || state->has_accounts) {
      result = state->imported_before ? Import::kImportedBefore : Import::kNotEmpty;
      return Status::Ok();
    }
    ARCA_PREPARE(a, c, "INSERT INTO accounts (name, kind, secret_hash, disabled, created_at, "
                       "expires_at, description) VALUES (?, ?, ?, ?, ?, ?, ?)");
    for (const auth::Account& x : snap.accounts) {
      ARCA_RETURN_IF_ERROR(a.Bind(1, x.name).Bind(2, auth::KindName(x.kind)).Bind(3, x.secret_hash)
                               .Bind(4, int64_t{x.disabled}).Bind(5, x.created_at)
                               .Bind(6, x.expires_at).Bind(7, x.description).Exec());
    }
    ARCA_PREPARE(t, c, "INSERT INTO personal_tokens (id, account, description, secret_digest, "
                       "created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)");
    for (const auth::PersonalToken& x : snap.tokens) {
      ARCA_RETURN_IF_ERROR(t.Bind(1, x.id).Bind(2, x.account).Bind(3, x.description)
                               .Bind(4, x.secret_digest).Bind(5, x.created_at)
                               .Bind(6, x.expires_at).Exec());
    }
    ARCA_PREPARE(m, c, "INSERT INTO memberships (group_name, member) VALUES (?, ?)");
    for (const auth::Membership& x : snap.memberships) {
      ARCA_RETURN_IF_ERROR(m.Bind(1, x.group).Bind(2, x.member).Exec());
    }
    // Grants need no account (group:…, authenticated): the store may hold some already.
    ARCA_PREPARE(g, c, "INSERT INTO grants (subject, repositories, permission, created_at) "
                       "VALUES (?, ?, ?, ?) "
                       "ON CONFLICT (subject, repositories, permission) DO NOTHING");
    for (const auth::Grant& x : snap.grants) {
      ARCA_RETURN_IF_ERROR(g.Bind(1, x.subject).Bind(2, x.repositories)
                               .Bind(3, auth::PermissionName(x.permission))
                               .Bind(4, x.created_at).Exec());
    }
    ARCA_PREPARE(r, c, "INSERT INTO auth_imports (source, imported_at) VALUES (?, ?)");
    ARCA_RETURN_IF_ERROR(r.Bind(1, source).Bind(2, now).Exec());
    result = Import::kImported;
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return result;
}

Status SqlAccountStore::RemoveGrant(int64_t id, const Check& check) {
  return Write([&](Connection& c) -> Status {
    ARCA_PREPARE(q, c, "DELETE FROM grants WHERE id = ?");
    ARCA_RETURN_IF_ERROR(q.Bind(1, id).Exec());
    return c.Changes() ? Status::Ok() : Unknown("grant", std::to_string(id));
  }, check);
}

}  // namespace arca
