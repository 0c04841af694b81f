// Registry rules over the real embedded stores in a temporary directory.
#include "registry/registry.h"

#include <gtest/gtest.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <thread>

#include "meta/sqlite/sqlite_meta_store.h"
#include "storage/fs/fs_blob_store.h"
#include "string_source.h"
#include "temp_dir.h"

namespace arca {
namespace {

using testing::StringSource;

class RegistryTest : public ::testing::Test {
 protected:
  const RequestContext ctx_ = RequestContext::For("user:tester", "req-1", std::chrono::minutes(1));
  void SetUp() override { Reopen(); }
  // Drops every in-memory object and opens the stores again, as a restart would.
  void Reopen() {
    registry_.reset();
    meta_.reset();
    blobs_.reset();
    blobs_ = std::move(*FsBlobStore::Open(dir_.path()));
    meta_ = std::move(*SqliteMetaStore::Open(dir_.path() + "/meta.db"));
    registry_ = std::make_unique<Registry>(*meta_, *blobs_);
  }
  Digest Push(const std::string& repo, const std::string& data) {
    Digest d = Digest::Of(DigestAlgorithm::kSha256, data);
    StringSource body(data);
    EXPECT_TRUE(registry_->PushBlob(ctx_, repo, d, body).ok());
    return d;
  }
  testing::TempDir dir_;
  std::unique_ptr<FsBlobStore> blobs_;
  std::unique_ptr<SqliteMetaStore> meta_;
  std::unique_ptr<Registry> registry_;
};

TEST_F(RegistryTest, ChunkedUploadSurvivesRestart) {
  std::string data = "0123456789abcdefghij";
  auto up = registry_->StartUpload(ctx_, "r");
  ASSERT_TRUE(up.ok());
  StringSource part1(data.substr(0, 8));
  ASSERT_EQ(registry_->AppendUpload(ctx_, "r", up->id, part1, ByteRange{0, 7})->offset, 8u);
  Reopen();
  EXPECT_EQ(registry_->GetUpload("r", up->id)->offset, 8u);
  StringSource overlap("xx");
  EXPECT_EQ(registry_->AppendUpload(ctx_, "r", up->id, overlap, ByteRange{6, 7}).status().code(),
            ErrorCode::kRangeInvalid);
  StringSource rest(data.substr(8));
  Digest d = Digest::Of(DigestAlgorithm::kSha256, data);
  auto size = registry_->FinishUpload(ctx_, "r", up->id, d, rest, std::nullopt);
  ASSERT_TRUE(size.ok()) << size.status().detail();
  EXPECT_EQ(*size, data.size());
  EXPECT_EQ(*registry_->StatBlob("r", d), data.size());
  EXPECT_EQ(registry_->GetUpload("r", up->id).status().code(), ErrorCode::kBlobUploadUnknown);
}

TEST_F(RegistryTest, TruncatedChunkIsNotAcknowledged) {
  auto up = registry_->StartUpload(ctx_, "r");
  StringSource good("abc");
  ASSERT_TRUE(registry_->AppendUpload(ctx_, "r", up->id, good, std::nullopt).ok());
  StringSource cut("defghij", 2, true, /*fail_after=*/4);
  EXPECT_FALSE(registry_->AppendUpload(ctx_, "r", up->id, cut, std::nullopt).ok());
  EXPECT_EQ(registry_->GetUpload("r", up->id)->offset, 3u);
  StringSource tail("def");
  Digest d = Digest::Of(DigestAlgorithm::kSha256, "abcdef");
  EXPECT_TRUE(registry_->FinishUpload(ctx_, "r", up->id, d, tail, std::nullopt).ok());
}

TEST_F(RegistryTest, WrongDigestNeverBecomesABlob) {
  Digest wrong = Digest::Of(DigestAlgorithm::kSha256, "other");
  StringSource body("content");
  EXPECT_EQ(registry_->PushBlob(ctx_, "r", wrong, body).status().code(), ErrorCode::kDigestInvalid);
  EXPECT_EQ(registry_->StatBlob("r", wrong).status().code(), ErrorCode::kBlobUnknown);
  EXPECT_EQ(blobs_->BlobSize(wrong).status().code(), ErrorCode::kBlobUnknown);
  auto up = registry_->StartUpload(ctx_, "r");
  StringSource b2("content");
  EXPECT_EQ(registry_->FinishUpload(ctx_, "r", up->id, wrong, b2, std::nullopt).status().code(),
            ErrorCode::kDigestInvalid);
}

// HEAD and GET must agree: a blob whose bytes are gone or of another size is unknown to both.
TEST_F(RegistryTest, DamagedBlobIsUnknown) {
  auto path = [&](const Digest& d) {
    return dir_.path() + "/blobs/sha256/" + d.hex().substr(0, 2) + "/" + d.hex();
  };
  Digest gone = Push("r", "to be deleted");
  Digest cut = Push("r", "to be truncated");
  Digest grown = Push("r", "to be appended to");
  ASSERT_TRUE(registry_->StatBlob("r", gone).ok());
  std::filesystem::remove(path(gone));
  std::filesystem::resize_file(path(cut), 3);
  std::ofstream(path(grown), std::ios::app) << "more";
  for (const Digest& d : {gone, cut, grown}) {
    EXPECT_EQ(registry_->StatBlob("r", d).status().code(), ErrorCode::kBlobUnknown) << d.str();
  }
  // Cut short between the check and the open: the open refuses rather than announce bytes
  // the file no longer has.
  Digest late = Push("r", "cut after the check");
  auto size = registry_->StatBlob("r", late);
  ASSERT_TRUE(size.ok());
  std::filesystem::resize_file(path(late), 2);
  EXPECT_EQ(registry_->ReadBlob(late, 0, *size).status().code(), ErrorCode::kBlobUnknown);
  EXPECT_EQ(registry_->ReadBlob(late, 1, 5).status().code(), ErrorCode::kBlobUnknown);
}

// StatBlob (HEAD, GET) renews the link's grace, at most once per grace/10: with a 10 s grace,
// once a second. Polls for the renewal (times are whole seconds).
TEST_F(RegistryTest, FindingABlobRenewsItsLinkAtMostOncePerTenthOfTheGrace) {
  registry_->SetBlobGrace(10);
  Digest d = Push("r", "found by a HEAD");
  int64_t pushed = (*meta_->FindBlobLink("r", d.str()))->linked_at;
  ASSERT_TRUE(registry_->StatBlob("r", d).ok());
  int64_t now = static_cast<int64_t>(std::time(nullptr));
  if (now == pushed) {
    EXPECT_EQ((*meta_->FindBlobLink("r", d.str()))->linked_at, pushed) << "renewed at once";
  }
  int64_t linked = pushed;
  for (int i = 0; i < 400 && linked == pushed; ++i) {
    ASSERT_TRUE(registry_->StatBlob("r", d).ok());
    linked = (*meta_->FindBlobLink("r", d.str()))->linked_at;
    if (linked == pushed) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_GT(linked, pushed) << "never renewed";

  // No grace, no renewal.
  registry_->SetBlobGrace(0);
  Digest e = Push("r", "never renewed");
  int64_t e_pushed = (*meta_->FindBlobLink("r", e.str()))->linked_at;
  while (static_cast<int64_t>(std::time(nullptr)) <= e_pushed) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(registry_->StatBlob("r", e).ok());
  EXPECT_EQ((*meta_->FindBlobLink("r", e.str()))->linked_at, e_pushed);
}

TEST_F(RegistryTest, Sha512Uploads) {
  std::string data(3000, 'q');
  Digest d = Digest::Of(DigestAlgorithm::kSha512, data);
  auto up = registry_->StartUpload(ctx_, "r");
  StringSource body(data, 1000);
  ASSERT_TRUE(registry_->FinishUpload(ctx_, "r", up->id, d, body, std::nullopt).ok());
  EXPECT_EQ(*registry_->StatBlob("r", d), 3000u);
  StringSource mono(data);
  EXPECT_TRUE(registry_->PushBlob(ctx_, "s", d, mono).ok());
}

TEST_F(RegistryTest, LargeBodiesOfKnownAndUnknownLengthHashRight) {
  std::string data(9 << 20, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i % 251);
  Digest d = Digest::Of(DigestAlgorithm::kSha256, data);
  StringSource sized(data, 300000, /*announce_length=*/true);
  EXPECT_TRUE(registry_->PushBlob(ctx_, "big", d, sized).ok());
  auto up = registry_->StartUpload(ctx_, "big2");
  StringSource chunked(data.substr(0, 5 << 20), 65536, /*announce_length=*/false);
  ASSERT_TRUE(registry_->AppendUpload(ctx_, "big2", up->id, chunked, std::nullopt).ok());
  StringSource rest(data.substr(5 << 20), 65536, false);
  auto size = registry_->FinishUpload(ctx_, "big2", up->id, d, rest, std::nullopt);
  ASSERT_TRUE(size.ok()) << size.status().detail();
  EXPECT_EQ(*size, data.size());
  Digest wrong = Digest::Of(DigestAlgorithm::kSha256, "not it");
  StringSource again(data, 300000, true);
  EXPECT_EQ(registry_->PushBlob(ctx_, "big3", wrong, again).status().code(), ErrorCode::kDigestInvalid);
}

TEST_F(RegistryTest, TagListingsFollowEveryChange) {
  Digest config = Push("r", "{}");
  std::string manifest =
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":")" +
      config.str() + R"(","size":2},"layers":[]})";
  auto tags = [&] { return registry_->ListTags("r", "", 100)->items; };
  ASSERT_TRUE(registry_->PutManifest(ctx_, "r", *Reference::Parse("b"), "", manifest, {"a"}).ok());
  EXPECT_EQ(tags(), (std::vector<std::string>{"a", "b"}));  // loads the index
  ASSERT_TRUE(registry_->PutManifest(ctx_, "r", *Reference::Parse("c"), "", manifest, {}).ok());
  EXPECT_EQ(tags(), (std::vector<std::string>{"a", "b", "c"}));  // own change followed
  ASSERT_TRUE(registry_->DeleteManifest(ctx_, "r", *Reference::Parse("a")).ok());
  EXPECT_EQ(tags(), (std::vector<std::string>{"b", "c"}));
  // A change this Registry did not make (another replica) is seen through the generation.
  NewManifest other;
  other.record = *meta_->GetTaggedManifest("r", "b").value();
  other.tags = {"z"};
  ASSERT_TRUE(meta_->PutManifest("r", other).ok());
  EXPECT_EQ(tags(), (std::vector<std::string>{"b", "c", "z"}));
  ASSERT_TRUE(registry_->DeleteManifest(ctx_, "r", *Reference::Parse(Digest::Of(DigestAlgorithm::kSha256, manifest).str())).ok());
  EXPECT_TRUE(tags().empty());
  EXPECT_EQ(registry_->ListTags("nope", "", 10).status().code(), ErrorCode::kNameUnknown);
}

