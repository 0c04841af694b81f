#include "meta/sql/sql_migrations.h"

namespace arca::sql {

Result<std::vector<AppliedMigration>> ReadApplied(Connection& c, const std::string& exists_sql) {
  std::vector<AppliedMigration> out;
  auto exists = c.HasRow(exists_sql);
  if (!exists.ok()) return exists.status();
  if (!*exists) return out;
  ARCA_PREPARE(q, c, "SELECT version, name, applied_at, serves_from FROM schema_migrations ORDER BY version");
  while (q.Step()) out.push_back({q.Int(0), q.Text(1), q.Int(2), q.Int(3)});
  ARCA_RETURN_IF_ERROR(q.status());
  return out;
}

Status ApplyStep(Connection& c, const MigrationStep& step,
                 const std::function<Status(Connection&)>& apply, int64_t now, const char* begin) {
  ARCA_RETURN_IF_ERROR(c.Exec(begin));
  Status st = [&]() -> Status {
    {
      ARCA_PREPARE(q, c, "SELECT 1 FROM schema_migrations WHERE version = ?");
      bool done = q.Bind(1, step.version).Step();
      ARCA_RETURN_IF_ERROR(q.status());
      if (done) return Status::Ok();
    }
    Status applied = apply(c);
    if (!applied.ok()) {
      return Status(applied.code(), "schema migration failed",
                    "step " + std::to_string(step.version) + " (" + step.name +
                        "): " + applied.message() + ": " + applied.detail() +
                        "; nothing of it was applied, and it can be run again");
    }
    ARCA_PREPARE(ins, c,
                 "INSERT INTO schema_migrations(version, name, applied_at, serves_from) "
                 "VALUES(?, ?, ?, ?)");
    return ins.Bind(1, step.version).Bind(2, step.name).Bind(3, now)
        .Bind(4, step.serves_from).Exec();
  }();
  if (!st.ok()) {
    (void)c.Exec("ROLLBACK");  // may find the transaction ended already: nothing to undo then
    return st;
  }
  return c.Exec("COMMIT");
}

}  // namespace arca::sql
