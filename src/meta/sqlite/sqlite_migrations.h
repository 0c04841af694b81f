// The SQLite schema as versioned steps (meta/migrations.h), and running them.
#pragma once

#include <span>
#include <vector>

#include "meta/migrations.h"
#include "meta/sqlite/sqlite_db.h"

namespace arca::sqlite {

struct Step {
  MigrationStep step;
  Status (*apply)(Connection& c);  // runs inside the step's transaction
};

// This build's steps, in order.
std::span<const Step> Steps();
std::vector<MigrationStep> StepInfo(std::span<const Step> steps = Steps());

// The applied steps (none when the database has no schema_migrations table yet).
Result<std::vector<AppliedMigration>> ReadApplied(Connection& c);
// Applies every step of steps that is not applied yet, in order, each in one transaction with
// its record; stops at the first that fails, which leaves nothing of itself behind.
Status ApplyPending(Connection& c, int64_t now, std::span<const Step> steps = Steps());

}  // namespace arca::sqlite
