#include "storage/s3/s3_blob_store.h"

#include <ctime>
#include <thread>

#include "storage/s3/s3_xml.h"
#include "storage/store_marker.h"
#include "util/random_id.h"

namespace arca {
namespace {

constexpr const char* kMarker = "blobs/.arca-store";

Status UploadUnknown() {
  return Status(ErrorCode::kBlobUploadUnknown, "blob upload unknown", "no such upload session");
}

Status UploadInvalid(const std::string& why) {
  return Status(ErrorCode::kBlobUploadInvalid, "blob upload invalid", why);
}

bool Ok2xx(const s3::Response& r) { return r.status / 100 == 2; }

// S3 may answer 200 and put an error in the body (CompleteMultipartUpload, CopyObject).
Status CheckBody(const s3::Response& r, const std::string& what) {
  if (!Ok2xx(r) || !s3::XmlText(r.body, "Code").empty()) return s3::Client::ErrorOf(r, what);
  return Status::Ok();
}

int64_t ParseIsoTime(const std::string& t) {
  std::tm tm{};
  if (!strptime(t.c_str(), "%Y-%m-%dT%H:%M:%S", &tm)) return 0;
  return static_cast<int64_t>(timegm(&tm));
}

// backend_id: "<key relative to the prefix> <S3 UploadId>".
std::string BackendId(const std::string& key, const std::string& upload_id) {
  return upload_id.empty() ? "" : key + " " + upload_id;
}
std::pair<std::string, std::string> SplitBackendId(const std::string& id) {
  size_t sp = id.find(' ');
  if (sp == std::string::npos) return {"", ""};
  return {id.substr(0, sp), id.substr(sp + 1)};
}

}  // namespace

// --- the writer ----------------------------------------------------------------------------

class S3BlobStore::Writer : public UploadWriter {
 public:
  Writer(S3BlobStore& store, std::string id, const UploadState& at,
         std::optional<Digest> target, std::string tail)
      : s_(store), id_(std::move(id)), at_(at), target_(std::move(target)),
        buf_(s_.TakeBuffer()), length_(at.length), parts_(at.parts) {
    std::tie(key_, upload_id_) = SplitBackendId(at.backend_id);
    buf_.append(tail);
  }
  ~Writer() override {
    if (created_ && !closed_ && !committed_) (void)s_.AbortMultipart(key_, upload_id_);
    s_.ReturnBuffer(std::move(buf_));
  }

  Status Write(const char* data, size_t len) override {
    while (len > 0) {
      size_t take = std::min<size_t>(len, s_.o_.part_size - buf_.size());
      buf_.append(data, take);
      data += take;
      len -= take;
      length_ += take;
      if (buf_.size() == s_.o_.part_size) ARCA_RETURN_IF_ERROR(FlushPart());
    }
    return Status::Ok();
  }

  Result<UploadState> Close() override {
    if (!buf_.empty() && length_ != at_.length) {
      s3::Request r;
      r.method = "PUT";
      r.key = s_.TailKey(id_, length_);
      r.body = buf_;
      auto resp = s_.client_->Do(r);
      if (!resp.ok()) return resp.status();
      if (!Ok2xx(*resp)) return s3::Client::ErrorOf(*resp, "PUT " + r.key);
    }
    closed_ = true;
    UploadState state;
    state.length = length_;
    state.backend_id = BackendId(key_, upload_id_);
    state.parts = parts_;
    return state;
  }

  Status Commit(const Digest& digest) override {
    std::string blob = s_.BlobKey(digest);
    auto head = s_.client_->Do({"HEAD", blob, {}, {}, {}});
    if (!head.ok()) return head.status();
    if (head->status == 200 && head->Header("content-length") == std::to_string(length_)) {
      if (!upload_id_.empty()) (void)s_.AbortMultipart(key_, upload_id_);
    } else if (parts_.empty()) {
      s3::Request r;
      r.method = "PUT";
      r.key = blob;
      r.body = buf_;
      auto resp = s_.client_->Do(r);
      if (!resp.ok()) return resp.status();
      if (!Ok2xx(*resp)) return s3::Client::ErrorOf(*resp, "PUT " + blob);
    } else {
      std::string placed = s_.o_.prefix + key_;
      // A retry after a commit that completed the upload but failed later (the copy, or the
      // metadata): the completed object is there, and the upload id is spent.
      bool completed = placed != blob && HasLength(placed);
      if (!completed) {
        if (!buf_.empty()) ARCA_RETURN_IF_ERROR(FlushPart());
        Status c = Complete();
        if (!c.ok() && !(c.code() == ErrorCode::kBlobUploadUnknown && HasLength(placed))) return c;
      }
      if (placed != blob) {
        ARCA_RETURN_IF_ERROR(CopyInto(placed, blob));
        (void)s_.DeleteKey(placed);
      }
    }
    // The recorded tail stays until the metadata ends the session (DeleteUpload): a commit
    // whose record then fails can be tried again from the same state.
    committed_ = true;
    return Status::Ok();
  }

