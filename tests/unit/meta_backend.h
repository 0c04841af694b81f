// The MetaStore contract runs on every metadata backend: the suites are value-parameterised
// by the backend's name (meta_store_contract_test.cc, gc_test.cc, and the account and audit suites of
// auth_test.cc and audit_test.cc), and each test binary
// instantiates them for the backends it links: SQLite in arca_unit_tests
// (meta_backend_sqlite.cc), PostgreSQL in arca_pg_tests (tests/pg/meta_backend_pg.cc).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "auth/account_store.h"
#include "auth/audit.h"
#include "meta/meta_store.h"

namespace arca::testing {

// One test's database: empty at first, and the same one again on every Open.
class MetaBackend {
 public:
  virtual ~MetaBackend() = default;
  virtual Result<std::unique_ptr<MetaStore>> Open() = 0;
  // The accounts and the audit stream where this backend keeps them (SQLite: auth.db and
  // audit.db; PostgreSQL: the metadata database): the same ones again on every call.
  virtual Result<std::unique_ptr<auth::AccountStore>> OpenAccounts() = 0;
  virtual Result<std::unique_ptr<auth::AuditStore>> OpenAudit() = 0;
};

// The backends this binary runs the contract on.
std::vector<std::string> MetaBackends();

// scratch: a directory the test owns (removed after it).
std::unique_ptr<MetaBackend> NewMetaBackend(const std::string& name, const std::string& scratch);

}  // namespace arca::testing
