// Where accounts, groups, tokens and grants live: written once in shared SQL
// (meta/sql/sql_account_store.h), in auth.db on SQLite and in the metadata database on
// PostgreSQL. Every method is safe to call from any thread; changes made by another process
// (the `arca` commands while a server runs, another replica) are seen through Version().
#pragma once

#include <cstdint>
#include <functional>
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
  // A rule on what a change leaves (the last administrator stays: account_admin.cc), judged
  // on the store as it was before and after the change, inside the change's own transaction,
  // so that two changes made at once on two replicas cannot both pass it. Its error undoes
  // the change.
  using Check = std::function<Status(const AccountSnapshot& before, const AccountSnapshot& after)>;

  virtual Status SetDisabled(const std::string& name, bool disabled, const Check& check = {}) = 0;
  // Also removes its tokens, memberships and grants. kNameUnknown when there is none.
  virtual Status RemoveAccount(const std::string& name, const Check& check = {}) = 0;

  virtual Status AddToken(const PersonalToken& t) = 0;
  virtual Status RemoveToken(const std::string& account, const std::string& id) = 0;

  virtual Status AddMember(const std::string& group, const std::string& member) = 0;
  virtual Status RemoveMember(const std::string& group, const std::string& member,
                              const Check& check = {}) = 0;

  virtual Result<int64_t> AddGrant(const Grant& g) = 0;  // the new grant's id
  virtual Status RemoveGrant(int64_t id, const Check& check = {}) = 0;
};

}  // namespace arca::auth
