// The store identity check (registry/store_identity.h): every row of its table, and the two
// stores' halves of it (the metadata's record and the blob store's marker).
#include "registry/store_identity.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "meta/sqlite/sqlite_meta_store.h"
#include "meta_fixtures.h"
#include "storage/fs/fs_blob_store.h"
#include "temp_dir.h"

namespace arca {
namespace {

const std::string kA = "11111111-1111-4111-8111-111111111111";
const std::string kB = "22222222-2222-4222-8222-222222222222";
const std::string kNew = "33333333-3333-4333-8333-333333333333";
StoreIdentity Id(const std::string& id) { return {id, kStoreSchemaVersion}; }

StoreFacts Facts(std::optional<StoreIdentity> recorded, bool records,
                 std::optional<StoreIdentity> marker, bool blobs) {
  return StoreFacts{std::move(recorded), records, std::move(marker), blobs};
}

TEST(StoreIdentityPlan, AFreshRootGetsANewIdOnBothSides) {
  for (bool init : {false, true}) {
    auto p = PlanStoreIdentity(Facts({}, false, {}, false), init, kNew);
    ASSERT_TRUE(p.ok()) << p.status().detail();
    EXPECT_EQ(p->identity, Id(kNew));
    EXPECT_TRUE(p->write_metadata && p->write_marker);
  }
}

TEST(StoreIdentityPlan, MatchingIdsNeedNothing) {
  auto p = PlanStoreIdentity(Facts(Id(kA), true, Id(kA), true), false, kNew);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->identity.id, kA);
  EXPECT_FALSE(p->write_metadata || p->write_marker);
  EXPECT_TRUE(p->note.empty());
}

TEST(StoreIdentityPlan, AnotherStoresDatabaseIsRefusedEvenWithInit) {
  for (bool init : {false, true}) {
    auto p = PlanStoreIdentity(Facts(Id(kA), true, Id(kB), true), init, kNew);
    ASSERT_FALSE(p.ok());
    EXPECT_EQ(p.status().message(), kStoreIdentityProblem);
    EXPECT_NE(p.status().detail().find(kA), std::string::npos);
    EXPECT_NE(p.status().detail().find(kB), std::string::npos);
  }
}

TEST(StoreIdentityPlan, ALostMarkerIsWrittenFromTheDatabase) {
  auto p = PlanStoreIdentity(Facts(Id(kA), true, {}, true), false, kNew);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->identity.id, kA);
  EXPECT_FALSE(p->write_metadata);
  EXPECT_TRUE(p->write_marker);
}

TEST(StoreIdentityPlan, EmptyUnmarkedBlobsBesideRecordsNeedInit) {
  auto p = PlanStoreIdentity(Facts(Id(kA), true, {}, false), false, kNew);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().detail().find("unmounted"), std::string::npos);
  p = PlanStoreIdentity(Facts(Id(kA), true, {}, false), true, kNew);
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->write_marker);
  p = PlanStoreIdentity(Facts(Id(kA), false, {}, false), false, kNew);  // nothing recorded yet
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->write_marker);
}

TEST(StoreIdentityPlan, AStoreFromBeforeIdsIsAdopted) {
  auto p = PlanStoreIdentity(Facts({}, true, {}, true), false, kNew);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->identity, Id(kNew));
  EXPECT_TRUE(p->write_metadata && p->write_marker);
  EXPECT_NE(p->note.find("adopted"), std::string::npos);
}

TEST(StoreIdentityPlan, ADatabaseWithoutIdBesideMarkedBlobsNeedsInit) {
  auto p = PlanStoreIdentity(Facts({}, true, Id(kB), true), false, kNew);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().detail().find("--init"), std::string::npos);
  p = PlanStoreIdentity(Facts({}, true, Id(kB), true), true, kNew);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->identity.id, kB);
  EXPECT_TRUE(p->write_metadata);
}

