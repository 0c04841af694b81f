// Versioned schema steps: the plan (which steps are pending, which schema a build may serve)
// and the SQLite runner (each step whole or not at all, re-runnable after a failure).
#include <gtest/gtest.h>

#include "meta/migrations.h"
#include "meta/sqlite/sqlite_meta_store.h"
#include "meta/sqlite/sqlite_migrations.h"
#include "temp_dir.h"

namespace arca {
namespace {

const MigrationStep kKnown[] = {{1, "one", 1}, {2, "two", 1}, {3, "three", 2}};

TEST(MigrationPlanTest, PendingStepsAreTheKnownOnesNotApplied) {
  auto plan = PlanMigrations(kKnown, {{1, "one", 10, 1}});
  EXPECT_EQ(plan.code_version, 3);
  EXPECT_EQ(plan.schema_version, 1);
  ASSERT_EQ(plan.pending.size(), 2u);
  EXPECT_EQ(plan.pending[0].version, 2);
  EXPECT_EQ(plan.pending[1].version, 3);
  EXPECT_TRUE(plan.can_serve);
  EXPECT_TRUE(PlanMigrations(kKnown, {{1, "one", 1, 1}, {2, "two", 1, 1}, {3, "three", 1, 2}})
                  .pending.empty());
}

TEST(MigrationPlanTest, ANewerExpandStepIsServedANewerContractStepIsNot) {
  std::vector<AppliedMigration> applied = {
      {1, "one", 1, 1}, {2, "two", 1, 1}, {3, "three", 1, 2}, {4, "new-index", 1, 3}};
  auto expand = PlanMigrations(kKnown, applied);
  EXPECT_TRUE(expand.can_serve) << "step 4 keeps code of version 3 serving";
  EXPECT_EQ(expand.schema_version, 4);
  applied.push_back({5, "drop-old-column", 1, 5});
  auto contract = PlanMigrations(kKnown, applied);
  EXPECT_FALSE(contract.can_serve);
  EXPECT_NE(contract.why.find("drop-old-column"), std::string::npos) << contract.why;
  EXPECT_NE(DescribeMigrations(kKnown, applied).find("cannot serve"), std::string::npos);
}

// A step that fails half-way leaves nothing: not its first statement, not its record.
sqlite::Step kGood[] = {
    {{1, "make-t", 1}, [](sqlite::Connection& c) { return c.Exec("CREATE TABLE t(a INTEGER)"); }},
};
sqlite::Step kWithBadStep[] = {
    kGood[0],
    {{2, "half", 1}, [](sqlite::Connection& c) -> Status {
       ARCA_RETURN_IF_ERROR(c.Exec("ALTER TABLE t ADD COLUMN b INTEGER"));
       return c.Exec("THIS IS NOT SQL");
     }},
};
sqlite::Step kFixed[] = {
    kGood[0],
    {{2, "half", 1}, [](sqlite::Connection& c) { return c.Exec("ALTER TABLE t ADD COLUMN b INTEGER"); }},
};

TEST(SqliteMigrationsTest, AFailedStepLeavesNothingAndCanRunAgain) {
  testing::TempDir dir;
  auto c = sqlite::Connection::Open(dir.path() + "/m.db");
  ASSERT_TRUE(c.ok());
  Status failed = sqlite::ApplyPending(**c, 100, kWithBadStep);
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.detail().find("step 2 (half)"), std::string::npos) << failed.detail();
  auto applied = sqlite::ReadApplied(**c);
  ASSERT_TRUE(applied.ok());
  ASSERT_EQ(applied->size(), 1u) << "step 1 stays applied, step 2 is not recorded";
  EXPECT_FALSE(*(*c)->HasRow("SELECT 1 FROM pragma_table_info('t') WHERE name = 'b'"))
      << "the failed step's first statement was rolled back";
  ASSERT_TRUE(sqlite::ApplyPending(**c, 200, kFixed).ok());
  applied = sqlite::ReadApplied(**c);
  ASSERT_EQ(applied->size(), 2u);
  EXPECT_EQ((*applied)[1].applied_at, 200);
  EXPECT_TRUE(*(*c)->HasRow("SELECT 1 FROM pragma_table_info('t') WHERE name = 'b'"));
  ASSERT_TRUE(sqlite::ApplyPending(**c, 300, kFixed).ok()) << "nothing left to do";
  EXPECT_EQ(sqlite::ReadApplied(**c)->size(), 2u);
}

TEST(SqliteMigrationsTest, AStoreOpensAtTheNewestStepAndRefusesATooNewOne) {
  testing::TempDir dir;
  std::string db = dir.path() + "/meta.db";
  {
    auto store = SqliteMetaStore::Open(db);
    ASSERT_TRUE(store.ok());
  }
  auto text = SqliteMetaStore::DescribeSchema(db);
  ASSERT_TRUE(text.ok());
  EXPECT_NE(text->find("applied  1 baseline"), std::string::npos) << *text;
  EXPECT_NE(text->find("applied  2 upload-parts"), std::string::npos) << *text;
  EXPECT_NE(text->find("up to date"), std::string::npos) << *text;
  {
    auto c = sqlite::Connection::Open(db, false);
    ASSERT_TRUE((*c)->Exec("INSERT INTO schema_migrations VALUES(90, 'future-index', 1, 2)").ok());
  }
  EXPECT_TRUE(SqliteMetaStore::Open(db).ok()) << "a newer expand step: still served";
  {
    auto c = sqlite::Connection::Open(db, false);
    ASSERT_TRUE((*c)->Exec("INSERT INTO schema_migrations VALUES(91, 'future-drop', 1, 91)").ok());
  }
  auto refused = SqliteMetaStore::Open(db);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().detail().find("future-drop"), std::string::npos);
}

TEST(SqliteMigrationsTest, ManualMigrationRefusesAStoreWithPendingSteps) {
  testing::TempDir dir;
  std::string db = dir.path() + "/meta.db";
  {
    auto c = sqlite::Connection::Open(db);
    ASSERT_TRUE(sqlite::ApplyPending(**c, 1, sqlite::Steps().first(1)).ok());  // baseline only
  }
  SqliteMetaStore::Options manual;
  manual.migrate = false;
  auto refused = SqliteMetaStore::Open(db, manual);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().detail().find("arca migrate up"), std::string::npos);
  ASSERT_TRUE(SqliteMetaStore::MigrateSchema(db, false).ok());
  EXPECT_TRUE(SqliteMetaStore::Open(db, manual).ok());
  // A brand-new database is set up whatever the mode: there is nothing to upgrade.
  EXPECT_TRUE(SqliteMetaStore::Open(dir.path() + "/new.db", manual).ok());
}

}  // namespace
}  // namespace arca
