// S3BlobStore's upload writer: a part buffered in memory, parts of a multipart upload, the
// staged tail, and the commit (s3_blob_store.h tells the layout).
#include <algorithm>

#include "storage/s3/s3_blob_store.h"
#include "storage/s3/s3_store_detail.h"
#include "util/random_id.h"

namespace arca {

using namespace s3detail;  // NOLINT: this file's own helpers

class S3BlobStore::Writer : public UploadWriter {
 public:
  Writer(S3BlobStore& store, std::string id, const UploadState& at,
         std::optional<Digest> target, std::string tail, std::string buffer)
      : s_(store), id_(std::move(id)), at_(at), target_(std::move(target)),
        buf_(std::move(buffer)), length_(at.length), parts_(at.parts) {
    S3Upload u = DecodeS3Upload(at.backend_id);
    key_ = u.key;
    upload_id_ = u.upload_id;
    tail_ = u.tail;
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
    if (length_ != at_.length) tail_.clear();  // the recorded tail is left behind
    if (!buf_.empty() && length_ != at_.length) {
      s3::Request r;
      r.method = "PUT";
      tail_ = NewUuid().substr(0, 8);
      r.key = s_.TailKey(id_, length_, tail_);
      r.body = buf_;
      auto resp = s_.client_->Do(r);
      if (!resp.ok()) return resp.status();
      if (!Ok2xx(*resp)) return s3::Client::ErrorOf(*resp, "PUT " + r.key);
    }
    closed_ = true;
    UploadState state;
    state.length = length_;
    state.backend_id = EncodeS3Upload({key_, upload_id_, tail_});
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
    r.slow = true;
    auto resp = s_.client_->Do(r);
    if (!resp.ok()) return resp.status();
    return CheckBody(*resp, "completing the multipart upload");
  }

  // Server-side copy: one request up to 5 GiB, else a multipart copy in 1 GiB ranges.
  Status CopyInto(const std::string& from, const std::string& to) {
    std::string source = "/" + s_.o_.client.bucket + "/" + s3::UriEncode(from, true);
    if (length_ <= (5ull << 30)) {
      s3::Request copy{"PUT", to, {}, {{"x-amz-copy-source", source}}, {}};
      copy.slow = true;
      auto resp = s_.client_->Do(copy);
      if (!resp.ok()) return resp.status();
      return CheckBody(*resp, "copying the upload into place");
    }
    auto start = s_.client_->Do({"POST", to, {{"uploads", ""}}, {}, {}});
    if (!start.ok()) return start.status();
    ARCA_RETURN_IF_ERROR(CheckBody(*start, "starting a multipart copy"));
    std::string uid = s3::XmlText(start->body, "UploadId");
    if (uid.empty()) {
      return Status(ErrorCode::kUnavailable, "blob store error",
                    "starting a multipart copy: the store's answer names no UploadId");
    }
    Status copied = CopyParts(source, to, uid);
    if (!copied.ok()) {
      // Its parts would hold up to the blob's size in the bucket until the GC's sweep of
      // abandoned uploads: abort it now (best effort; the sweep remains the backstop).
      (void)s_.client_->Do({"DELETE", to, {{"uploadId", uid}}, {}, {}});
    }
    return copied;
  }

  Status CopyParts(const std::string& source, const std::string& to, const std::string& uid) {
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
      r.slow = true;
      auto resp = s_.client_->Do(r);
      if (!resp.ok()) return resp.status();
      ARCA_RETURN_IF_ERROR(CheckBody(*resp, "copying part " + std::to_string(n)));
      xml += "<Part><PartNumber>" + std::to_string(n) + "</PartNumber><ETag>" +
             s3::XmlText(resp->body, "ETag") + "</ETag></Part>";
    }
    xml += "</CompleteMultipartUpload>";
    s3::Request done{"POST", to, {{"uploadId", uid}}, {}, xml};
    done.slow = true;
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
  std::string tail_;             // the token of the tail this writer staged
  bool created_ = false, closed_ = false, committed_ = false;
};

std::unique_ptr<UploadWriter> S3BlobStore::NewWriter(const std::string& id, const UploadState& at,
                                                     const std::optional<Digest>& target,
                                                     std::string tail, std::string buffer) {
  return std::make_unique<Writer>(*this, id, at, target, std::move(tail), std::move(buffer));
}

}  // namespace arca
