// The BlobStore contract (storage/blob_store.h): one typed suite, instantiated for every
// implementation: the filesystem in blob_store_contract_fs_test.cc, S3 (against a real Ceph
// RGW) in tests/s3/. A factory type F gives a fresh, empty store per test:
//   std::unique_ptr<BlobStore> Make();   static constexpr uint64_t kPart;  (the part size)
#pragma once

#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "storage/blob_store.h"
#include "util/random_id.h"
#include "util/sha.h"

namespace arca::contract {

inline std::string ReadAll(ByteSource& src) {
  std::string out;
  std::string buf(64 << 10, '\0');
  while (true) {
    auto n = src.Read(buf.data(), buf.size());
    EXPECT_TRUE(n.ok()) << n.status().detail();
    if (!n.ok() || *n == 0) return out;
    out.append(buf.data(), *n);
  }
}

// Bytes that differ at every position, so a misplaced part shows.
inline std::string Pattern(size_t n, unsigned seed) {
  std::string s(n, '\0');
  uint32_t x = seed * 2654435761u + 1;
  for (size_t i = 0; i < n; ++i) {
    x = x * 1664525u + 1013904223u;
    s[i] = static_cast<char>(x >> 24);
  }
  return s;
}

template <typename F>
class BlobStoreContract : public ::testing::Test {
 protected:
  static constexpr uint64_t kPart = F::kPart;
  void SetUp() override {
    store_ = factory_.Make();
    ASSERT_TRUE(store_ != nullptr);
  }

  // One acknowledged chunk: a writer from the recorded state, closed; returns the new state,
  // which the metadata then records (unless record is false: a crash before the record).
  UploadState Chunk(const std::string& id, const UploadState& at, const std::string& data,
                    bool record = true) {
    auto w = store_->AppendUpload(id, at);
    EXPECT_TRUE(w.ok()) << w.status().detail();
    if (!w.ok()) return at;
    EXPECT_TRUE((*w)->Write(data.data(), data.size()).ok());
    auto s = (*w)->Close();
    EXPECT_TRUE(s.ok()) << s.status().detail();
    if (!s.ok()) return at;
    EXPECT_EQ(s->length, at.length + data.size());
    if (record) store_->UploadRecorded(id, at, *s);
    return *s;
  }
  Status CommitAt(const std::string& id, const UploadState& at, const Digest& d) {
    auto w = store_->AppendUpload(id, at);
    if (!w.ok()) return w.status();
    return (*w)->Commit(d);
  }
  Digest Put(const std::string& data) {
    std::string id = NewUuid();
    auto s0 = store_->CreateUpload(id);
    EXPECT_TRUE(s0.ok());
    Digest d = Digest::Of(DigestAlgorithm::kSha256, data);
    auto w = store_->AppendUpload(id, *s0, d);
    EXPECT_TRUE(w.ok());
    EXPECT_TRUE((*w)->Write(data.data(), data.size()).ok());
    Status c = (*w)->Commit(d);
    EXPECT_TRUE(c.ok()) << c.detail();
    return d;
  }
  std::string Blob(const Digest& d) {
    auto size = store_->BlobSize(d);
    if (!size.ok()) return "<" + size.status().message() + ">";
    auto body = store_->OpenBlob(d, 0, *size);
    EXPECT_TRUE(body.ok()) << body.status().detail();
    return body.ok() ? ReadAll(**body) : "";
  }
  std::set<std::string> UploadNames() {
    std::set<std::string> names;
    EXPECT_TRUE(store_->ListUploads([&](const BlobStore::Listed& l) { names.insert(l.name); }).ok());
    return names;
  }

