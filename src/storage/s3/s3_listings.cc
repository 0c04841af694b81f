// S3BlobStore's listings, for fsck and GC: objects page by page (ListObjectsV2 continuation)
// and multipart uploads (ListMultipartUploads markers), only under this store's folders.
#include <ctime>

#include "storage/s3/s3_blob_store.h"
#include "storage/s3/s3_store_detail.h"
#include "util/random_id.h"

namespace arca {

using namespace s3detail;  // NOLINT: this file's own helpers

namespace {

int64_t ParseIsoTime(const std::string& t) {
  std::tm tm{};
  if (!strptime(t.c_str(), "%Y-%m-%dT%H:%M:%S", &tm)) return 0;
  return static_cast<int64_t>(timegm(&tm));
}

}  // namespace

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

}  // namespace arca