 private:
  Status FlushPart() {
    if (upload_id_.empty()) {
      bool fresh = at_.length == 0 && at_.parts.empty() && target_.has_value();
      key_ = fresh ? s_.BlobKey(*target_).substr(s_.o_.prefix.size()) : "uploads/" + id_ + "/data";
      auto resp = s_.client_->Do({"POST", s_.o_.prefix + key_, {{"uploads", ""}}, {}, {}});
      if (!resp.ok()) return resp.status();
      ARCA_RETURN_IF_ERROR(CheckBody(*resp, "starting a multipart upload"));
      upload_id_ = s3::XmlText(resp->body, "UploadId");
      if (upload_id_.empty()) return s3::Client::ErrorOf(*resp, "starting a multipart upload");
      created_ = true;
    }
    uint32_t number = parts_.empty() ? 1 : parts_.back().number + 1;
    if (number > 10000) return UploadInvalid("the upload has more than 10000 parts");
    s3::Request r;
    r.method = "PUT";
    r.key = s_.o_.prefix + key_;
    r.query = {{"partNumber", std::to_string(number)}, {"uploadId", upload_id_}};
    r.body = buf_;
    auto resp = s_.client_->Do(r);
    if (!resp.ok()) return resp.status();
    if (!Ok2xx(*resp)) return s3::Client::ErrorOf(*resp, "uploading part " + std::to_string(number));
    parts_.push_back(UploadPart{number, buf_.size(), resp->Header("etag")});
    buf_.clear();
    return Status::Ok();
  }

  // Whether key holds an object of the upload's length.
  bool HasLength(const std::string& key) {
    auto head = s_.client_->Do({"HEAD", key, {}, {}, {}});
    return head.ok() && head->status == 200 &&
           head->Header("content-length") == std::to_string(length_);
  }

  Status Complete() {
    std::string xml = "<CompleteMultipartUpload>";
    for (const UploadPart& p : parts_) {
      xml += "<Part><PartNumber>" + std::to_string(p.number) + "</PartNumber><ETag>" + p.etag +
             "</ETag></Part>";
    }
    xml += "</CompleteMultipartUpload>";
    s3::Request r;
    r.method = "POST";
    r.key = s_.o_.prefix + key_;
    r.query = {{"uploadId", upload_id_}};
    r.body = xml;
    auto resp = s_.client_->Do(r);
    if (!resp.ok()) return resp.status();
    return CheckBody(*resp, "completing the multipart upload");
  }

  // Server-side copy: one request up to 5 GiB, else a multipart copy in 1 GiB ranges.
  Status CopyInto(const std::string& from, const std::string& to) {
    std::string source = "/" + s_.o_.client.bucket + "/" + s3::UriEncode(from, true);
    if (length_ <= (5ull << 30)) {
      auto resp = s_.client_->Do({"PUT", to, {}, {{"x-amz-copy-source", source}}, {}});
      if (!resp.ok()) return resp.status();
      return CheckBody(*resp, "copying the upload into place");
    }
    auto start = s_.client_->Do({"POST", to, {{"uploads", ""}}, {}, {}});
    if (!start.ok()) return start.status();
    ARCA_RETURN_IF_ERROR(CheckBody(*start, "starting a multipart copy"));
    std::string uid = s3::XmlText(start->body, "UploadId");
    std::string xml = "<CompleteMultipartUpload>";
    constexpr uint64_t kRange = 1ull << 30;
    uint32_t n = 0;
    for (uint64_t off = 0; off < length_; off += kRange) {
      uint64_t end = std::min(length_, off + kRange) - 1;
      s3::Request r{"PUT", to, {{"partNumber", std::to_string(++n)}, {"uploadId", uid}},
                    {{"x-amz-copy-source", source},
                     {"x-amz-copy-source-range",
                      "bytes=" + std::to_string(off) + "-" + std::to_string(end)}},
                    {}};
      auto resp = s_.client_->Do(r);
      if (!resp.ok()) return resp.status();
      ARCA_RETURN_IF_ERROR(CheckBody(*resp, "copying part " + std::to_string(n)));
      xml += "<Part><PartNumber>" + std::to_string(n) + "</PartNumber><ETag>" +
             s3::XmlText(resp->body, "ETag") + "</ETag></Part>";
    }
    xml += "</CompleteMultipartUpload>";
    s3::Request done{"POST", to, {{"uploadId", uid}}, {}, xml};
    auto resp = s_.client_->Do(done);
    if (!resp.ok()) return resp.status();
    return CheckBody(*resp, "completing the multipart copy");
  }

