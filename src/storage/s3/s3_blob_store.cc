#include "storage/s3/s3_blob_store.h"

#include <algorithm>
#include <thread>

#include "storage/s3/s3_store_detail.h"
#include "storage/store_marker.h"
#include "util/random_id.h"

namespace arca {

using namespace s3detail;  // NOLINT: this file's own helpers

Result<std::string> S3BlobStore::TakeBuffer() {
  {
    std::lock_guard<std::mutex> lock(buffers_mu_);
    if (writers_ >= o_.max_writers) {
      return Status(ErrorCode::kTooManyRequests, "too many requests",
                    std::to_string(writers_) + " uploads are being written to the blob store; "
                    "try again shortly");
    }
    ++writers_;
    if (!buffers_.empty()) {
      std::string b = std::move(buffers_.back());
      buffers_.pop_back();
      return b;
    }
  }
  std::string b;
  try {
    b.reserve(o_.part_size);
  } catch (const std::bad_alloc&) {
    std::lock_guard<std::mutex> lock(buffers_mu_);
    --writers_;
    return Status(ErrorCode::kUnavailable, "blob storage unavailable",
                  "no memory for an upload buffer of " + std::to_string(o_.part_size) + " bytes");
  }
  return b;
}

void S3BlobStore::ReturnBuffer(std::string buf) {
  buf.clear();
  std::lock_guard<std::mutex> lock(buffers_mu_);
  --writers_;
  if (buffers_.size() < 4 && buf.capacity() >= o_.part_size) buffers_.push_back(std::move(buf));
}

S3BlobStore::S3BlobStore(S3StoreOptions o)
    : o_(std::move(o)), client_(std::make_unique<s3::Client>(o_.client)) {}

Result<std::unique_ptr<S3BlobStore>> S3BlobStore::Open(S3StoreOptions options) {
  std::unique_ptr<S3BlobStore> store(new S3BlobStore(std::move(options)));
  auto head = store->client_->Do({"HEAD", "", {}, {}, {}});
  if (!head.ok()) return head.status();
  if (head->status == 404 && store->o_.create_bucket) {
    auto made = store->client_->Do({"PUT", "", {}, {}, {}});
    if (!made.ok()) return made.status();
    if (!Ok2xx(*made)) return s3::Client::ErrorOf(*made, "creating the bucket");
  } else if (head->status != 200) {
    return Status(ErrorCode::kUnavailable, "blob storage unavailable",
                  "bucket " + store->o_.client.bucket + " at " + store->o_.client.endpoint +
                      " answers HEAD with HTTP " + std::to_string(head->status) +
                      (head->status == 404 ? " (no such bucket; create it, or set create_bucket=true)"
                       : head->status == 403 ? " (check the credentials and the region)"
                                              : ""));
  }
  return store;
}

std::string S3BlobStore::BlobKey(const Digest& digest) const {
  return o_.prefix + "blobs/" + std::string(AlgorithmName(digest.algorithm())) + "/" +
         digest.hex().substr(0, 2) + "/" + digest.hex();
}

std::string S3BlobStore::UploadDir(const std::string& id) const {
  return o_.prefix + "uploads/" + id + "/";
}

std::string S3BlobStore::TailKey(const std::string& id, uint64_t length,
                                 const std::string& token) const {
  return UploadDir(id) + "tail-" + std::to_string(length) + "-" + token;
}

Result<uint64_t> S3BlobStore::BlobSize(const Digest& digest) {
  auto r = client_->Do({"HEAD", BlobKey(digest), {}, {}, {}});
  if (!r.ok()) return r.status();
  if (r->status == 404) return Status(ErrorCode::kBlobUnknown, "blob unknown", digest.str());
  if (r->status != 200) return s3::Client::ErrorOf(*r, "HEAD " + digest.str());
  return static_cast<uint64_t>(std::stoull("0" + r->Header("content-length")));
}

namespace {
class EmptyBody : public BodySource {
 public:
  Result<size_t> Read(char*, size_t) override { return size_t{0}; }
  std::optional<uint64_t> Length() const override { return 0; }
};
}  // namespace

Result<std::unique_ptr<BodySource>> S3BlobStore::OpenBlob(const Digest& digest, uint64_t offset,
                                                          uint64_t length) {
  for (int attempt = 0;; ++attempt) {
    Result<std::unique_ptr<BodySource>> body = Status::Ok();
    if (length == 0) {
      auto size = BlobSize(digest);
      if (size.ok() && *size < offset) {
        return Status(ErrorCode::kBlobUnknown, "blob unknown",
                      "stored object has fewer bytes than the offset asked for");
      }
      body = size.ok() ? Result<std::unique_ptr<BodySource>>(std::make_unique<EmptyBody>())
                       : Result<std::unique_ptr<BodySource>>(size.status());
    } else {
      body = client_->GetRange(BlobKey(digest), offset, length);
    }
    // The metadata records the blob: a miss may be a store that is only eventually
    // consistent, so look again before saying it is gone (not when it is there but short).
    if (body.ok() || body.status().code() != ErrorCode::kBlobUnknown ||
        attempt >= o_.read_after_write_retries || BlobSize(digest).ok()) {
      return body;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100 << attempt));
  }
}

