// Where accounts, groups, tokens and grants live. The embedded implementation is SQLite
// (meta/sqlite/sqlite_account_store.h); the PostgreSQL one comes with the scale-out issue.
// Every method is safe to call from any thread; changes made by another process (the `arca`
// commands while a server runs) are seen through Version().
#pragma once

#include <cstdint>
#include <string>

#include "auth/model.h"
#include "util/status.h"

namespace arca::auth {

class AccountStore {
 public:
  virtual ~AccountStore() = default;
  virtual Result<AccountSnapshot> Load() = 0;
  // Changes whenever anything in the store changed, by this process or another; cheap
  // enough for every request.
  virtual Result<int64_t> Version() = 0;

  // kConflict when the name is taken (by a user or a robot).
  virtual Status AddAccount(const Account& a) = 0;
  virtual Status SetSecret(const std::string& name, const std::string& secret_hash) = 0;
  virtual Status SetDisabled(const std::string& name, bool disabled) = 0;
  // Also removes its tokens, memberships and grants. kNameUnknown when there is none.
  virtual Status RemoveAccount(const std::string& name) = 0;

  virtual Status AddToken(const PersonalToken& t) = 0;
  virtual Status RemoveToken(const std::string& account, const std::string& id) = 0;

  virtual Status AddMember(const std::string& group, const std::string& member) = 0;
  virtual Status RemoveMember(const std::string& group, const std::string& member) = 0;

  virtual Result<int64_t> AddGrant(const Grant& g) = 0;  // the new grant's id
  virtual Status RemoveGrant(int64_t id) = 0;
};

}  // namespace arca::auth
