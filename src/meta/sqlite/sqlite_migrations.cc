#include "meta/sqlite/sqlite_migrations.h"

#include "meta/sql/sql_migrations.h"
#include "meta/sqlite/schema.h"

namespace arca::sqlite {
namespace {

constexpr const char* kMigrationsTable =
    "CREATE TABLE IF NOT EXISTS schema_migrations(version INTEGER PRIMARY KEY, name TEXT NOT "
    "NULL, applied_at INTEGER NOT NULL, serves_from INTEGER NOT NULL)";

// Adds a column unless the table has it (a store that a development build between two
// releases already gave it).
Status AddColumn(Connection& c, const char* table, const char* column, const char* ddl) {
  std::string probe = std::string("SELECT 1 FROM pragma_table_info('") + table +
                      "') WHERE name = '" + column + "'";
  auto present = c.HasRow(probe);
  if (!present.ok()) return present.status();
  return *present ? Status::Ok() : c.Exec(ddl);
}

// Step 1: the schema as it stood when versioned migrations began (issue 12). Every statement
// is idempotent, so it also brings a store of any earlier build up to that point: the columns
// added since version 1 of the file format, their backfills and the index repair.
Status Baseline(Connection& c) {
  ARCA_RETURN_IF_ERROR(c.Exec(kSchema));
  for (const AddedColumn& added : kAddedColumns) {
    ARCA_RETURN_IF_ERROR(AddColumn(c, added.table, added.column, added.ddl));
  }
  ARCA_RETURN_IF_ERROR(c.Exec(kIndexesV2));
  ARCA_RETURN_IF_ERROR(c.Exec(kRepairIndexType));
  ARCA_RETURN_IF_ERROR(c.Exec(kSchemaGc));
  return c.Exec(kSchemaIdentity);
}

// Step 2 (expand): part-based uploads keep the blob store's upload id and parts.
Status UploadParts(Connection& c) {
  ARCA_RETURN_IF_ERROR(AddColumn(c, "uploads", "backend_id",
                                 "ALTER TABLE uploads ADD COLUMN backend_id TEXT NOT NULL DEFAULT ''"));
  return AddColumn(c, "uploads", "parts",
                   "ALTER TABLE uploads ADD COLUMN parts TEXT NOT NULL DEFAULT ''");
}

// Step 3 (expand): leases, which processes sharing the metadata take turns by (the GC leader).
Status Leases(Connection& c) {
  return c.Exec("CREATE TABLE IF NOT EXISTS leases(name TEXT PRIMARY KEY, holder TEXT NOT NULL, "
                "expires_at INTEGER NOT NULL)");
}

// Step 4 (expand): operator type definitions and settings documents, shared by the processes
// that share the metadata (registry/type_catalog.h, registry/policy.h).
Status Settings(Connection& c) {
  return c.Exec(
      "CREATE TABLE IF NOT EXISTS type_definitions(id TEXT PRIMARY KEY, definition TEXT NOT "
      "NULL, logo TEXT NOT NULL, updated_at INTEGER NOT NULL);"
      "CREATE TABLE IF NOT EXISTS settings(name TEXT PRIMARY KEY, value TEXT NOT NULL, "
      "updated_at INTEGER NOT NULL);"
      "CREATE TABLE IF NOT EXISTS settings_changes(id INTEGER PRIMARY KEY CHECK (id = 1), "
      "version INTEGER NOT NULL);"
      "INSERT INTO settings_changes(id, version) VALUES (1, 0) ON CONFLICT (id) DO NOTHING");
}

// Step 5: the accounts and the audit stream. PostgreSQL keeps them in the metadata database;
// SQLite keeps them in auth.db and audit.db beside meta.db (meta/sqlite/sqlite_file_db.h), so
// there is nothing to do here: the step exists to keep the versions of the two the same.
Status Accounts(Connection&) { return Status::Ok(); }

constexpr Step kSteps[] = {
    {{1, "baseline", 1}, &Baseline},
    {{2, "upload-parts", 1}, &UploadParts},
    {{3, "leases", 1}, &Leases},
    {{4, "settings", 1}, &Settings},
    {{5, "accounts", 1}, &Accounts},
};

}  // namespace

std::span<const Step> Steps() { return kSteps; }

std::vector<MigrationStep> StepInfo(std::span<const Step> steps) {
  std::vector<MigrationStep> out;
  for (const Step& s : steps) out.push_back(s.step);
  return out;
}

Result<std::vector<AppliedMigration>> ReadApplied(Connection& c) {
  return sql::ReadApplied(
      c, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'");
}

Status ApplyPending(Connection& c, int64_t now, std::span<const Step> steps) {
  ARCA_RETURN_IF_ERROR(c.Exec(kMigrationsTable));
  for (const Step& s : steps) {
    // BEGIN IMMEDIATE: one process migrates at a time; a step another one applied meanwhile
    // is seen inside it and skipped.
    ARCA_RETURN_IF_ERROR(sql::ApplyStep(
        c, s.step, [&](sql::Connection&) { return s.apply(c); }, now, "BEGIN IMMEDIATE"));
  }
  return Status::Ok();
}

}  // namespace arca::sqlite
