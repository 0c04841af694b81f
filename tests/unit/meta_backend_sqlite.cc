// The MetaStore contract on SQLite.
#include <gtest/gtest.h>

#include "meta/sqlite/sqlite_file_db.h"
#include "meta/sqlite/sqlite_meta_store.h"
#include "meta_backend.h"

namespace arca::testing {
namespace {

class SqliteBackend : public MetaBackend {
 public:
  explicit SqliteBackend(std::string dir) : dir_(std::move(dir)) {}
  Result<std::unique_ptr<MetaStore>> Open() override {
    auto s = SqliteMetaStore::Open(dir_ + "/meta.db");
    if (!s.ok()) return s.status();
    return std::unique_ptr<MetaStore>(std::move(*s));
  }
  Result<std::unique_ptr<auth::AccountStore>> OpenAccounts() override {
    return OpenSqliteAccountStore(dir_ + "/auth.db");
  }
  Result<std::unique_ptr<auth::AuditStore>> OpenAudit() override {
    return OpenSqliteAuditStore(dir_ + "/audit.db");
  }

 private:
  std::string dir_;
};

}  // namespace

std::vector<std::string> MetaBackends() { return {"sqlite"}; }

std::unique_ptr<MetaBackend> NewMetaBackend(const std::string& name, const std::string& scratch) {
  EXPECT_EQ(name, "sqlite");
  return std::make_unique<SqliteBackend>(scratch);
}

}  // namespace arca::testing
