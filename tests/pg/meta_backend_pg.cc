// The MetaStore contract on PostgreSQL: each test gets a schema of its own in the database
// at ARCA_TEST_PG_URL (tests/lib/with_pg.py starts a server and sets it).
#include <gtest/gtest.h>


#include "meta/postgres/pg_meta_store.h"
#include "meta/sql/sql_account_store.h"
#include "meta/sql/sql_audit_store.h"
#include "meta_backend.h"
#include "pg_test_env.h"

namespace arca::testing {
namespace {

class PgBackend : public MetaBackend {
 public:
  explicit PgBackend(std::string url) : url_(std::move(url)) {}
  Result<std::unique_ptr<MetaStore>> Open() override {
    PgMetaStore::Options o;
    o.url = url_;
    auto s = PgMetaStore::Open(o);
    if (!s.ok()) return s.status();
    return std::unique_ptr<MetaStore>(std::move(*s));
  }
  Result<std::unique_ptr<auth::AccountStore>> OpenAccounts() override {
    auto db = OpenShared();
    if (!db.ok()) return db.status();
    return std::unique_ptr<auth::AccountStore>(new SqlAccountStore(**db, *db));
  }
  Result<std::unique_ptr<auth::AuditStore>> OpenAudit() override {
    auto db = OpenShared();
    if (!db.ok()) return db.status();
    return std::unique_ptr<auth::AuditStore>(new SqlAuditStore(**db, *db));
  }

 private:
  Result<std::shared_ptr<PgMetaStore>> OpenShared() {
    PgMetaStore::Options o;
    o.url = url_;
    auto s = PgMetaStore::Open(o);
    if (!s.ok()) return s.status();
    return std::shared_ptr<PgMetaStore>(std::move(*s));
  }

  std::string url_;
};

}  // namespace

std::vector<std::string> MetaBackends() { return {"postgres"}; }

std::unique_ptr<MetaBackend> NewMetaBackend(const std::string& name, const std::string&) {
  EXPECT_EQ(name, "postgres");
  return std::make_unique<PgBackend>(FreshSchemaUrl());
}

}  // namespace arca::testing
