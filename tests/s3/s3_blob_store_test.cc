// The BlobStore contract on S3, against a real S3 implementation (Ceph RGW, started by
// tests/lib/with_rgw.py, which sets S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY, S3_REGION).
// Each test gets its own key prefix in one bucket. And what only the S3 store promises.
#include <gtest/gtest.h>

#include <cstdlib>

#include "../unit/blob_store_contract.h"
#include "../unit/string_source.h"
#include "../unit/temp_dir.h"
#include "meta/sqlite/sqlite_meta_store.h"
#include "registry/registry.h"
#include "storage/s3/s3_blob_store.h"

namespace arca {
namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) {
    ADD_FAILURE() << name << " is not set: run this through tests/lib/with_rgw.py";
    return "";
  }
  return v;
}

S3StoreOptions TestOptions(uint64_t part) {
  S3StoreOptions o;
  o.client.endpoint = Env("S3_ENDPOINT");
  o.client.region = Env("S3_REGION");
  o.client.bucket = "arca-contract";
  o.client.credentials = {Env("S3_ACCESS_KEY"), Env("S3_SECRET_KEY"), ""};
  o.prefix = "t-" + NewUuid() + "/";
  o.part_size = part;
  o.create_bucket = true;
  return o;
}

struct S3Factory {
  static constexpr uint64_t kPart = 5 << 20;  // S3's smallest part: the most parts per byte
  std::unique_ptr<BlobStore> Make() {
    auto s = S3BlobStore::Open(TestOptions(kPart));
    EXPECT_TRUE(s.ok()) << s.status().detail();
    return s.ok() ? std::move(*s) : nullptr;
  }
};

}  // namespace

namespace contract {
INSTANTIATE_TYPED_TEST_SUITE_P(S3, BlobStoreContract, S3Factory);
}  // namespace contract