  F factory_;
  std::unique_ptr<BlobStore> store_;
};

TYPED_TEST_SUITE_P(BlobStoreContract);

TYPED_TEST_P(BlobStoreContract, UploadBecomesBlobOnlyOnCommit) {
  auto& store = *this->store_;
  std::string id = NewUuid();
  auto s0 = store.CreateUpload(id);
  ASSERT_TRUE(s0.ok());
  UploadState s = this->Chunk(id, *s0, "hello ");
  s = this->Chunk(id, s, "world");
  Digest d = Digest::Of(DigestAlgorithm::kSha256, "hello world");
  EXPECT_EQ(store.BlobSize(d).status().code(), ErrorCode::kBlobUnknown);
  ASSERT_TRUE(this->CommitAt(id, s, d).ok());
  EXPECT_EQ(*store.BlobSize(d), 11u);
  auto body = store.OpenBlob(d, 6, 5);
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(ReadAll(**body), "world");
  // Once the metadata ends the session, the store drops what it kept for a retry.
  ASSERT_TRUE(store.DeleteUpload(id, s).ok());
  EXPECT_EQ(this->UploadNames().count(id), 0u) << "a finished upload leaves nothing behind";
  EXPECT_EQ(*store.BlobSize(d), 11u);
}

TYPED_TEST_P(BlobStoreContract, ChunksResumeFromTheRecordedStateOnly) {
  auto& store = *this->store_;
  std::string id = NewUuid();
  UploadState s = this->Chunk(id, *store.CreateUpload(id), "abc");
  (void)this->Chunk(id, s, "defgh", /*record=*/false);  // closed, but never recorded
  UploadState s5 = this->Chunk(id, s, "XY");
  Digest d = Digest::Of(DigestAlgorithm::kSha256, "abcXY");
  ASSERT_TRUE(this->CommitAt(id, s5, d).ok());
  EXPECT_EQ(this->Blob(d), "abcXY");
}

TYPED_TEST_P(BlobStoreContract, ManyChunksAcrossParts) {
  const uint64_t P = this->kPart;
  std::string data = Pattern(3 * P + P / 2 + 7, 1);
  // Chunks smaller than a part, exactly a part, one byte, and larger than two parts.
  std::vector<size_t> cuts = {P / 2, P / 2 + P, P / 2 + P + 1, P / 2 + P + 1 + 2 * P + 3, data.size()};
  std::string id = NewUuid();
  UploadState s = *this->store_->CreateUpload(id);
  size_t from = 0;
  for (size_t cut : cuts) {
    s = this->Chunk(id, s, data.substr(from, cut - from));
    from = cut;
  }
  ASSERT_EQ(s.length, data.size());
  Digest d = Digest::Of(DigestAlgorithm::kSha256, data);
  Status c = this->CommitAt(id, s, d);
  ASSERT_TRUE(c.ok()) << c.detail();
  EXPECT_EQ(*this->store_->BlobSize(d), data.size());
  EXPECT_TRUE(this->Blob(d) == data);
  auto span = this->store_->OpenBlob(d, P - 3, 10);  // across the first part boundary
  ASSERT_TRUE(span.ok());
  EXPECT_EQ(ReadAll(**span), data.substr(P - 3, 10));
  ASSERT_TRUE(this->store_->DeleteUpload(id, s).ok());
  EXPECT_EQ(this->UploadNames().count(id), 0u);
}

TYPED_TEST_P(BlobStoreContract, ADroppedWriterLeavesTheRecordedStateValid) {
  const uint64_t P = this->kPart;
  std::string a = Pattern(P / 3, 2), lost = Pattern(P + P / 2, 3), b = Pattern(P / 4, 4);
  std::string id = NewUuid();
  UploadState s = this->Chunk(id, *this->store_->CreateUpload(id), a);
  {
    auto w = this->store_->AppendUpload(id, s);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Write(lost.data(), lost.size()).ok());  // a part goes out, then a crash
  }
  s = this->Chunk(id, s, b);
  Digest d = Digest::Of(DigestAlgorithm::kSha256, a + b);
  ASSERT_TRUE(this->CommitAt(id, s, d).ok());
  EXPECT_TRUE(this->Blob(d) == a + b);
}

