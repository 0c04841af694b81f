// The audit stream (auth/audit.h) written once in shared SQL, over a sql::Database: audit.db on
// SQLite (its own file, so that a busy stream never contends with the registry's metadata),
// the metadata database on PostgreSQL (one stream for all replicas). Indexed by id (newest
// first listings), by time (pruning by age) and by principal and repository (filtered
// listings).
#pragma once

#include <memory>

#include "auth/audit.h"
#include "meta/sql/sql_database.h"

namespace arca {

class SqlAuditStore : public auth::AuditStore {
 public:
  // owner, when set, is kept alive as long as the store (the database it opened for db).
  explicit SqlAuditStore(sql::Database& db, std::shared_ptr<void> owner = nullptr)
      : db_(db), owner_(std::move(owner)) {}
  Status Append(const std::vector<auth::AuditEntry>& entries) override;
  Result<std::pair<std::vector<auth::AuditEntry>, bool>> List(const auth::AuditQuery& q) override;
  Result<int64_t> Prune(int64_t before, int64_t max_entries) override;

 private:
  sql::Database& db_;
  std::shared_ptr<void> owner_;
};

}  // namespace arca