namespace {

// The store's objects under its prefix, by key.
std::map<std::string, uint64_t> Objects(S3BlobStore& store, const std::string& bucket_prefix) {
  std::map<std::string, uint64_t> out;
  (void)store.ListBlobs([&](const BlobStore::Listed& l) { out[l.path] = l.size; });
  (void)store.ListUploads([&](const BlobStore::Listed& l) { out[l.path] = l.size; });
  (void)bucket_prefix;
  return out;
}

TEST(S3BlobStoreTest, SmallChunksAreStagedNotCopiedWhole) {
  auto o = TestOptions(5 << 20);
  auto store = S3BlobStore::Open(o);
  ASSERT_TRUE(store.ok()) << store.status().detail();
  std::string id = NewUuid();
  UploadState s = *(*store)->CreateUpload(id);
  std::string all;
  for (int i = 0; i < 5; ++i) {
    std::string chunk = contract::Pattern(1 << 20, 50 + i);
    auto w = (*store)->AppendUpload(id, s);
    ASSERT_TRUE(w.ok()) << w.status().detail();
    ASSERT_TRUE((*w)->Write(chunk.data(), chunk.size()).ok());
    auto next = (*w)->Close();
    ASSERT_TRUE(next.ok()) << next.status().detail();
    (*store)->UploadRecorded(id, s, *next);
    s = *next;
    all += chunk;
    // Below a part, everything is one staging object named for the length, and the previous
    // one is gone once the new state is recorded: never more than a part's worth is staged.
    auto objects = Objects(**store, o.prefix);
    uint64_t staged = 0;
    for (const auto& [k, size] : objects) {
      if (k.find("/tail-") != std::string::npos) staged += size;
    }
    EXPECT_EQ(staged, s.length - s.PartBytes()) << "after chunk " << i;
    EXPECT_LT(staged, 5u << 20);
  }
  EXPECT_EQ(s.parts.size(), 1u) << "5 MiB filled the first part";
  EXPECT_FALSE(s.backend_id.empty());
  Digest d = Digest::Of(DigestAlgorithm::kSha256, all);
  auto w = (*store)->AppendUpload(id, s);
  ASSERT_TRUE((*w)->Commit(d).ok());
  ASSERT_TRUE((*store)->DeleteUpload(id, s).ok());  // the session ends
  auto objects = Objects(**store, o.prefix);
  EXPECT_EQ(objects.size(), 1u) << "only the blob remains";
  EXPECT_EQ(objects.begin()->second, all.size());
}

// A commit whose metadata record then failed is tried again by the client from the same
// recorded state: the multipart upload is spent by then, and the tail must still be there.
TEST(S3BlobStoreTest, ACommitCanBeTriedAgainFromItsState) {
  auto store = S3BlobStore::Open(TestOptions(5 << 20));
  ASSERT_TRUE(store.ok());
  for (size_t size : {size_t{300}, size_t{(5 << 20) + 300}}) {  // a tail only; parts and a tail
    std::string data = contract::Pattern(size, 70);
    Digest d = Digest::Of(DigestAlgorithm::kSha256, data);
    std::string id = NewUuid();
    UploadState s = *(*store)->CreateUpload(id);
    auto w = (*store)->AppendUpload(id, s);
    ASSERT_TRUE((*w)->Write(data.data(), data.size()).ok());
    auto next = (*w)->Close();
    ASSERT_TRUE(next.ok());
    s = *next;
    for (int attempt = 0; attempt < 2; ++attempt) {
      auto again = (*store)->AppendUpload(id, s);
      ASSERT_TRUE(again.ok()) << again.status().detail();
      Status c = (*again)->Commit(d);
      ASSERT_TRUE(c.ok()) << "attempt " << attempt << ": " << c.detail();
    }
    auto size_now = (*store)->BlobSize(d);
    ASSERT_TRUE(size_now.ok());
    EXPECT_EQ(*size_now, size);
    ASSERT_TRUE((*store)->DeleteUpload(id, s).ok());
    // Nothing of this upload is left under uploads/ (neither objects nor multipart uploads).
    size_t left = 0;
    ASSERT_TRUE((*store)->ListUploads([&](const BlobStore::Listed& l) { left += l.name == id; }).ok());
    EXPECT_EQ(left, 0u);
  }
}

// A bucket shared with other tools: their multipart uploads are neither listed nor aborted.
TEST(S3BlobStoreTest, OtherToolsMultipartUploadsAreLeftAlone) {
  auto o = TestOptions(5 << 20);
  auto store = S3BlobStore::Open(o);
  ASSERT_TRUE(store.ok());
  auto& c = (*store)->client();
  std::string foreign = o.prefix + "other-tool/big.iso";
  auto started = c.Do({"POST", foreign, {{"uploads", ""}}, {}, {}});
  ASSERT_TRUE(started.ok() && started->status == 200);
  std::vector<BlobStore::Listed> seen;
  ASSERT_TRUE((*store)->ListUploads([&](const BlobStore::Listed& l) { seen.push_back(l); }).ok());
  for (const auto& l : seen) EXPECT_EQ(l.path.find("other-tool"), std::string::npos) << l.path;
  BlobStore::Listed forged{"", "multipart " + foreign + " x", 0, 0};
  EXPECT_FALSE((*store)->RemoveListed(forged).ok());
}

// Two processes took the same chunk (many replicas): the one whose state was recorded wins,
// and the other one's late writes cannot change the bytes the recorded state names, even
// when both chunks have the same length.
TEST(S3BlobStoreTest, ALateWriterCannotReplaceTheRecordedTail) {
  auto store = S3BlobStore::Open(TestOptions(5 << 20));
  ASSERT_TRUE(store.ok());
  std::string id = NewUuid();
  UploadState s0 = *(*store)->CreateUpload(id);
  auto chunk = [&](const UploadState& at, const std::string& data) {
    auto w = (*store)->AppendUpload(id, at);
    EXPECT_TRUE(w.ok());
    EXPECT_TRUE((*w)->Write(data.data(), data.size()).ok());
    auto next = (*w)->Close();
    EXPECT_TRUE(next.ok());
    return *next;
  };
  UploadState s3 = chunk(s0, "abc");
  auto loser = (*store)->AppendUpload(id, s3);  // opened before the winner recorded
  ASSERT_TRUE(loser.ok());
  UploadState s5 = chunk(s3, "XY");  // the winner, recorded
  ASSERT_TRUE((*loser)->Write("QZ", 2).ok());
  ASSERT_TRUE((*loser)->Close().ok());  // its compare-and-set then fails
  Digest d = Digest::Of(DigestAlgorithm::kSha256, "abcXY");
  auto w = (*store)->AppendUpload(id, s5);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Commit(d).ok());
  auto body = (*store)->OpenBlob(d, 0, 5);
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(contract::ReadAll(**body), "abcXY");
  ASSERT_TRUE((*store)->DeleteUpload(id, s5).ok());
}