Status S3BlobStore::DeleteKey(const std::string& key) {
  auto r = client_->Do({"DELETE", key, {}, {}, {}});
  if (!r.ok()) return r.status();
  if (!Ok2xx(*r) && r->status != 404) return s3::Client::ErrorOf(*r, "DELETE " + key);
  return Status::Ok();
}

Status S3BlobStore::DeleteBlob(const Digest& digest) { return DeleteKey(BlobKey(digest)); }

Status S3BlobStore::AbortMultipart(const std::string& key, const std::string& upload_id) {
  auto r = client_->Do({"DELETE", o_.prefix + key, {{"uploadId", upload_id}}, {}, {}});
  if (!r.ok()) return r.status();
  if (!Ok2xx(*r) && r->status != 404) return s3::Client::ErrorOf(*r, "aborting an upload");
  return Status::Ok();
}

Result<UploadState> S3BlobStore::CreateUpload(const std::string& id) {
  if (!IsUuid(id)) return UploadUnknown();  // never build a key from an unchecked id
  return UploadState{};
}

Result<std::string> S3BlobStore::ReadTail(const std::string& id, const UploadState& at) {
  uint64_t staged = at.length - at.PartBytes();
  if (staged == 0) return std::string();
  std::string key = TailKey(id, at.length, DecodeS3Upload(at.backend_id).tail);
  for (int attempt = 0;; ++attempt) {
    s3::Request get{"GET", key, {}, {}, {}, static_cast<size_t>(o_.part_size)};
    get.expect_bytes = staged;
    auto r = client_->Do(get);
    if (!r.ok()) return r.status();
    if (r->status == 404 && attempt < o_.read_after_write_retries) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100 << attempt));
      continue;
    }
    if (r->status == 404) return UploadInvalid("the upload's staged bytes are gone");
    if (!Ok2xx(*r)) return s3::Client::ErrorOf(*r, "GET " + key);
    if (r->body.size() != staged) {
      return UploadInvalid("the upload's staged bytes are not the recorded length");
    }
    return std::move(r->body);
  }
}

Result<std::unique_ptr<UploadWriter>> S3BlobStore::AppendUpload(
    const std::string& id, const UploadState& at, const std::optional<Digest>& target) {
  if (!IsUuid(id)) return UploadUnknown();
  uint64_t in_parts = at.PartBytes();
  if (in_parts > at.length || (!at.parts.empty() && DecodeS3Upload(at.backend_id).upload_id.empty()) ||
      at.length - in_parts >= o_.part_size) {
    return UploadInvalid("the recorded upload state does not add up; start a new upload");
  }
  auto buf = TakeBuffer();  // refused before any request when too many are open
  if (!buf.ok()) return buf.status();
  auto tail = ReadTail(id, at);
  if (!tail.ok()) {
    ReturnBuffer(std::move(*buf));
    return tail.status();
  }
  return NewWriter(id, at, target, std::move(*tail), std::move(*buf));
}

