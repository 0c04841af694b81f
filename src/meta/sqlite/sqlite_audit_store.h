// The audit stream on SQLite: <root>/audit.db, its own file so that a busy stream never
// contends with the registry's metadata or the accounts. Indexed by id (newest first
// listings), by time (pruning by age) and by principal and repository (filtered listings).
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "auth/audit.h"

namespace arca::sqlite {
class Connection;
}

namespace arca {

class SqliteAuditStore : public auth::AuditStore {
 public:
  static Result<std::unique_ptr<SqliteAuditStore>> Open(const std::string& path);
  ~SqliteAuditStore() override;
  Status Append(const std::vector<auth::AuditEntry>& entries) override;
  Result<std::pair<std::vector<auth::AuditEntry>, bool>> List(const auth::AuditQuery& q) override;
  Result<int64_t> Prune(int64_t before, int64_t max_entries) override;

 private:
  explicit SqliteAuditStore(std::unique_ptr<sqlite::Connection> c);
  std::mutex mu_;
  std::unique_ptr<sqlite::Connection> conn_;
};

}  // namespace arca
