// Changing accounts, groups, tokens and grants, with every check in one place: the `arca`
// commands and the /arca/v1 admin API both come here.
#pragma once

#include <cstdint>
#include <string>

#include "auth/account_store.h"
#include "util/status.h"

namespace arca::auth {

constexpr size_t kMinPasswordLength = 8;
constexpr int64_t kDefaultTokenLifetime = 90 * 86400;
constexpr int64_t kMaxTokenLifetime = 366 * 86400;

struct NewToken {
  PersonalToken token;
  std::string secret;  // "arca_pat_<id>_<secret>": shown once, stored only as a digest
};

class AccountAdmin {
 public:
  explicit AccountAdmin(AccountStore& store) : store_(store) {}

  // A user with a password (hashed with argon2id).
  Status AddUser(const std::string& name, const std::string& password, int64_t now,
                 const std::string& description = "");
  // A robot: returns its secret, which is shown once and stored only as a digest.
  Result<std::string> AddRobot(const std::string& name, int64_t now, int64_t expires_at = 0,
                               const std::string& description = "");
  // A user with a bcrypt hash from an htpasswd file (it keeps working; a new password is
  // stored as argon2id).
  Status ImportUser(const std::string& name, const std::string& bcrypt_hash, int64_t now);
  Status SetPassword(const std::string& name, const std::string& password);
  Result<std::string> ResetRobotSecret(const std::string& name);
  Result<NewToken> AddToken(const std::string& account, const std::string& description,
                            int64_t lifetime, int64_t now);
  // subject: user:<n>, robot:<n>, group:<n>, anonymous, authenticated.
  Result<int64_t> AddGrant(const std::string& subject, const std::string& repositories,
                           const std::string& permission, int64_t now);
  Status AddMember(const std::string& group, const std::string& member);

  // Removals and disabling. One that would leave no enabled account with admin on "**"
  // (where there was one) is refused with CONFLICT: the registry would have no administrator
  // but the admin token.
  Status RemoveAccount(const std::string& name);
  Status SetDisabled(const std::string& name, bool disabled);
  Status RemoveMember(const std::string& group, const std::string& member);
  Status RemoveGrant(int64_t id);

  AccountStore& store() { return store_; }

 private:
  AccountStore& store_;
};

}  // namespace arca::auth
