#include "api/errors.h"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace arca::api {

int HttpStatusOf(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk: return 200;
    case ErrorCode::kBlobUnknown:
    case ErrorCode::kBlobUploadUnknown:
    case ErrorCode::kManifestUnknown:
    case ErrorCode::kNameUnknown:
    case ErrorCode::kNotFound: return 404;
    case ErrorCode::kBlobUploadInvalid:
    case ErrorCode::kDigestInvalid:
    case ErrorCode::kManifestBlobUnknown:
    case ErrorCode::kManifestInvalid:
    case ErrorCode::kNameInvalid:
    case ErrorCode::kSizeInvalid:
    case ErrorCode::kTagInvalid:
    case ErrorCode::kPaginationInvalid:
    case ErrorCode::kQueryInvalid: return 400;
    case ErrorCode::kUnauthorized: return 401;
    case ErrorCode::kDenied: return 403;
    case ErrorCode::kUnsupported:
    case ErrorCode::kMethodNotAllowed: return 405;
    case ErrorCode::kTooManyRequests: return 429;
    case ErrorCode::kRangeInvalid:
    case ErrorCode::kRangeNotSatisfiable: return 416;
    case ErrorCode::kTooLarge: return 413;
    case ErrorCode::kUnavailable: return 503;
    case ErrorCode::kConflict: return 409;
    case ErrorCode::kInternal: return 500;
  }
  return 500;
}

std::string_view OciCodeOf(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk: return "OK";
    case ErrorCode::kBlobUnknown: return "BLOB_UNKNOWN";
    case ErrorCode::kBlobUploadInvalid: return "BLOB_UPLOAD_INVALID";
    case ErrorCode::kBlobUploadUnknown: return "BLOB_UPLOAD_UNKNOWN";
    case ErrorCode::kDigestInvalid: return "DIGEST_INVALID";
    case ErrorCode::kManifestBlobUnknown: return "MANIFEST_BLOB_UNKNOWN";
    case ErrorCode::kManifestInvalid: return "MANIFEST_INVALID";
    case ErrorCode::kManifestUnknown: return "MANIFEST_UNKNOWN";
    case ErrorCode::kNameInvalid: return "NAME_INVALID";
    case ErrorCode::kNameUnknown: return "NAME_UNKNOWN";
    case ErrorCode::kSizeInvalid: return "SIZE_INVALID";
    case ErrorCode::kTagInvalid: return "TAG_INVALID";
    case ErrorCode::kUnauthorized: return "UNAUTHORIZED";
    case ErrorCode::kDenied: return "DENIED";
    case ErrorCode::kUnsupported:
    case ErrorCode::kMethodNotAllowed:
    case ErrorCode::kNotFound: return "UNSUPPORTED";
    case ErrorCode::kTooManyRequests: return "TOOMANYREQUESTS";
    // The spec names no range code; these are the nearest of its own.
    case ErrorCode::kRangeInvalid: return "BLOB_UPLOAD_INVALID";
    case ErrorCode::kRangeNotSatisfiable: return "SIZE_INVALID";
    case ErrorCode::kTooLarge: return "SIZE_INVALID";
    case ErrorCode::kPaginationInvalid:
    case ErrorCode::kQueryInvalid: return "UNSUPPORTED";
    // Not in the OCI spec; CNCF Distribution's code for 503.
    case ErrorCode::kUnavailable: return "UNAVAILABLE";
    // Not in the OCI spec: only /arca/v1 account and grant writes give it.
    case ErrorCode::kConflict: return "CONFLICT";
    case ErrorCode::kInternal: return "UNKNOWN";
  }
  return "UNKNOWN";
}

void WriteError(http::Response& res, const Status& status) {
  res.status = HttpStatusOf(status.code());
  nlohmann::json err = {{"code", OciCodeOf(status.code())}, {"message", status.message()}};
  err["detail"] = status.detail().empty() ? nlohmann::json(nullptr) : nlohmann::json(status.detail());
  nlohmann::json body = {{"errors", nlohmann::json::array({err})}};
  res.Set("Content-Type", "application/json");
  // The store cannot take this now (a database away or restarting, every connection busy):
  // well-behaved clients wait a moment and try again.
  if (status.code() == ErrorCode::kUnavailable) res.Set("Retry-After", "1");
  // Too many at once (the S3 store's writers): the same, unless the limit that said so gave
  // its own wait (the failed-login limiter).
  if (status.code() == ErrorCode::kTooManyRequests &&
      std::none_of(res.headers.begin(), res.headers.end(),
                   [](const http::Header& h) { return h.name == "Retry-After"; })) {
    res.Set("Retry-After", "1");
  }
  res.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  res.stream.reset();
}

}  // namespace arca::api
