// AWS Signature Version 4 for S3: signed headers for a request, and presigned URLs. Written
// against the AWS specification ("Authenticating Requests (AWS Signature Version 4)") and
// checked against its published examples (tests/unit/sigv4_test.cc).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace arca::s3 {

using Pairs = std::vector<std::pair<std::string, std::string>>;

struct Credentials {
  std::string access_key;
  std::string secret_key;
  std::string session_token;  // temporary credentials only
};

struct SignedRequest {
  std::string method;
  std::string host;          // the Host header's value (with a port when not the default)
  std::string path;          // already URI-encoded (UriEncode with keep_slash)
  Pairs query;               // names and values as they are, not encoded
  Pairs headers;             // further headers to sign; names lower-case
  std::string payload_hash;  // hex SHA-256 of the body, or "UNSIGNED-PAYLOAD"
};

// RFC 3986 unreserved characters pass, every other byte is %XX (upper-case hex); '/' passes
// too with keep_slash (object key paths).
std::string UriEncode(std::string_view s, bool keep_slash);
// The canonical query string: encoded names and values, sorted by name then value.
std::string CanonicalQuery(const Pairs& query);
// amz_date as YYYYMMDD'T'HHMMSS'Z' for a time in seconds since the epoch.
std::string AmzDate(int64_t unix_seconds);

// The headers to send with r: host's peers x-amz-date, x-amz-content-sha256, the session token
// when there is one, and Authorization.
Pairs SignHeaders(const SignedRequest& r, const Credentials& c, const std::string& region,
                  const std::string& amz_date);
// The query string of a presigned URL for r (whose payload is not signed), valid for
// expires seconds from amz_date: r's own query plus the X-Amz-* parameters and signature.
std::string PresignQuery(const SignedRequest& r, const Credentials& c, const std::string& region,
                         const std::string& amz_date, int64_t expires);

}  // namespace arca::s3