TEST(StoreIdentityPlan, AnEmptyDatabaseBesideBlobsIsRefusedWithoutInit) {
  for (auto facts : {Facts({}, false, Id(kB), true), Facts({}, false, Id(kB), false),
                     Facts({}, false, {}, true)}) {
    auto p = PlanStoreIdentity(facts, false, kNew);
    ASSERT_FALSE(p.ok());
    EXPECT_NE(p.status().detail().find("missing or empty"), std::string::npos);
    EXPECT_NE(p.status().detail().find("--init"), std::string::npos);
    EXPECT_NE(p.status().detail().find("backup"), std::string::npos);
    auto init = PlanStoreIdentity(facts, true, kNew);
    ASSERT_TRUE(init.ok());
    EXPECT_EQ(init->identity.id, facts.marker ? kB : kNew);  // the blobs keep their store's id
    EXPECT_TRUE(init->write_metadata && init->write_marker);
  }
}

TEST(StoreIdentityPlan, ANewerSchemaIsRefusedAnOlderOneUpdated) {
  StoreIdentity newer{kA, kStoreSchemaVersion + 1};
  EXPECT_FALSE(PlanStoreIdentity(Facts(newer, true, newer, true), true, kNew).ok());
  StoreIdentity older{kA, 1};
  auto p = PlanStoreIdentity(Facts(older, true, older, true), false, kNew);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->identity, Id(kA));
  EXPECT_TRUE(p->write_metadata && p->write_marker);
}

// The stores' halves, on disk.
class StoreIdentityOnDisk : public ::testing::Test {
 protected:
  testing::TempDir dir_;
};

TEST_F(StoreIdentityOnDisk, RecordAndMarkerRoundTrip) {
  auto meta = SqliteMetaStore::Open(dir_.path() + "/meta.db");
  auto blobs = FsBlobStore::Open(dir_.path());
  ASSERT_TRUE(meta.ok() && blobs.ok());
  auto facts = GatherStoreFacts(**meta, **blobs);
  ASSERT_TRUE(facts.ok()) << facts.status().detail();
  EXPECT_FALSE(facts->recorded || facts->records || facts->marker || facts->blobs);

  auto plan = PlanStoreIdentity(*facts, false, kA);
  ASSERT_TRUE(plan.ok());
  ASSERT_TRUE(ApplyStoreIdentity(**meta, **blobs, *plan).ok());
  facts = GatherStoreFacts(**meta, **blobs);
  ASSERT_TRUE(facts.ok());
  EXPECT_EQ(facts->recorded, Id(kA));
  EXPECT_EQ(facts->marker, Id(kA));
  EXPECT_FALSE(facts->blobs) << "the marker is not a blob";
  EXPECT_FALSE(facts->records) << "the identity is not a record";

  ASSERT_TRUE((*meta)->LinkBlob("repo", D('1'), 1).ok());
  std::filesystem::create_directories(dir_.path() + "/blobs/sha256/ab");
  std::ofstream(dir_.path() + "/blobs/sha256/ab/ab00") << "x";
  facts = GatherStoreFacts(**meta, **blobs);
  EXPECT_TRUE(facts->records && facts->blobs);

  std::string listed;
  ASSERT_TRUE((*blobs)->ListBlobs([&](const BlobStore::Listed& f) { listed += f.path; }).ok());
  EXPECT_EQ(listed.find(".arca-store"), std::string::npos) << "fsck must not see the marker";
}

TEST_F(StoreIdentityOnDisk, AGarbledMarkerIsAnError) {
  auto blobs = FsBlobStore::Open(dir_.path());
  ASSERT_TRUE(blobs.ok());
  std::ofstream(dir_.path() + "/blobs/.arca-store") << "not a marker\n";
  auto m = (*blobs)->ReadStoreMarker();
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().detail().find(".arca-store"), std::string::npos);
}

}  // namespace
}  // namespace arca