TEST_F(RegistryTest, UploadsBelongToTheirRepository) {
  auto up = registry_->StartUpload(ctx_, "r");
  EXPECT_EQ(registry_->GetUpload("other", up->id).status().code(), ErrorCode::kBlobUploadUnknown);
  EXPECT_EQ(registry_->CancelUpload(ctx_, "other", up->id).code(), ErrorCode::kBlobUploadUnknown);
  EXPECT_TRUE(registry_->CancelUpload(ctx_, "r", up->id).ok());
  EXPECT_EQ(registry_->GetUpload("r", up->id).status().code(), ErrorCode::kBlobUploadUnknown);
}

TEST_F(RegistryTest, MountAndDelete) {
  Digest d = Push("a", "shared");
  EXPECT_FALSE(registry_->MountBlob(ctx_, "b", d, "c")->has_value());
  EXPECT_TRUE(registry_->MountBlob(ctx_, "b", d, "a")->has_value());
  ASSERT_TRUE(registry_->DeleteBlob(ctx_, "a", d).ok());
  EXPECT_EQ(registry_->StatBlob("a", d).status().code(), ErrorCode::kBlobUnknown);
  EXPECT_TRUE(registry_->StatBlob("b", d).ok());
  EXPECT_EQ(registry_->DeleteBlob(ctx_, "a", d).code(), ErrorCode::kBlobUnknown);
}