  S3BlobStore& s_;
  std::string id_;
  UploadState at_;
  std::optional<Digest> target_;
  std::string buf_;  // bytes past the parts: the tail read back, then what came
  uint64_t length_;
  std::vector<UploadPart> parts_;
  std::string key_, upload_id_;  // the multipart upload, once there is one
  bool created_ = false, closed_ = false, committed_ = false;
};

// --- the store -----------------------------------------------------------------------------

std::string S3BlobStore::TakeBuffer() {
  {
    std::lock_guard<std::mutex> lock(buffers_mu_);
    if (!buffers_.empty()) {
      std::string b = std::move(buffers_.back());
      buffers_.pop_back();
      return b;
    }
  }
  std::string b;
  b.reserve(o_.part_size);
  return b;
}

void S3BlobStore::ReturnBuffer(std::string buf) {
  buf.clear();
  std::lock_guard<std::mutex> lock(buffers_mu_);
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

std::string S3BlobStore::TailKey(const std::string& id, uint64_t length) const {
  return UploadDir(id) + "tail-" + std::to_string(length);
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

Result<std::unique_ptr<UploadWriter>> S3BlobStore::AppendUpload(
    const std::string& id, const UploadState& at, const std::optional<Digest>& target) {
  if (!IsUuid(id)) return UploadUnknown();
  uint64_t in_parts = at.PartBytes();
  if (in_parts > at.length || (!at.parts.empty() && at.backend_id.empty()) ||
      at.length - in_parts >= o_.part_size) {
    return UploadInvalid("the recorded upload state does not add up; start a new upload");
  }
  std::string tail;
  if (at.length > in_parts) {
    std::string key = TailKey(id, at.length);
    for (int attempt = 0;; ++attempt) {
      auto r = client_->Do({"GET", key, {}, {}, {}, static_cast<size_t>(o_.part_size)});
      if (!r.ok()) return r.status();
      if (r->status == 404 && attempt < o_.read_after_write_retries) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100 << attempt));
        continue;
      }
      if (r->status == 404) return UploadInvalid("the upload's staged bytes are gone");
      if (!Ok2xx(*r)) return s3::Client::ErrorOf(*r, "GET " + key);
      tail = std::move(r->body);
      break;
    }
    if (tail.size() != at.length - in_parts) {
      return UploadInvalid("the upload's staged bytes are not the recorded length");
    }
  }
  return std::unique_ptr<UploadWriter>(new Writer(*this, id, at, target, std::move(tail)));
}

