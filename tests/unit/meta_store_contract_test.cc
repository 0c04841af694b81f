// The MetaStore contract, run against every implementation (meta_backend.h).
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "meta_backend.h"
#include "meta_fixtures.h"
#include "temp_dir.h"

namespace arca {
namespace {

class MetaStoreContract : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    backend_ = testing::NewMetaBackend(GetParam(), dir_.path());
    auto s = backend_->Open();
    ASSERT_TRUE(s.ok()) << s.status().detail();
    meta_ = std::move(*s);
  }
  testing::TempDir dir_;
  std::unique_ptr<testing::MetaBackend> backend_;
  std::unique_ptr<MetaStore> meta_;
};

TEST_P(MetaStoreContract, BlobLinksArePerRepository) {
  ASSERT_TRUE(meta_->LinkBlob("a", D('1'), 10).ok());
  EXPECT_EQ(**meta_->BlobInRepository("a", D('1')), 10u);
  EXPECT_FALSE(meta_->BlobInRepository("b", D('1'))->has_value());
  EXPECT_FALSE(meta_->MountBlob("b", D('1'), "c")->has_value());  // not in c
  EXPECT_EQ(**meta_->MountBlob("b", D('1'), "a"), 10u);
  EXPECT_EQ(**meta_->MountBlob("z", D('1'), ""), 10u);  // from anywhere
  EXPECT_TRUE(meta_->BlobInRepository("b", D('1'))->has_value());
  EXPECT_TRUE(*meta_->UnlinkBlob("a", D('1')));
  EXPECT_FALSE(*meta_->UnlinkBlob("a", D('1')));
  EXPECT_TRUE(meta_->BlobInRepository("b", D('1'))->has_value());
}

TEST_P(MetaStoreContract, UploadsAdvanceByCompareAndSet) {
  UploadRecord u{"id-1", "repo", 0, "state0", 1, 1, "", ""};
  ASSERT_TRUE(meta_->CreateUpload(u).ok());
  EXPECT_TRUE(*meta_->RepositoryExists("repo"));
  UploadRecord next = u;
  next.offset = 5;
  next.hash_state = "state5";
  next.updated_at = 2;
  next.backend_id = "uploads/x/data upload-1";
  next.parts = "[[1,5,\"etag\"]]";
  EXPECT_TRUE(*meta_->AdvanceUpload("id-1", 0, next));
  UploadRecord stale = next;
  stale.offset = 9;
  stale.hash_state = "stale";
  EXPECT_FALSE(*meta_->AdvanceUpload("id-1", 0, stale));  // someone moved it
  auto got = meta_->GetUpload("id-1");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->offset, 5u);
  EXPECT_EQ((*got)->hash_state, "state5");
  EXPECT_EQ((*got)->repository, "repo");
  EXPECT_EQ((*got)->backend_id, "uploads/x/data upload-1");
  EXPECT_EQ((*got)->parts, "[[1,5,\"etag\"]]");
  EXPECT_EQ((*got)->updated_at, 2);
  ASSERT_TRUE(meta_->DeleteUpload("id-1").ok());
  EXPECT_FALSE(meta_->GetUpload("id-1")->has_value());
  EXPECT_FALSE(*meta_->AdvanceUpload("id-1", 5, next));
}

TEST_P(MetaStoreContract, ManifestNeedsItsBlobsInTheSameRepository) {
  ASSERT_TRUE(meta_->LinkBlob("other", D('c'), 3).ok());
  auto m = Manifest(D('m'), {{RefKind::kConfig, Desc(D('c'), 3), false}}, {"v1"});
  EXPECT_EQ(meta_->PutManifest("repo", m).code(), ErrorCode::kManifestBlobUnknown);
  EXPECT_FALSE(meta_->GetTaggedManifest("repo", "v1")->has_value());  // rolled back
  ASSERT_TRUE(meta_->LinkBlob("repo", D('c'), 3).ok());
  auto wrong = Manifest(D('m'), {{RefKind::kConfig, Desc(D('c'), 4), false}});
  EXPECT_EQ(meta_->PutManifest("repo", wrong).code(), ErrorCode::kManifestInvalid);
  ASSERT_TRUE(meta_->PutManifest("repo", m).ok());
  auto got = meta_->GetTaggedManifest("repo", "v1");
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->content, m.record.content);
  // Foreign layers are not required.
  auto foreign = Manifest(D('f'), {{RefKind::kLayer, Desc(D('e'), 9), true}});
  EXPECT_TRUE(meta_->PutManifest("repo", foreign).ok());
}

TEST_P(MetaStoreContract, IndexNeedsItsChildren) {
  auto index = Manifest(D('i'), {{RefKind::kManifest, Desc(D('m'), 20), false}});
  EXPECT_EQ(meta_->PutManifest("repo", index).code(), ErrorCode::kManifestBlobUnknown);
  auto child = Manifest(D('m'), {});
  ASSERT_TRUE(meta_->PutManifest("repo", child).ok());
  index.refs[0].descriptor.size = child.record.size;
  EXPECT_TRUE(meta_->PutManifest("repo", index).ok());
}

