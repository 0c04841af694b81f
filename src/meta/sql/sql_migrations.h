// Running versioned schema steps (meta/migrations.h), the same way on every database: each
// dialect lists its steps and their SQL (meta/sqlite/sqlite_migrations.cc,
// meta/postgres/pg_migrations.cc) and says how a transaction begins.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "meta/migrations.h"
#include "meta/sql/sql_conn.h"

namespace arca::sql {

// The rows of schema_migrations, none when the table does not exist (exists_sql returns a row
// when it does).
Result<std::vector<AppliedMigration>> ReadApplied(Connection& c, const std::string& exists_sql);

// Applies step in a transaction of its own (begun with `begin`) together with its row in
// schema_migrations, unless a row says it is applied already (another process got there
// first). A step that fails leaves nothing of itself and can run again.
Status ApplyStep(Connection& c, const MigrationStep& step,
                 const std::function<Status(Connection&)>& apply, int64_t now, const char* begin);

}  // namespace arca::sql