void S3BlobStore::UploadRecorded(const std::string& id, const UploadState& before,
                                 const UploadState& now) {
  if (before.length > before.PartBytes() && before.length != now.length) {
    (void)DeleteKey(TailKey(id, before.length, DecodeS3Upload(before.backend_id).tail));
  }
}

Result<std::unique_ptr<ByteSource>> S3BlobStore::ReadUpload(const std::string& id,
                                                            const UploadState& state) {
  if (!IsUuid(id)) return UploadUnknown();
  if (!state.parts.empty()) {
    return Status(ErrorCode::kUnsupported, "unsupported",
                  "S3 cannot read back the parts of an unfinished multipart upload");
  }
  if (state.length == 0) return std::unique_ptr<ByteSource>(std::make_unique<EmptyBody>());
  auto body = client_->GetRange(TailKey(id, state.length, DecodeS3Upload(state.backend_id).tail),
                               0, state.length);
  if (!body.ok()) return body.status();
  return std::unique_ptr<ByteSource>(std::move(*body));
}

Status S3BlobStore::DeleteUpload(const std::string& id, const UploadState& state) {
  if (!IsUuid(id)) return UploadUnknown();
  S3Upload u = DecodeS3Upload(state.backend_id);
  if (!u.upload_id.empty()) ARCA_RETURN_IF_ERROR(AbortMultipart(u.key, u.upload_id));
  std::vector<std::string> keys;
  ARCA_RETURN_IF_ERROR(ListObjects(UploadDir(id), [&](const std::string& k, uint64_t, int64_t) {
    keys.push_back(k);
  }));
  for (const std::string& k : keys) ARCA_RETURN_IF_ERROR(DeleteKey(k));
  return Status::Ok();
}

Result<std::optional<StoreIdentity>> S3BlobStore::ReadStoreMarker() {
  std::string key = o_.prefix + kMarker;
  auto r = client_->Do({"GET", key, {}, {}, {}, 4096});
  if (!r.ok()) return r.status();
  if (r->status == 404) return std::optional<StoreIdentity>();
  if (!Ok2xx(*r)) return s3::Client::ErrorOf(*r, "GET " + key);
  auto id = ParseStoreMarker(r->body);
  if (!id) {
    return Status(ErrorCode::kInternal, "store marker unreadable",
                  key + " is not an arca store marker; restore it from a backup, or remove it "
                        "and start again (it is written anew from the metadata)");
  }
  return id;
}

Status S3BlobStore::WriteStoreMarker(const StoreIdentity& identity) {
  std::string text = FormatStoreMarker(identity);
  auto r = client_->Do({"PUT", o_.prefix + kMarker, {}, {}, text});
  if (!r.ok()) return r.status();
  if (!Ok2xx(*r)) return s3::Client::ErrorOf(*r, "writing the store marker");
  return Status::Ok();
}

Status S3BlobStore::CheckWritable() {
  // Under the store's prefix, away from blobs/ and uploads/ (which listings walk).
  std::string key = o_.prefix + "_ready/" + NewUuid();
  auto r = client_->Do({"PUT", key, {}, {}, "ready\n"});
  if (!r.ok()) return r.status();
  if (!Ok2xx(*r)) return s3::Client::ErrorOf(*r, "writing the readiness probe");
  return DeleteKey(key);
}

std::optional<std::string> S3BlobStore::DirectUrl(const Digest& digest, int64_t expires) {
  return client_->PresignGet(BlobKey(digest), std::clamp<int64_t>(expires, 1, 604800));
}

}  // namespace arca
