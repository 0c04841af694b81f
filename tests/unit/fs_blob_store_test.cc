// The BlobStore contract on the filesystem, and what only the filesystem store promises.
#include <gtest/gtest.h>

#include <filesystem>

#include "blob_store_contract.h"
#include "storage/fs/fs_blob_store.h"
#include "temp_dir.h"

namespace arca {
namespace {

struct FsFactory {
  static constexpr uint64_t kPart = 5 << 20;  // no parts on disk; sizes the tests' data
  std::vector<std::unique_ptr<testing::TempDir>> dirs;
  std::unique_ptr<BlobStore> Make() {
    dirs.push_back(std::make_unique<testing::TempDir>());
    auto s = FsBlobStore::Open(dirs.back()->path());
    return s.ok() ? std::move(*s) : nullptr;
  }
};

}  // namespace

namespace contract {
INSTANTIATE_TYPED_TEST_SUITE_P(Fs, BlobStoreContract, FsFactory);
}  // namespace contract

namespace {

TEST(FsBlobStoreTest, FileLayoutAndSendfileSpan) {
  testing::TempDir dir;
  auto store = FsBlobStore::Open(dir.path());
  ASSERT_TRUE(store.ok());
  std::string id = NewUuid();
  auto s0 = (*store)->CreateUpload(id);
  ASSERT_TRUE(s0.ok());
  Digest d = Digest::Of(DigestAlgorithm::kSha256, "zero-copy");
  auto w = (*store)->AppendUpload(id, *s0);
  ASSERT_TRUE((*w)->Write("zero-copy", 9).ok());
  ASSERT_TRUE((*w)->Commit(d).ok());
  EXPECT_TRUE(std::filesystem::exists(dir.path() + "/blobs/sha256/" + d.hex().substr(0, 2) + "/" + d.hex()));
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/uploads/" + id));
  auto body = (*store)->OpenBlob(d, 2, 4);
  ASSERT_TRUE(body.ok());
  auto span = (*body)->AsFile();
  ASSERT_TRUE(span.has_value());
  EXPECT_EQ(span->offset, 2u);
  EXPECT_EQ(span->length, 4u);
}

TEST(FsBlobStoreTest, AnUploadShorterThanItsRecordIsInvalid) {
  testing::TempDir dir;
  auto store = FsBlobStore::Open(dir.path());
  std::string id = NewUuid();
  ASSERT_TRUE((*store)->CreateUpload(id).ok());
  UploadState claimed;
  claimed.length = 100;
  EXPECT_EQ((*store)->AppendUpload(id, claimed).status().code(), ErrorCode::kBlobUploadInvalid);
}

}  // namespace
}  // namespace arca