// Each open writer holds up to a part in memory: past max_writers, TOOMANYREQUESTS, and a
// place frees up when a writer ends.
TEST(S3BlobStoreTest, OpenWritersAreCapped) {
  auto o = TestOptions(5 << 20);
  o.max_writers = 2;
  auto store = S3BlobStore::Open(o);
  ASSERT_TRUE(store.ok());
  std::vector<std::unique_ptr<UploadWriter>> open;
  for (int i = 0; i < 2; ++i) {
    std::string id = NewUuid();
    auto w = (*store)->AppendUpload(id, *(*store)->CreateUpload(id));
    ASSERT_TRUE(w.ok());
    open.push_back(std::move(*w));
  }
  std::string id = NewUuid();
  UploadState s0 = *(*store)->CreateUpload(id);
  auto refused = (*store)->AppendUpload(id, s0);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), ErrorCode::kTooManyRequests);
  open.pop_back();
  auto w = (*store)->AppendUpload(id, s0);
  ASSERT_TRUE(w.ok()) << w.status().detail();
  // A refused open of an upload with a staged tail gives its place back too.
  ASSERT_TRUE((*w)->Write("abc", 3).ok());
  UploadState s3 = *(*w)->Close();
  w->reset();
  UploadState gone = s3;
  gone.backend_id = "- - nosuchtoken";
  EXPECT_EQ((*store)->AppendUpload(id, gone).status().code(), ErrorCode::kBlobUploadInvalid);
  EXPECT_TRUE((*store)->AppendUpload(id, s3).ok()) << "the failed open kept no place";
}

TEST(S3BlobStoreTest, AbandonedMultipartUploadsAreListedAndAborted) {
  auto store = S3BlobStore::Open(TestOptions(5 << 20));
  ASSERT_TRUE(store.ok());
  std::string id = NewUuid();
  UploadState s = *(*store)->CreateUpload(id);
  std::string big = contract::Pattern((5 << 20) + 1, 60);
  auto w = (*store)->AppendUpload(id, s);
  ASSERT_TRUE((*w)->Write(big.data(), big.size()).ok());
  ASSERT_TRUE((*w)->Close().ok());
  w->reset();  // the session row is then lost (a crash): only a listing finds the upload
  std::vector<BlobStore::Listed> multipart;
  ASSERT_TRUE((*store)->ListUploads([&](const BlobStore::Listed& l) {
    if (l.path.starts_with("multipart ")) multipart.push_back(l);
  }).ok());
  ASSERT_EQ(multipart.size(), 1u);
  EXPECT_EQ(multipart[0].name, id);
  EXPECT_GT(multipart[0].mtime, 0);
  ASSERT_TRUE((*store)->RemoveListed(multipart[0]).ok());
  size_t left = 0;
  ASSERT_TRUE((*store)->ListUploads([&](const BlobStore::Listed& l) {
    left += l.path.starts_with("multipart ");
  }).ok());
  EXPECT_EQ(left, 0u);
}

TEST(S3BlobStoreTest, PresignedUrlServesTheBlobAndRanges) {
  auto store = S3BlobStore::Open(TestOptions(5 << 20));
  ASSERT_TRUE(store.ok());
  std::string id = NewUuid();
  std::string data = "presigned content";
  Digest d = Digest::Of(DigestAlgorithm::kSha256, data);
  auto w = (*store)->AppendUpload(id, *(*store)->CreateUpload(id), d);
  ASSERT_TRUE((*w)->Write(data.data(), data.size()).ok());
  ASSERT_TRUE((*w)->Commit(d).ok());
  std::string url = (*store)->DirectUrl(d, 300).value_or("");
  std::string cmd = "curl -sf -H 'Range: bytes=10-16' '" + url + "'";
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  char buf[64] = {0};
  size_t n = fread(buf, 1, sizeof buf - 1, p);
  EXPECT_EQ(pclose(p), 0) << url;
  EXPECT_EQ(std::string(buf, n), "content");
  // A tampered signature is refused by the store.
  std::string bad = url;
  bad.back() = bad.back() == '0' ? '1' : '0';
  EXPECT_NE(std::system(("curl -sf -o /dev/null '" + bad + "'").c_str()), 0);
}

