// PgMetaStore: the schema as versioned steps (meta/migrations.h), the same versions as
// meta/sqlite's, applied one replica at a time under an advisory lock.
#include <ctime>

#include "meta/migrations.h"
#include "meta/postgres/pg_conn.h"
#include "meta/postgres/pg_meta_store.h"
#include "meta/postgres/pg_schema.h"
#include "meta/sql/sql_migrations.h"

namespace arca {
namespace {

struct PgStep {
  MigrationStep step;
  const char* sql;  // one or more statements, run in the step's transaction
};

constexpr PgStep kSteps[] = {
    {{1, "baseline", 1}, pg::kBaseline},
    {{2, "upload-parts", 1}, pg::kUploadParts},
    {{3, "leases", 1}, pg::kLeases},
    {{4, "settings", 1}, pg::kSettings},
    {{5, "accounts", 1}, pg::kAccounts},
};

// The key of the session advisory lock that migrations hold: "arcamigr" in ASCII.
constexpr const char* kLock = "SELECT pg_advisory_lock(7021238826577210738)";
constexpr const char* kUnlock = "SELECT pg_advisory_unlock(7021238826577210738)";

constexpr const char* kMigrationsTable =
    "CREATE TABLE IF NOT EXISTS schema_migrations(version BIGINT PRIMARY KEY, name TEXT NOT "
    "NULL, applied_at BIGINT NOT NULL, serves_from BIGINT NOT NULL)";

std::vector<MigrationStep> StepInfo() {
  std::vector<MigrationStep> out;
  for (const PgStep& s : kSteps) out.push_back(s.step);
  return out;
}

Result<std::vector<AppliedMigration>> ReadApplied(pg::Connection& c) {
  return sql::ReadApplied(c, "SELECT 1 WHERE to_regclass('schema_migrations') IS NOT NULL");
}

// Each pending step in its own transaction with its record: PostgreSQL's DDL is
// transactional, so a failed step leaves nothing behind and can be run again.
Status ApplyPending(pg::Connection& c) {
  ARCA_RETURN_IF_ERROR(c.Exec(kMigrationsTable));
  int64_t now = static_cast<int64_t>(std::time(nullptr));
  for (const PgStep& s : kSteps) {
    ARCA_RETURN_IF_ERROR(sql::ApplyStep(
        c, s.step, [&](sql::Connection& conn) { return conn.Exec(s.sql); }, now, "BEGIN"));
  }
  return Status::Ok();
}

}  // namespace

Status PgMetaStore::CheckSchema(pg::Connection& c, bool migrate) {
  auto applied = ReadApplied(c);
  if (!applied.ok()) return applied.status();
  auto steps = StepInfo();
  MigrationPlan plan = PlanMigrations(steps, *applied);
  if (!plan.can_serve) return Status(ErrorCode::kInternal, "schema too new", plan.why);
  if (plan.pending.empty()) return Status::Ok();
  auto has_tables = c.HasRow(
      "SELECT 1 FROM pg_tables WHERE schemaname = current_schema() AND tablename <> "
      "'schema_migrations' LIMIT 1");
  if (!has_tables.ok()) return has_tables.status();
  if (!migrate && *has_tables) {  // a new, empty database is set up whatever the mode
    return Status(ErrorCode::kInternal, "schema migration needed",
                  "the database is at schema version " + std::to_string(plan.schema_version) +
                      " and this arca needs " + std::to_string(plan.code_version) +
                      " (migrate: manual): run `arca migrate up`");
  }
  // One replica migrates at a time; the others wait here and then find nothing pending.
  ARCA_RETURN_IF_ERROR(c.Exec(kLock));
  Status s = ApplyPending(c);
  (void)c.Exec(kUnlock);
  return s;
}

Result<std::string> PgMetaStore::DescribeSchema(const std::string& url) {
  auto settings = ParseUrl(url);
  if (!settings.ok()) return settings.status();
  auto c = pg::Connection::Open(settings->conninfo);
  if (!c.ok()) return c.status();
  auto applied = ReadApplied(**c);
  if (!applied.ok()) return applied.status();
  return DescribeMigrations(StepInfo(), *applied);
}

Status PgMetaStore::MigrateSchema(const std::string& url) {
  auto settings = ParseUrl(url);
  if (!settings.ok()) return settings.status();
  auto c = pg::Connection::Open(settings->conninfo);
  if (!c.ok()) return c.status();
  return CheckSchema(**c, /*migrate=*/true);
}

}  // namespace arca
