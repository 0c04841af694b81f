#include "auth/account_admin.h"

#include <algorithm>

#include "auth/password.h"
#include "auth/pattern.h"

namespace arca::auth {
namespace {

Status BadName(const std::string& what, const std::string& name) {
  return Status(ErrorCode::kNameInvalid, "invalid " + what + " name",
                "\"" + name.substr(0, 64) +
                    "\": 1 to 64 of a-z, 0-9, '.', '_', '-', starting with a letter or digit");
}

Status CheckPassword(const std::string& password) {
  if (password.size() < kMinPasswordLength || password.size() > kMaxPasswordSize) {
    return Status(ErrorCode::kQueryInvalid, "invalid password",
                  "a password has " + std::to_string(kMinPasswordLength) + " to " +
                      std::to_string(kMaxPasswordSize) + " bytes");
  }
  return Status::Ok();
}

// Enabled accounts that hold admin on "**", directly, through a group or as "authenticated".
size_t RegistryAdmins(const AccountSnapshot& snap) {
  auto is_admin_grant = [](const Grant& g) {
    return g.permission == Permission::kAdmin && g.repositories == "**";
  };
  bool everyone = false;
  std::vector<std::string> subjects;
  for (const Grant& g : snap.grants) {
    if (!is_admin_grant(g)) continue;
    if (g.subject == "authenticated") everyone = true;
    subjects.push_back(g.subject);
  }
  size_t n = 0;
  for (const Account& a : snap.accounts) {
    if (a.disabled) continue;
    bool admin = everyone;
    std::string own = std::string(KindName(a.kind)) + ":" + a.name;
    for (const std::string& s : subjects) admin = admin || s == own;
    for (const Membership& m : snap.memberships) {
      if (m.member != a.name) continue;
      for (const std::string& s : subjects) admin = admin || s == "group:" + m.group;
    }
    n += admin;
  }
  return n;
}

// Refuses a change that takes the last administrator away. Judged inside the change's
// transaction (AccountStore::Check), so that two administrators disabling each other at once,
// on two replicas, cannot both succeed.
Status KeepsAnAdmin(const AccountSnapshot& before, const AccountSnapshot& after) {
  if (RegistryAdmins(before) > 0 && RegistryAdmins(after) == 0) {
    return Status(ErrorCode::kConflict, "that would leave no administrator",
                  "grant admin on \"**\" to another enabled account first");
  }
  return Status::Ok();
}

}  // namespace

Status AccountAdmin::RemoveAccount(const std::string& name) {
  return store_.RemoveAccount(name, KeepsAnAdmin);
}

Status AccountAdmin::SetDisabled(const std::string& name, bool disabled) {
  return store_.SetDisabled(name, disabled, disabled ? AccountStore::Check(KeepsAnAdmin)
                                                     : AccountStore::Check());
}

Status AccountAdmin::RemoveMember(const std::string& group, const std::string& member) {
  return store_.RemoveMember(group, member, KeepsAnAdmin);
}

Status AccountAdmin::RemoveGrant(int64_t id) {
  return store_.RemoveGrant(id, KeepsAnAdmin);
}

Status AccountAdmin::AddUser(const std::string& name, const std::string& password, int64_t now,
                             const std::string& description) {
  if (!ValidAccountName(name)) return BadName("account", name);
  ARCA_RETURN_IF_ERROR(CheckPassword(password));
  auto hash = HashPassword(password);
  if (!hash.ok()) return hash.status();
  return store_.AddAccount(Account{name, Account::kUser, *hash, false, now, 0, description});
}

Result<std::string> AccountAdmin::AddRobot(const std::string& name, int64_t now,
                                           int64_t expires_at, const std::string& description) {
  if (!ValidAccountName(name)) return BadName("account", name);
  std::string secret = RandomSecret(32);
  ARCA_RETURN_IF_ERROR(store_.AddAccount(
      Account{name, Account::kRobot, SecretDigest(secret), false, now, expires_at, description}));
  return secret;
}

Status AccountAdmin::ImportUser(const std::string& name, const std::string& bcrypt_hash,
                                int64_t now) {
  if (!ValidAccountName(name)) return BadName("account", name);
  return store_.AddAccount(Account{name, Account::kUser, bcrypt_hash, false, now, 0, "htpasswd"});
}

Status AccountAdmin::SetPassword(const std::string& name, const std::string& password) {
  ARCA_RETURN_IF_ERROR(CheckPassword(password));
  auto snap = store_.Load();
  if (!snap.ok()) return snap.status();
  for (const Account& a : snap->accounts) {
    if (a.name != name) continue;
    if (a.kind == Account::kRobot) {
      return Status(ErrorCode::kQueryInvalid, "robots have secrets, not passwords",
                    "reset the robot's secret instead");
    }
    auto hash = HashPassword(password);
    if (!hash.ok()) return hash.status();
    return store_.SetSecret(name, *hash);
  }
  return Status(ErrorCode::kNameUnknown, "no such account", name);
}

Result<std::string> AccountAdmin::ResetRobotSecret(const std::string& name) {
  auto snap = store_.Load();
  if (!snap.ok()) return snap.status();
  for (const Account& a : snap->accounts) {
    if (a.name != name) continue;
    if (a.kind != Account::kRobot) {
      return Status(ErrorCode::kQueryInvalid, "users have passwords", "set a password instead");
    }
    std::string secret = RandomSecret(32);
    ARCA_RETURN_IF_ERROR(store_.SetSecret(name, SecretDigest(secret)));
    return secret;
  }
  return Status(ErrorCode::kNameUnknown, "no such account", name);
}

Result<NewToken> AccountAdmin::AddToken(const std::string& account, const std::string& description,
                                        int64_t lifetime, int64_t now) {
  if (lifetime <= 0 || lifetime > kMaxTokenLifetime) {
    return Status(ErrorCode::kQueryInvalid, "invalid token lifetime",
                  "a personal access token lives 1 s to 366 days");
  }
  if (description.size() > 256) {
    return Status(ErrorCode::kQueryInvalid, "description too long", "at most 256 bytes");
  }
  auto snap = store_.Load();
  if (!snap.ok()) return snap.status();
  auto owner = std::find_if(snap->accounts.begin(), snap->accounts.end(),
                            [&](const Account& a) { return a.name == account; });
  if (owner == snap->accounts.end()) return Status(ErrorCode::kNameUnknown, "no such account", account);
  if (owner->kind != Account::kUser) {
    return Status(ErrorCode::kQueryInvalid, "personal access tokens are for users",
                  "a robot has its own secret");
  }
  NewToken t;
  // The id is hex (no '_'), so the secret's form arca_pat_<id>_<secret> splits unambiguously.
  t.token.id = SecretDigest(RandomSecret(16)).substr(0, 16);
  t.token.account = account;
  t.token.description = description;
  std::string secret = RandomSecret(32);
  t.token.secret_digest = SecretDigest(secret);
  t.token.created_at = now;
  t.token.expires_at = now + lifetime;
  t.secret = "arca_pat_" + t.token.id + "_" + secret;
  ARCA_RETURN_IF_ERROR(store_.AddToken(t.token));
  return t;
}

Result<int64_t> AccountAdmin::AddGrant(const std::string& subject, const std::string& repositories,
                                       const std::string& permission, int64_t now) {
  Grant g;
  if (!ParsePermission(permission, g.permission)) {
    return Status(ErrorCode::kQueryInvalid, "invalid permission",
                  "one of pull, push, delete, admin");
  }
  bool fixed = subject == "anonymous" || subject == "authenticated";
  size_t colon = subject.find(':');
  std::string kind = colon == std::string::npos ? "" : subject.substr(0, colon);
  if (!fixed) {
    if (kind != "user" && kind != "robot" && kind != "group") {
      return Status(ErrorCode::kQueryInvalid, "invalid grant subject",
                    "user:<name>, robot:<name>, group:<name>, anonymous or authenticated");
    }
    std::string name = subject.substr(colon + 1);
    if (!ValidAccountName(name)) return BadName(kind, name);
  }
  ARCA_RETURN_IF_ERROR(ValidatePattern(repositories));
  if (g.permission == Permission::kAdmin && subject == "anonymous") {
    return Status(ErrorCode::kQueryInvalid, "anonymous callers cannot be admins", "");
  }
  if (kind == "user" || kind == "robot") {
    // A grant to an account that does not exist would wait silently for whoever takes the
    // name later.
    std::string name = subject.substr(colon + 1);
    auto snap = store_.Load();
    if (!snap.ok()) return snap.status();
    bool found = std::any_of(snap->accounts.begin(), snap->accounts.end(), [&](const Account& a) {
      return a.name == name && kind == KindName(a.kind);
    });
    if (!found) return Status(ErrorCode::kNameUnknown, "no such " + kind, name);
  }
  g.subject = subject;
  g.repositories = repositories;
  g.created_at = now;
  return store_.AddGrant(g);
}

Status AccountAdmin::AddMember(const std::string& group, const std::string& member) {
  if (!ValidAccountName(group)) return BadName("group", group);
  return store_.AddMember(group, member);
}

}  // namespace arca::auth
