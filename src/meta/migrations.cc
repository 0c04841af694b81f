#include "meta/migrations.h"

#include <map>

#include "util/utc_time.h"

namespace arca {

MigrationPlan PlanMigrations(std::span<const MigrationStep> known,
                             const std::vector<AppliedMigration>& applied) {
  MigrationPlan plan;
  std::map<int64_t, const AppliedMigration*> done;
  for (const AppliedMigration& a : applied) {
    done[a.version] = &a;
    plan.schema_version = std::max(plan.schema_version, a.version);
  }
  for (const MigrationStep& m : known) {
    plan.code_version = std::max(plan.code_version, m.version);
    if (!done.count(m.version)) plan.pending.push_back(m);
  }
  for (const AppliedMigration& a : applied) {
    if (a.version > plan.code_version && a.serves_from > plan.code_version) {
      plan.can_serve = false;
      plan.why = "schema step " + std::to_string(a.version) + " (" + a.name +
                 ") was applied by a newer arca and needs code of schema version " +
                 std::to_string(a.serves_from) + " or later; this arca knows up to " +
                 std::to_string(plan.code_version) + ": run the newer arca";
      break;
    }
  }
  return plan;
}

std::string DescribeMigrations(std::span<const MigrationStep> known,
                               const std::vector<AppliedMigration>& applied) {
  MigrationPlan plan = PlanMigrations(known, applied);
  std::string out = "schema version " + std::to_string(plan.schema_version) +
                    "; this arca knows up to " + std::to_string(plan.code_version) + "\n";
  for (const AppliedMigration& a : applied) {
    out += "  applied  " + std::to_string(a.version) + " " + a.name + " at " +
           Rfc3339(a.applied_at) + " (serves from " + std::to_string(a.serves_from) + ")" +
           (a.version > plan.code_version ? " [newer than this arca]" : "") + "\n";
  }
  for (const MigrationStep& m : plan.pending) {
    out += "  pending  " + std::to_string(m.version) + " " + m.name + "\n";
  }
  if (!plan.can_serve) {
    out += "cannot serve: " + plan.why + "\n";
  } else if (!plan.pending.empty()) {
    out += std::to_string(plan.pending.size()) + " pending: `arca migrate up` applies them\n";
  } else {
    out += "up to date\n";
  }
  return out;
}

}  // namespace arca