TEST_P(MetaStoreContract, TagsMoveAndDeleteCascades) {
  ASSERT_TRUE(meta_->PutManifest("repo", Manifest(D('1'), {}, {"a", "b"})).ok());
  ASSERT_TRUE(meta_->PutManifest("repo", Manifest(D('2'), {}, {"b"})).ok());
  EXPECT_EQ((*meta_->GetTaggedManifest("repo", "b"))->digest, D('2'));
  EXPECT_TRUE(*meta_->DeleteManifest("repo", D('1'), 0));
  EXPECT_FALSE(meta_->GetTaggedManifest("repo", "a")->has_value());
  EXPECT_TRUE(*meta_->DeleteTag("repo", "b", 0));
  EXPECT_TRUE(meta_->GetManifest("repo", D('2'))->has_value());
  EXPECT_FALSE(*meta_->DeleteTag("repo", "b", 0));
  EXPECT_FALSE(*meta_->DeleteManifest("repo", D('1'), 0));
}

TEST_P(MetaStoreContract, TagsGenerationMovesWithEveryTagChange) {
  EXPECT_FALSE(meta_->TagsGeneration("repo")->has_value());
  ASSERT_TRUE(meta_->PutManifest("repo", Manifest(D('1'), {}, {"a"})).ok());
  int64_t g1 = **meta_->TagsGeneration("repo");
  ASSERT_TRUE(meta_->PutManifest("repo", Manifest(D('2'), {})).ok());  // no tags: no change
  EXPECT_EQ(**meta_->TagsGeneration("repo"), g1);
  ASSERT_TRUE(meta_->PutManifest("repo", Manifest(D('2'), {}, {"a"})).ok());  // tag moved
  int64_t g2 = **meta_->TagsGeneration("repo");
  EXPECT_NE(g2, g1);
  ASSERT_TRUE(*meta_->DeleteManifest("repo", D('2'), 0));  // its tag went with it
  int64_t g3 = **meta_->TagsGeneration("repo");
  EXPECT_NE(g3, g2);
  ASSERT_TRUE(meta_->PutManifest("repo", Manifest(D('1'), {}, {"b"})).ok());
  int64_t g4 = **meta_->TagsGeneration("repo");
  ASSERT_TRUE(*meta_->DeleteTag("repo", "b", 0));
  EXPECT_NE(**meta_->TagsGeneration("repo"), g4);
}

TEST_P(MetaStoreContract, ListingsPaginateInOrder) {
  std::vector<std::string> tags = {"b", "A", "a", "c", "10", "9"};
  ASSERT_TRUE(meta_->PutManifest("repo", Manifest(D('1'), {}, tags)).ok());
  auto p1 = meta_->ListTags("repo", "", 4);
  EXPECT_EQ(p1->items, (std::vector<std::string>{"10", "9", "A", "a"}));
  EXPECT_TRUE(p1->more);
  auto p2 = meta_->ListTags("repo", "a", 4);
  EXPECT_EQ(p2->items, (std::vector<std::string>{"b", "c"}));
  EXPECT_FALSE(p2->more);
  EXPECT_TRUE(meta_->ListTags("repo", "", 0)->items.empty());
  for (const char* r : {"z", "x/y", "m"}) ASSERT_TRUE(meta_->LinkBlob(r, D('9'), 1).ok());
  auto repos = meta_->ListRepositories("m", 10);
  EXPECT_EQ(repos->items, (std::vector<std::string>{"repo", "x/y", "z"}));
}

TEST_P(MetaStoreContract, ReferrersBySubjectAndType) {
  ASSERT_TRUE(meta_->PutManifest("repo", Manifest(D('2'), {}, {}, D('s'), "application/sig")).ok());
  ASSERT_TRUE(meta_->PutManifest("repo", Manifest(D('1'), {}, {}, D('s'))).ok());
  ASSERT_TRUE(meta_->PutManifest("repo", Manifest(D('3'), {}, {}, D('t'), "application/sig")).ok());
  ASSERT_TRUE(meta_->PutManifest("other", Manifest(D('4'), {}, {}, D('s'))).ok());
  auto all = meta_->ListReferrers("repo", D('s'), "", "", 10);
  ASSERT_EQ(all->items.size(), 2u);
  EXPECT_EQ(all->items[0].digest, D('1'));
  auto sigs = meta_->ListReferrers("repo", D('s'), "application/sig", "", 10);
  ASSERT_EQ(sigs->items.size(), 1u);
  EXPECT_EQ(sigs->items[0].digest, D('2'));
  auto byconfig = meta_->ListReferrers("repo", D('s'), "application/vnd.oci.image.config.v1+json", "", 10);
  ASSERT_EQ(byconfig->items.size(), 1u);
  EXPECT_EQ(byconfig->items[0].digest, D('1'));
  auto page = meta_->ListReferrers("repo", D('s'), "", "", 1);
  EXPECT_TRUE(page->more);
  EXPECT_TRUE(meta_->ListReferrers("nope", D('s'), "", "", 10)->items.empty());
}