TYPED_TEST_P(BlobStoreContract, ATargetedWriteIsInvisibleUntilCommit) {
  const uint64_t P = this->kPart;
  std::string data = Pattern(P + P / 2, 5);
  Digest d = Digest::Of(DigestAlgorithm::kSha256, data);
  std::string id = NewUuid();
  auto s0 = this->store_->CreateUpload(id);
  {
    auto w = this->store_->AppendUpload(id, *s0, d);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Write(data.data(), P + 10).ok());  // cut short: never committed
    EXPECT_EQ(this->store_->BlobSize(d).status().code(), ErrorCode::kBlobUnknown);
  }
  EXPECT_EQ(this->store_->BlobSize(d).status().code(), ErrorCode::kBlobUnknown);
  ASSERT_TRUE(this->store_->DeleteUpload(id, *s0).ok());
  EXPECT_EQ(this->Put(data), d);
  EXPECT_TRUE(this->Blob(d) == data);
}

TYPED_TEST_P(BlobStoreContract, CommitOfExistingContentKeepsIt) {
  Digest d = this->Put("same");
  EXPECT_EQ(this->Put("same"), d);
  std::string id = NewUuid();
  UploadState s = this->Chunk(id, *this->store_->CreateUpload(id), "same");
  ASSERT_TRUE(this->CommitAt(id, s, d).ok());
  EXPECT_EQ(this->Blob(d), "same");
  ASSERT_TRUE(this->store_->DeleteUpload(id, s).ok());
  EXPECT_EQ(this->UploadNames().count(id), 0u);
  ASSERT_TRUE(this->store_->DeleteBlob(d).ok());
  EXPECT_EQ(this->store_->BlobSize(d).status().code(), ErrorCode::kBlobUnknown);
  EXPECT_TRUE(this->store_->DeleteBlob(d).ok());  // idempotent
}

TYPED_TEST_P(BlobStoreContract, DeleteUploadRemovesPartsAndStagedBytes) {
  const uint64_t P = this->kPart;
  std::string id = NewUuid();
  UploadState s = this->Chunk(id, *this->store_->CreateUpload(id), Pattern(P + 100, 6));
  EXPECT_EQ(this->UploadNames().count(id), 1u);
  ASSERT_TRUE(this->store_->DeleteUpload(id, s).ok());
  EXPECT_EQ(this->UploadNames().count(id), 0u);
  EXPECT_TRUE(this->store_->DeleteUpload(id, s).ok());  // already gone
}

TYPED_TEST_P(BlobStoreContract, ListingsNameBlobsAndUploads) {
  Digest a = this->Put("first"), b = this->Put(Pattern(1000, 7));
  std::string id = NewUuid();
  (void)this->Chunk(id, *this->store_->CreateUpload(id), "pending");
  std::map<std::string, uint64_t> blobs;
  ASSERT_TRUE(this->store_->ListBlobs([&](const BlobStore::Listed& l) { blobs[l.name] = l.size; }).ok());
  EXPECT_EQ(blobs.size(), 2u);
  EXPECT_EQ(blobs[a.str()], 5u);
  EXPECT_EQ(blobs[b.str()], 1000u);
  EXPECT_EQ(this->UploadNames().count(id), 1u);
}

TYPED_TEST_P(BlobStoreContract, UploadIdsNeverBecomeNames) {
  for (const char* bad : {"../../etc/passwd", "x", "", "00000000-0000-0000-0000-00000000000/"}) {
    EXPECT_EQ(this->store_->CreateUpload(bad).status().code(), ErrorCode::kBlobUploadUnknown) << bad;
    EXPECT_EQ(this->store_->AppendUpload(bad, {}).status().code(), ErrorCode::kBlobUploadUnknown);
    EXPECT_EQ(this->store_->DeleteUpload(bad, {}).code(), ErrorCode::kBlobUploadUnknown);
  }
  BlobStore::Listed outside{"", "/etc/passwd", 0, 0};
  EXPECT_FALSE(this->store_->RemoveListed(outside).ok());
}

TYPED_TEST_P(BlobStoreContract, MarkerAndHoldsBlobs) {
  EXPECT_FALSE(this->store_->ReadStoreMarker()->has_value());
  EXPECT_FALSE(*this->store_->HoldsBlobs());
  StoreIdentity id{NewUuid(), 2};
  ASSERT_TRUE(this->store_->WriteStoreMarker(id).ok());
  EXPECT_EQ(**this->store_->ReadStoreMarker(), id);
  EXPECT_FALSE(*this->store_->HoldsBlobs()) << "the marker is not a blob";
  (void)this->Put("x");
  EXPECT_TRUE(*this->store_->HoldsBlobs());
}