void S3BlobStore::UploadRecorded(const std::string& id, const UploadState& before,
                                 const UploadState& now) {
  if (before.length > before.PartBytes() && before.length != now.length) {
    (void)DeleteKey(TailKey(id, before.length));
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
  auto body = client_->GetRange(TailKey(id, state.length), 0, state.length);
  if (!body.ok()) return body.status();
  return std::unique_ptr<ByteSource>(std::move(*body));
}

Status S3BlobStore::DeleteUpload(const std::string& id, const UploadState& state) {
  if (!IsUuid(id)) return UploadUnknown();
  auto [key, upload_id] = SplitBackendId(state.backend_id);
  if (!upload_id.empty()) ARCA_RETURN_IF_ERROR(AbortMultipart(key, upload_id));
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

Status S3BlobStore::ListObjects(
    const std::string& prefix,
    const std::function<void(const std::string&, uint64_t, int64_t)>& fn) {
  std::string token;
  do {
    s3::Request r{"GET", "", {{"list-type", "2"}, {"prefix", prefix}}, {}, {}, 16 << 20};
    if (!token.empty()) r.query.emplace_back("continuation-token", token);
    auto resp = client_->Do(r);
    if (!resp.ok()) return resp.status();
    ARCA_RETURN_IF_ERROR(CheckBody(*resp, "listing " + prefix));
    if (s3::XmlText(resp->body, "Name").empty()) {  // not a ListBucketResult: never "empty"
      return s3::Client::ErrorOf(*resp, "listing " + prefix);
    }
    for (auto& c : s3::XmlRecords(resp->body, "Contents")) {
      fn(c["Key"], std::stoull("0" + c["Size"]), ParseIsoTime(c["LastModified"]));
    }
    token = s3::XmlText(resp->body, "IsTruncated") == "true"
                ? s3::XmlText(resp->body, "NextContinuationToken")
                : "";
  } while (!token.empty());
  return Status::Ok();
}

Result<bool> S3BlobStore::HoldsBlobs() {
  // One page of two keys: the marker and a blob, at most. Never a walk of the bucket.
  s3::Request r{"GET", "", {{"list-type", "2"}, {"prefix", o_.prefix + "blobs/"}, {"max-keys", "2"}},
                {}, {}, 1 << 20};
  auto resp = client_->Do(r);
  if (!resp.ok()) return resp.status();
  ARCA_RETURN_IF_ERROR(CheckBody(*resp, "listing blobs"));
  if (s3::XmlText(resp->body, "Name").empty()) return s3::Client::ErrorOf(*resp, "listing blobs");
  for (auto& c : s3::XmlRecords(resp->body, "Contents")) {
    if (c["Key"] != o_.prefix + kMarker) return true;
  }
  return false;
}

Status S3BlobStore::ListBlobs(const std::function<void(const Listed&)>& fn) {
  std::string top = o_.prefix + "blobs/";
  return ListObjects(top, [&](const std::string& key, uint64_t size, int64_t mtime) {
    if (key == o_.prefix + kMarker) return;
    std::string rel = key.substr(top.size());  // <alg>/<2hex>/<hex>
    Listed item{"", key, size, mtime};
    size_t a = rel.find('/'), b = a == std::string::npos ? a : rel.find('/', a + 1);
    if (b != std::string::npos && rel.compare(b + 1, 2, rel, a + 1, 2) == 0 && b - a == 3) {
      auto d = Digest::Parse(rel.substr(0, a) + ":" + rel.substr(b + 1));
      if (d.ok()) item.name = d->str();
    }
    fn(item);
  });
}

Status S3BlobStore::ListUploads(const std::function<void(const Listed&)>& fn) {
  std::string top = o_.prefix + "uploads/";
  ARCA_RETURN_IF_ERROR(ListObjects(top, [&](const std::string& key, uint64_t size, int64_t mtime) {
    std::string id = key.substr(top.size(), key.find('/', top.size()) - top.size());
    fn(Listed{IsUuid(id) ? id : "", key, size, mtime});
  }));
  // Multipart uploads hold parts that no listing of objects shows: ours are under uploads/
  // (chunked pushes) and blobs/ (pushes straight to the blob's key); a bucket shared with
  // other tools keeps theirs.
  for (const std::string& area : {top, o_.prefix + "blobs/"}) {
    ARCA_RETURN_IF_ERROR(ListMultipart(area, top, fn));
  }
  return Status::Ok();
}

Status S3BlobStore::ListMultipart(const std::string& area, const std::string& top,
                                  const std::function<void(const Listed&)>& fn) {
  std::string key_marker, id_marker;
  for (;;) {
    s3::Request r{"GET", "", {{"uploads", ""}, {"prefix", area}}, {}, {}, 16 << 20};
    if (!key_marker.empty()) {
      r.query.emplace_back("key-marker", key_marker);
      r.query.emplace_back("upload-id-marker", id_marker);
    }
    auto resp = client_->Do(r);
    if (!resp.ok()) return resp.status();
    ARCA_RETURN_IF_ERROR(CheckBody(*resp, "listing multipart uploads"));
    for (auto& u : s3::XmlRecords(resp->body, "Upload")) {
      const std::string& key = u["Key"];
      std::string id;
      if (key.starts_with(top) && key.ends_with("/data")) {
        id = key.substr(top.size(), key.size() - top.size() - 5);
        if (!IsUuid(id)) id.clear();
      }
      fn(Listed{id, "multipart " + key + " " + u["UploadId"], 0, ParseIsoTime(u["Initiated"])});
    }
    if (s3::XmlText(resp->body, "IsTruncated") != "true") break;
    key_marker = s3::XmlText(resp->body, "NextKeyMarker");
    id_marker = s3::XmlText(resp->body, "NextUploadIdMarker");
    if (key_marker.empty()) break;
  }
  return Status::Ok();
}

Status S3BlobStore::RemoveListed(const Listed& item) {
  if (item.path.starts_with("multipart ")) {
    std::string rest = item.path.substr(10);
    size_t sp = rest.rfind(' ');
    std::string key = rest.substr(0, sp);
    if (sp == std::string::npos ||
        !(key.starts_with(o_.prefix + "uploads/") || key.starts_with(o_.prefix + "blobs/"))) {
      return Status(ErrorCode::kInternal, "refusing to remove", item.path + " is not of this store");
    }
    return AbortMultipart(key.substr(o_.prefix.size()), rest.substr(sp + 1));
  }
  for (const char* top : {"blobs/", "uploads/"}) {
    if (item.path.starts_with(o_.prefix + top) && item.path.find("/../") == std::string::npos) {
      return DeleteKey(item.path);
    }
  }
  return Status(ErrorCode::kInternal, "refusing to remove", item.path + " is not of this store");
}

std::string S3BlobStore::PresignBlob(const Digest& digest, int64_t expires) {
  return client_->PresignGet(BlobKey(digest), expires);
}

}  // namespace arca