TEST_P(MetaStoreContract, SurvivesReopen) {
  ASSERT_TRUE(meta_->PutManifest("repo", Manifest(D('1'), {}, {"keep"})).ok());
  meta_.reset();
  auto again = backend_->Open();
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE((*again)->GetTaggedManifest("repo", "keep")->has_value());
}

// Type definitions and settings are shared by every process on the store: a second store
// opened on the same database (another replica) sees each change, and the version moves with
// every change and only then.
TEST_P(MetaStoreContract, TypeDefinitionsAndSettingsAreSharedAndVersioned) {
  auto other = backend_->Open();
  ASSERT_TRUE(other.ok()) << other.status().detail();
  int64_t v0 = *meta_->SettingsVersion();
  EXPECT_TRUE(meta_->ListTypeDefinitions()->empty());
  EXPECT_FALSE(meta_->GetSetting("policy")->has_value());

  MetaStore::TypeDefinitionRecord d{"application/vnd.example.b+json", "{\"v\":1}", "<svg/>", 0};
  EXPECT_TRUE(*meta_->PutTypeDefinition(d));  // added
  d.definition = "{\"v\":2}";
  EXPECT_FALSE(*meta_->PutTypeDefinition(d));  // replaced
  EXPECT_TRUE(*meta_->PutTypeDefinition({"application/vnd.example.a+json", "{}", "", 0}));
  int64_t v1 = *(*other)->SettingsVersion();
  EXPECT_GT(v1, v0);
  auto seen = (*other)->ListTypeDefinitions();
  ASSERT_TRUE(seen.ok());
  ASSERT_EQ(seen->size(), 2u);
  EXPECT_EQ((*seen)[0].id, "application/vnd.example.a+json");  // by id
  EXPECT_EQ((*seen)[1].definition, "{\"v\":2}");
  EXPECT_EQ((*seen)[1].logo, "<svg/>");
  EXPECT_GT((*seen)[1].updated_at, 0);

  ASSERT_TRUE(meta_->PutSetting("policy", std::string("rules: []\n")).ok());
  EXPECT_EQ(**(*other)->GetSetting("policy"), "rules: []\n");
  int64_t v2 = *meta_->SettingsVersion();
  EXPECT_GT(v2, v1);
  // Nothing to delete changes nothing, the version included.
  EXPECT_FALSE(*meta_->DeleteTypeDefinition("application/vnd.example.none+json"));
  ASSERT_TRUE(meta_->PutSetting("absent", std::nullopt).ok());
  EXPECT_EQ(*meta_->SettingsVersion(), v2);

  EXPECT_TRUE(*(*other)->DeleteTypeDefinition("application/vnd.example.a+json"));
  ASSERT_TRUE((*other)->PutSetting("policy", std::nullopt).ok());
  EXPECT_EQ(meta_->ListTypeDefinitions()->size(), 1u);
  EXPECT_FALSE(meta_->GetSetting("policy")->has_value());
  EXPECT_GT(*meta_->SettingsVersion(), v2);
}

// /readyz's check: a real write transaction that leaves every value, the settings version too.
TEST_P(MetaStoreContract, CheckWritableWritesNothingVisible) {
  int64_t v = *meta_->SettingsVersion();
  ASSERT_TRUE(meta_->CheckWritable().ok());
  ASSERT_TRUE(meta_->CheckWritable().ok());
  EXPECT_EQ(*meta_->SettingsVersion(), v);
}

// fsck's walks visit every blob and manifest once, blobs in digest order, across their pages.
TEST_P(MetaStoreContract, TheWholeStoreWalksSeeEverythingOnce) {
  std::vector<std::string> digests;
  for (int i = 0; i < 2100; ++i) {  // past two pages of 1000
    digests.push_back(Digest::Of(DigestAlgorithm::kSha256, "blob " + std::to_string(i)).str());
  }
  std::vector<NewManifest> manifests;
  for (int i = 0; i < 150; ++i) {  // past two pages of 64
    manifests.push_back(Manifest(
        Digest::Of(DigestAlgorithm::kSha256, "manifest " + std::to_string(i)).str(), {}, {}));
  }
  for (const auto& d : digests) ASSERT_TRUE(meta_->LinkBlob("walk/a", d, 7).ok());
  for (const auto& m : manifests) ASSERT_TRUE(meta_->PutManifest("walk/b", m).ok());
  std::vector<std::string> seen;
  ASSERT_TRUE(meta_->ForEachBlob([&](const std::string& d, uint64_t size) {
    EXPECT_EQ(size, 7u);
    seen.push_back(d);
  }).ok());
  std::sort(digests.begin(), digests.end());
  EXPECT_EQ(seen, digests);
  std::set<std::string> walked;
  ASSERT_TRUE(meta_->ForEachManifest([&](const std::string& repo, const std::string& digest,
                                         const std::string& content) {
    EXPECT_EQ(repo, "walk/b");
    EXPECT_FALSE(content.empty());
    EXPECT_TRUE(walked.insert(digest).second) << digest << " seen twice";
  }).ok());
  EXPECT_EQ(walked.size(), manifests.size());
}

INSTANTIATE_TEST_SUITE_P(Backends, MetaStoreContract, ::testing::ValuesIn(testing::MetaBackends()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace arca
