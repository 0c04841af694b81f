// Versioned schema migrations, the same rules for every metadata store (sqlite/ today,
// postgres/ next). Each store lists its own steps (their SQL is its dialect) and records each
// applied step in a table schema_migrations(version, name, applied_at, serves_from), in the
// same transaction as the step itself: a step is applied whole or not at all, so a failed one
// leaves the schema as it was and can be run again. There is no "dirty" state.
//
// Online upgrades (expand, then contract): every step says the oldest schema version whose
// code can still serve once it is applied (serves_from). An expand step (a new table, a column
// with a default, an index) keeps the previous version serving; a contract step (a drop, a
// rename) does not. A process refuses to serve a schema only when an applied step it does not
// know requires newer code than its own.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace arca {

struct MigrationStep {
  int64_t version = 0;  // 1, 2, 3, ... without gaps
  const char* name = "";
  int64_t serves_from = 0;  // the oldest code version that can serve once this is applied
};

struct AppliedMigration {
  int64_t version = 0;
  std::string name;
  int64_t applied_at = 0;
  int64_t serves_from = 0;
};

struct MigrationPlan {
  int64_t code_version = 0;    // the newest step this build knows
  int64_t schema_version = 0;  // the newest step applied
  std::vector<MigrationStep> pending;  // known steps not applied, in order
  bool can_serve = true;       // false: an applied step needs newer code (why says which)
  std::string why;
};

// What to do with a store whose applied steps are applied, for a build that knows known
// (ordered by version).
MigrationPlan PlanMigrations(std::span<const MigrationStep> known,
                             const std::vector<AppliedMigration>& applied);

// `arca migrate status` text: one line per step, applied or pending, and the verdict.
std::string DescribeMigrations(std::span<const MigrationStep> known,
                               const std::vector<AppliedMigration>& applied);

}  // namespace arca
