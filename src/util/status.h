// Errors as values. Every failure a request can meet is a Status whose code maps one-to-one
// to an OCI error code and HTTP status (see api/errors.h); no exceptions cross modules.
#pragma once

#include <optional>
#include <string>
#include <utility>

namespace arca {

enum class ErrorCode {
  kOk,
  kBlobUnknown,
  kBlobUploadInvalid,
  kBlobUploadUnknown,
  kDigestInvalid,
  kManifestBlobUnknown,
  kManifestInvalid,
  kManifestUnknown,
  kNameInvalid,
  kNameUnknown,
  kSizeInvalid,
  kTagInvalid,
  kUnauthorized,
  kDenied,
  kUnsupported,
  kTooManyRequests,
  kRangeInvalid,   // 416: an upload chunk out of order, overlapping or malformed
  kRangeNotSatisfiable,  // 416: a GET range that misses the blob
  kTooLarge,       // 413: a body over the limit for its resource
  kPaginationInvalid,  // 400: an `n` that is not a number
  kQueryInvalid,   // 400: another query parameter outside its values
  kNotFound,       // 404: no such endpoint
  kMethodNotAllowed,  // 405: the endpoint exists, the method does not
  kUnavailable,    // 503: the store cannot take this now (metadata lost or saturated)
  kConflict,       // 409: the thing to create exists already (accounts, grants)
  kInternal,       // 500: never caused by the client's input
};

class Status {
 public:
  Status() = default;
  Status(ErrorCode code, std::string message, std::string detail = {})
      : code_(code), message_(std::move(message)), detail_(std::move(detail)) {}

  static Status Ok() { return Status(); }
  bool ok() const { return code_ == ErrorCode::kOk; }
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  const std::string& detail() const { return detail_; }

 private:
  ErrorCode code_ = ErrorCode::kOk;
  std::string message_;
  std::string detail_;
};

// A value or the Status that explains why there is none.
template <typename T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {}  // NOLINT: implicit by design

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  T& value() { return *value_; }
  const T& value() const { return *value_; }
  T& operator*() { return *value_; }
  const T& operator*() const { return *value_; }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace arca

// Returns early from the enclosing function with the Status of a failed expression.
#define ARCA_RETURN_IF_ERROR(expr)          \
  do {                                      \
    ::arca::Status arca_status_ = (expr);   \
    if (!arca_status_.ok()) return arca_status_; \
  } while (0)
