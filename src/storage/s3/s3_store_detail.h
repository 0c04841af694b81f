// What the S3 store's files share (s3_blob_store.cc, s3_upload_writer.cc, s3_listings.cc);
// not for use elsewhere.
#pragma once

#include <string>
#include <utility>

#include "storage/s3/s3_client.h"
#include "storage/s3/s3_xml.h"

namespace arca::s3detail {

inline constexpr const char* kMarker = "blobs/.arca-store";  // relative to the prefix

inline Status UploadUnknown() {
  return Status(ErrorCode::kBlobUploadUnknown, "blob upload unknown", "no such upload session");
}

inline Status UploadInvalid(const std::string& why) {
  return Status(ErrorCode::kBlobUploadInvalid, "blob upload invalid", why);
}

inline bool Ok2xx(const s3::Response& r) { return r.status / 100 == 2; }

// S3 may answer 200 and put an error in the body (CompleteMultipartUpload, CopyObject).
inline Status CheckBody(const s3::Response& r, const std::string& what) {
  if (!Ok2xx(r) || !s3::XmlText(r.body, "Code").empty()) return s3::Client::ErrorOf(r, what);
  return Status::Ok();
}

// What UploadState::backend_id holds for S3, as "<key> <UploadId> <tail token>" ('-' for an
// empty field; "" when all are): the multipart upload (its key relative to the prefix, and
// S3's id), and the token that names the staged tail object. The token is new at every
// chunk, so a writer that lost the race to record its chunk can never replace the tail that
// the recorded state names.
struct S3Upload {
  std::string key, upload_id, tail;
};

inline std::string EncodeS3Upload(const S3Upload& u) {
  if (u.key.empty() && u.upload_id.empty() && u.tail.empty()) return "";
  auto field = [](const std::string& f) { return f.empty() ? std::string("-") : f; };
  return field(u.key) + " " + field(u.upload_id) + " " + field(u.tail);
}

inline S3Upload DecodeS3Upload(const std::string& text) {
  S3Upload u;
  std::string* fields[] = {&u.key, &u.upload_id, &u.tail};
  size_t at = 0;
  for (std::string* f : fields) {
    if (at > text.size()) break;
    size_t sp = text.find(' ', at);
    if (sp == std::string::npos) sp = text.size();
    *f = text.substr(at, sp - at);
    if (*f == "-") f->clear();
    at = sp + 1;
  }
  return u;
}

}  // namespace arca::s3detail
