// The AccountStore on SQLite: <root>/auth.db beside meta.db, WAL mode, fsync'd commits. One
// connection behind a mutex (account changes are rare; reads load everything at once).
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "auth/account_store.h"

namespace arca::sqlite {
class Connection;
}

namespace arca {

class SqliteAccountStore : public auth::AccountStore {
 public:
  static Result<std::unique_ptr<SqliteAccountStore>> Open(const std::string& path);
  ~SqliteAccountStore() override;

  Result<auth::AccountSnapshot> Load() override;
  Result<int64_t> Version() override;
  Status AddAccount(const auth::Account& a) override;
  Status SetSecret(const std::string& name, const std::string& secret_hash) override;
  Status SetDisabled(const std::string& name, bool disabled) override;
  Status RemoveAccount(const std::string& name) override;
  Status AddToken(const auth::PersonalToken& t) override;
  Status RemoveToken(const std::string& account, const std::string& id) override;
  Status AddMember(const std::string& group, const std::string& member) override;
  Status RemoveMember(const std::string& group, const std::string& member) override;
  Result<int64_t> AddGrant(const auth::Grant& g) override;
  Status RemoveGrant(int64_t id) override;

 private:
  explicit SqliteAccountStore(std::unique_ptr<sqlite::Connection> c);
  template <typename F>
  Status Write(F&& body);
  Status RequireAccount(const std::string& name);

  std::mutex mu_;
  std::unique_ptr<sqlite::Connection> conn_;
  int64_t local_writes_ = 0;  // data_version does not count this connection's own commits
};

}  // namespace arca