TYPED_TEST_P(BlobStoreContract, OpenRefusesASpanTheStoredBlobDoesNotHold) {
  Digest d = this->Put("0123456789");
  EXPECT_TRUE(this->store_->OpenBlob(d, 0, 10).ok());
  EXPECT_TRUE(this->store_->OpenBlob(d, 10, 0).ok());
  // The length a source announces is sent as Content-Length: it must be there.
  EXPECT_EQ(this->store_->OpenBlob(d, 0, 11).status().code(), ErrorCode::kBlobUnknown);
  EXPECT_EQ(this->store_->OpenBlob(d, 5, 6).status().code(), ErrorCode::kBlobUnknown);
  EXPECT_EQ(this->store_->OpenBlob(d, 11, 0).status().code(), ErrorCode::kBlobUnknown);
  Digest absent = Digest::Of(DigestAlgorithm::kSha256, "absent");
  EXPECT_EQ(this->store_->OpenBlob(absent, 0, 1).status().code(), ErrorCode::kBlobUnknown);
}

TYPED_TEST_P(BlobStoreContract, ReadUploadIsExactOrUnsupported) {
  std::string id = NewUuid();
  UploadState s = this->Chunk(id, *this->store_->CreateUpload(id), "hel");
  s = this->Chunk(id, s, "lo");
  auto src = this->store_->ReadUpload(id, s);
  ASSERT_TRUE(src.ok()) << "an upload without parts can always be read back";
  EXPECT_EQ(ReadAll(**src), "hello");
  s = this->Chunk(id, s, Pattern(this->kPart + 1, 8));
  auto big = this->store_->ReadUpload(id, s);
  if (big.ok()) {
    EXPECT_EQ(ReadAll(**big).size(), s.length);
  } else {
    EXPECT_EQ(big.status().code(), ErrorCode::kUnsupported);
  }
}

TYPED_TEST_P(BlobStoreContract, ConcurrentUploadsOfDistinctAndSameContent) {
  const uint64_t P = this->kPart;
  std::string shared = Pattern(P + 1234, 9);
  Digest shared_d = Digest::Of(DigestAlgorithm::kSha256, shared);
  std::vector<std::thread> threads;
  std::vector<Digest> own(6, shared_d);
  std::vector<int> failures(6, 0);
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      std::string mine = Pattern(100000 + t, 100 + t);
      own[t] = this->Put(mine);
      // The shared content in chunks, through a recorded state, as a chunked push does.
      std::string id = NewUuid();
      UploadState s = *this->store_->CreateUpload(id);
      s = this->Chunk(id, s, shared.substr(0, P / 2));
      s = this->Chunk(id, s, shared.substr(P / 2));
      if (!this->CommitAt(id, s, shared_d).ok()) failures[t]++;
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < 6; ++t) {
    EXPECT_EQ(failures[t], 0);
    EXPECT_EQ(this->Blob(own[t]), Pattern(100000 + t, 100 + t));
  }
  EXPECT_TRUE(this->Blob(shared_d) == shared);
}

REGISTER_TYPED_TEST_SUITE_P(BlobStoreContract, UploadBecomesBlobOnlyOnCommit,
                            ChunksResumeFromTheRecordedStateOnly, ManyChunksAcrossParts,
                            ADroppedWriterLeavesTheRecordedStateValid,
                            ATargetedWriteIsInvisibleUntilCommit, CommitOfExistingContentKeepsIt,
                            DeleteUploadRemovesPartsAndStagedBytes, ListingsNameBlobsAndUploads,
                            UploadIdsNeverBecomeNames, MarkerAndHoldsBlobs,
                            OpenRefusesASpanTheStoredBlobDoesNotHold,
                            ReadUploadIsExactOrUnsupported,
                            ConcurrentUploadsOfDistinctAndSameContent);

}  // namespace arca::contract
