// The AccountStore (auth/account_store.h) written once in shared SQL, over a sql::Database:
// auth.db on SQLite, the metadata database itself on PostgreSQL (so that every replica sees
// the same accounts). The tables are the shim's (sqlite_file_db.h kAccountsSchema; on
// PostgreSQL, migration step 4). Version() reads a counter that every change bumps in its own
// transaction, so that changes by another process or replica are seen too.
#pragma once

#include <memory>

#include "auth/account_store.h"
#include "meta/sql/sql_database.h"

namespace arca {

class SqlAccountStore : public auth::AccountStore {
 public:
  // owner, when set, is kept alive as long as the store (the database it opened for db).
  explicit SqlAccountStore(sql::Database& db, std::shared_ptr<void> owner = nullptr)
      : db_(db), owner_(std::move(owner)) {}

  Result<auth::AccountSnapshot> Load() override;
  Result<int64_t> Version() override;
  Status AddAccount(const auth::Account& a) override;
  Status SetSecret(const std::string& name, const std::string& secret_hash) override;
  Status SetDisabled(const std::string& name, bool disabled, const Check& check) override;
  Status RemoveAccount(const std::string& name, const Check& check) override;
  Status AddToken(const auth::PersonalToken& t) override;
  Status RemoveToken(const std::string& account, const std::string& id) override;
  Status AddMember(const std::string& group, const std::string& member) override;
  Status RemoveMember(const std::string& group, const std::string& member,
                      const Check& check) override;
  Result<int64_t> AddGrant(const auth::Grant& g) override;
  Status RemoveGrant(int64_t id, const Check& check) override;

  // Moving auth.db into PostgreSQL, once: ImportOnce writes snap (another store's accounts,
  // tokens, memberships and grants; grants get new ids, and one the store has already is
  // kept) in one transaction, with a record that an import happened, unless one happened
  // before (kImportedBefore) or the store has accounts of its own (kNotEmpty); then nothing
  // is written.
  enum class Import { kImported, kImportedBefore, kNotEmpty };
  struct ImportState {
    bool imported_before = false;
    bool has_accounts = false;
  };
  Result<ImportState> State();
  Result<Import> ImportOnce(const auth::AccountSnapshot& snap, const std::string& source,
                            int64_t now);

 private:
  // body in a write transaction that also bumps the change counter, and check (if any) on
  // the accounts as they were before body and after it.
  Status Write(const std::function<Status(sql::Connection&)>& body, const Check& check = {});

  sql::Database& db_;
  std::shared_ptr<void> owner_;
};

}  // namespace arca
