// The BlobStore contract, run against every implementation (today: FsBlobStore).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "storage/fs/fs_blob_store.h"
#include "temp_dir.h"
#include "util/random_id.h"

namespace arca {
namespace {

std::string ReadAll(BodySource& src) {
  std::string out;
  char buf[5];
  while (true) {
    auto n = src.Read(buf, sizeof buf);
    EXPECT_TRUE(n.ok());
    if (!n.ok() || *n == 0) return out;
    out.append(buf, *n);
  }
}

class BlobStoreContract : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = FsBlobStore::Open(dir_.path());
    ASSERT_TRUE(s.ok());
    store_ = std::move(*s);
  }
  Digest Commit(const std::string& data) {
    std::string id = NewUuid();
    EXPECT_TRUE(store_->CreateUpload(id).ok());
    auto w = store_->AppendUpload(id, 0);
    EXPECT_TRUE(w.ok());
    EXPECT_TRUE((*w)->Write(data.data(), data.size()).ok());
    EXPECT_TRUE((*w)->Sync().ok());
    Digest d = Digest::Of(DigestAlgorithm::kSha256, data);
    EXPECT_TRUE(store_->CommitUpload(id, data.size(), d).ok());
    return d;
  }
  testing::TempDir dir_;
  std::unique_ptr<BlobStore> store_;
};

TEST_F(BlobStoreContract, UploadBecomesBlobOnlyOnCommit) {
  std::string id = NewUuid();
  ASSERT_TRUE(store_->CreateUpload(id).ok());
  auto w = store_->AppendUpload(id, 0);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Write("hello world", 11).ok());
  Digest d = Digest::Of(DigestAlgorithm::kSha256, "hello world");
  EXPECT_EQ(store_->BlobSize(d).status().code(), ErrorCode::kBlobUnknown);
  ASSERT_TRUE(store_->CommitUpload(id, 11, d).ok());
  EXPECT_EQ(*store_->BlobSize(d), 11u);
  auto body = store_->OpenBlob(d, 6, 5);
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(ReadAll(**body), "world");
  // The upload is gone once committed.
  EXPECT_EQ(store_->AppendUpload(id, 0).status().code(), ErrorCode::kBlobUploadUnknown);
}

TEST_F(BlobStoreContract, OpenRefusesASpanTheStoredBlobDoesNotHold) {
  Digest d = Commit("0123456789");
  EXPECT_TRUE(store_->OpenBlob(d, 0, 10).ok());
  EXPECT_TRUE(store_->OpenBlob(d, 10, 0).ok());
  // The length a source announces is sent as Content-Length: it must be there.
  EXPECT_EQ(store_->OpenBlob(d, 0, 11).status().code(), ErrorCode::kBlobUnknown);
  EXPECT_EQ(store_->OpenBlob(d, 5, 6).status().code(), ErrorCode::kBlobUnknown);
  EXPECT_EQ(store_->OpenBlob(d, 11, 0).status().code(), ErrorCode::kBlobUnknown);
}

TEST_F(BlobStoreContract, AppendDiscardsUnacknowledgedTail) {
  std::string id = NewUuid();
  ASSERT_TRUE(store_->CreateUpload(id).ok());
  {
    auto w = store_->AppendUpload(id, 0);
    ASSERT_TRUE((*w)->Write("abcdefgh", 8).ok());
  }
  {
    auto w = store_->AppendUpload(id, 3);  // only 3 bytes were acknowledged
    ASSERT_TRUE((*w)->Write("XY", 2).ok());
  }
  auto src = store_->ReadUpload(id, 5);
  ASSERT_TRUE(src.ok());
  std::string got(5, '\0');
  ASSERT_EQ(*(*src)->Read(got.data(), 5), 5u);
  EXPECT_EQ(got, "abcXY");
  EXPECT_EQ(store_->AppendUpload(id, 100).status().code(), ErrorCode::kBlobUploadInvalid);
}

TEST_F(BlobStoreContract, CommitOfExistingContentKeepsIt) {
  Digest d = Commit("same");
  Digest again = Commit("same");
  EXPECT_EQ(d, again);
  EXPECT_EQ(*store_->BlobSize(d), 4u);
  ASSERT_TRUE(store_->DeleteBlob(d).ok());
  EXPECT_EQ(store_->BlobSize(d).status().code(), ErrorCode::kBlobUnknown);
  EXPECT_TRUE(store_->DeleteBlob(d).ok());  // idempotent
}

TEST_F(BlobStoreContract, UploadIdsNeverBecomePaths) {
  for (const char* bad : {"../../etc/passwd", "x", "", "00000000-0000-0000-0000-00000000000/"}) {
    EXPECT_EQ(store_->CreateUpload(bad).code(), ErrorCode::kBlobUploadUnknown) << bad;
    EXPECT_EQ(store_->AppendUpload(bad, 0).status().code(), ErrorCode::kBlobUploadUnknown);
  }
  EXPECT_FALSE(std::filesystem::exists(dir_.path() + "/x"));
}

TEST_F(BlobStoreContract, FileLayoutAndSendfileSpan) {
  Digest d = Commit("zero-copy");
  EXPECT_TRUE(std::filesystem::exists(dir_.path() + "/blobs/sha256/" + d.hex().substr(0, 2) + "/" + d.hex()));
  auto body = store_->OpenBlob(d, 2, 4);
  ASSERT_TRUE(body.ok());
  auto span = (*body)->AsFile();
  ASSERT_TRUE(span.has_value());
  EXPECT_EQ(span->offset, 2u);
  EXPECT_EQ(span->length, 4u);
}

}  // namespace
}  // namespace arca