TEST_F(RegistryTest, ManifestPushByTagAndDigest) {
  Digest config = Push("r", "{}");
  std::string manifest =
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":")" +
      config.str() + R"(","size":2},"layers":[],"artifactType":"application/x.test"})";
  Digest md = Digest::Of(DigestAlgorithm::kSha256, manifest);
  auto by_tag = registry_->PutManifest(ctx_, "r", *Reference::Parse("v1"), "", manifest, {"v2"});
  ASSERT_TRUE(by_tag.ok()) << by_tag.status().detail();
  EXPECT_EQ(by_tag->digest, md);
  EXPECT_EQ(registry_->GetManifest("r", *Reference::Parse("v2"))->content, manifest);
  Digest other = Digest::Of(DigestAlgorithm::kSha256, "x");
  EXPECT_EQ(registry_->PutManifest(ctx_, "r", *Reference::Parse(other.str()), "", manifest, {}).status().code(),
            ErrorCode::kDigestInvalid);
  EXPECT_EQ(registry_->GetManifest("nope", *Reference::Parse("v1")).status().code(),
            ErrorCode::kNameUnknown);
  EXPECT_EQ(registry_->GetManifest("r", *Reference::Parse("v9")).status().code(),
            ErrorCode::kManifestUnknown);
  ASSERT_TRUE(registry_->DeleteManifest(ctx_, "r", *Reference::Parse("v1")).ok());
  EXPECT_TRUE(registry_->GetManifest("r", *Reference::Parse(md.str())).ok());
  ASSERT_TRUE(registry_->DeleteManifest(ctx_, "r", *Reference::Parse(md.str())).ok());
  EXPECT_EQ(registry_->GetManifest("r", *Reference::Parse("v2")).status().code(),
            ErrorCode::kManifestUnknown);
}

TEST_F(RegistryTest, MountFromVisibleStopsAtTheRequestDeadline) {
  const std::string data = "bytes held by one repository";
  Digest d = Push("ctx/src", data);
  auto anyone = [](const std::string&) { return true; };
  // A request whose budget is spent gets no mount (the client then uploads), and nothing
  // is linked.
  RequestContext late = RequestContext::For("user:x", "req-late", std::chrono::milliseconds(-1));
  auto none = registry_->MountBlobFromVisible(late, "ctx/dst", d, anyone);
  ASSERT_TRUE(none.ok()) << none.status().message();
  EXPECT_FALSE(none->has_value());
  EXPECT_EQ(registry_->StatBlob("ctx/dst", d).status().code(), ErrorCode::kBlobUnknown);
  // Within its budget the same request mounts.
  auto mounted = registry_->MountBlobFromVisible(ctx_, "ctx/dst", d, anyone);
  ASSERT_TRUE(mounted.ok() && mounted->has_value());
  EXPECT_EQ(*registry_->StatBlob("ctx/dst", d), data.size());
}

}  // namespace
}  // namespace arca