// What the registry trusts of S3 (StatTrustSeconds): within stat_cache seconds of a size the
// store confirmed, a HEAD is answered from the metadata alone (no round trip to the store);
// with stat_cache=0 every HEAD asks, and bytes removed behind the registry's back are unknown
// at once.
TEST(S3BlobStoreTest, TheRegistryTrustsAConfirmedSizeForStatCacheSeconds) {
  for (int64_t trust : {int64_t{3600}, int64_t{0}}) {
    S3StoreOptions o = TestOptions(S3Factory::kPart);
    o.stat_cache = trust;
    auto store = S3BlobStore::Open(o);
    ASSERT_TRUE(store.ok()) << store.status().detail();
    testing::TempDir dir;
    auto meta = SqliteMetaStore::Open(dir.path() + "/meta.db");
    ASSERT_TRUE(meta.ok()) << meta.status().detail();
    Registry registry(**meta, **store);
    auto ctx = RequestContext::For("user:tester", "req-1", std::chrono::minutes(1));
    std::string data = "trusted for " + std::to_string(trust) + " s";
    Digest d = Digest::Of(DigestAlgorithm::kSha256, data);
    testing::StringSource body(data);
    ASSERT_TRUE(registry.PushBlob(ctx, "r", d, body).ok());
    ASSERT_EQ(*registry.StatBlob("r", d), data.size());  // confirmed by the store
    ASSERT_TRUE((*store)->DeleteBlob(d).ok());           // behind the registry's back
    auto again = registry.StatBlob("r", d);
    if (trust > 0) {
      EXPECT_TRUE(again.ok()) << "answered from the confirmed size";
    } else {
      EXPECT_EQ(again.status().code(), ErrorCode::kBlobUnknown);
    }
  }
}

TEST(S3BlobStoreTest, UrlSettingIsValidated) {
  setenv("AWS_ACCESS_KEY_ID", "a", 1);
  setenv("AWS_SECRET_ACCESS_KEY", "b", 1);
  auto ok = ParseS3Url("s3://my-bucket/some/prefix?endpoint=http://127.0.0.1:7480&region=eu-1&part_size=6291456");
  ASSERT_TRUE(ok.ok()) << ok.status().detail();
  EXPECT_EQ(ok->client.bucket, "my-bucket");
  EXPECT_EQ(ok->prefix, "some/prefix/");
  EXPECT_EQ(ok->client.region, "eu-1");
  EXPECT_EQ(ok->part_size, 6291456u);
  EXPECT_TRUE(ok->client.path_style);
  auto aws = ParseS3Url("s3://b-b-b?region=us-west-2");
  ASSERT_TRUE(aws.ok());
  EXPECT_EQ(aws->client.endpoint, "https://s3.us-west-2.amazonaws.com");
  EXPECT_FALSE(aws->client.path_style);
  EXPECT_EQ(aws->stat_cache, 10);
  EXPECT_EQ(ParseS3Url("s3://b-b-b?stat_cache=0")->stat_cache, 0);
  for (const char* bad : {"s3://", "s3://AB", "s3://ok-bucket/../x", "s3://ok-bucket?part_size=1",
                          "s3://ok-bucket?endpoint=ftp://x", "s3://ok-bucket?bogus=1",
                          "s3://ok-bucket?addressing=sideways", "http://x",
                          "s3://ok-bucket?stat_cache=-1", "s3://ok-bucket?stat_cache=x"}) {
    EXPECT_FALSE(ParseS3Url(bad).ok()) << bad;
  }
  unsetenv("AWS_SECRET_ACCESS_KEY");
  EXPECT_FALSE(ParseS3Url("s3://ok-bucket").ok()) << "no credentials";
}

}  // namespace
}  // namespace arca
