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

// UploadState::backend_id: "<key relative to the prefix> <S3 UploadId>".
inline std::string BackendId(const std::string& key, const std::string& upload_id) {
  return upload_id.empty() ? "" : key + " " + upload_id;
}
inline std::pair<std::string, std::string> SplitBackendId(const std::string& id) {
  size_t sp = id.find(' ');
  if (sp == std::string::npos) return {"", ""};
  return {id.substr(0, sp), id.substr(sp + 1)};
}

}  // namespace arca::s3detail
