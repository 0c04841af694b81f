// A small S3 client over libcurl: signed requests (sigv4.h) with retries of transient
// failures, ranged GETs streamed in bounded memory, and presigned URLs. Path-style
// (endpoint/bucket/key) or virtual-host (bucket.endpoint/key) addressing, http or https.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "storage/s3/sigv4.h"
#include "util/byte_source.h"
#include "util/status.h"

namespace arca::s3 {

struct ClientOptions {
  std::string endpoint;  // scheme://host[:port], no path
  std::string bucket;
  std::string region = "us-east-1";
  bool path_style = true;
  Credentials credentials;
  std::string ca_file;        // trust for an https endpoint; empty: the system's
  int connect_timeout_ms = 5000;
  // One attempt of a request may take this long, plus 4 s per MiB of the body it sends; a
  // streamed GET, this long for its answer to begin.
  int request_timeout_ms = 30000;
  // One attempt of a slow request (Request::slow: completing a multipart upload, a copy), on
  // which the store may say nothing for minutes.
  int slow_request_timeout_ms = 15 * 60 * 1000;
  int low_speed_seconds = 60;  // a transfer below 1 KiB/s for this long fails (not slow ones)
  int retries = 4;             // further attempts after a transient failure; after a timeout
  int retry_budget_ms = 10000;  // only while less than this has passed since the first began
};

struct Response {
  long status = 0;
  std::string body;
  Pairs headers;  // names lower-case
  std::string Header(std::string_view name) const;
};

struct Request {
  std::string method = "GET";
  std::string key;  // object key; empty for the bucket itself
  Pairs query;
  Pairs headers;    // names lower-case
  std::string_view body;
  size_t max_response = 4 << 20;  // a longer response body is an error
  bool slow = false;  // the store may work silently for long (ClientOptions)
  size_t expect_bytes = 0;  // the size of the answer's body when known (its time allowance)
};

class Client {
 public:
  explicit Client(ClientOptions options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  const ClientOptions& options() const { return o_; }

  // Sends r and returns the response, whatever its status, after retrying connection errors,
  // 5xx and 429 answers with backoff. An error only when no response came.
  Result<Response> Do(const Request& r);
  // The object's bytes [offset, offset + length), streamed: the request is made here (so a
  // missing object or short range is known before the first Read) and the body follows as it
  // is read, holding at most a few hundred KiB.
  Result<std::unique_ptr<BodySource>> GetRange(const std::string& key, uint64_t offset,
                                               uint64_t length);
  // A URL that lets its holder GET key for expires seconds without credentials.
  std::string PresignGet(const std::string& key, int64_t expires, const Pairs& query = {});
  // The Status an S3 error response stands for (the code and message from its XML).
  static Status ErrorOf(const Response& r, const std::string& what);

 private:
  struct Target {
    std::string url_base;  // scheme://host[:port]
    std::string host;      // the Host header
    std::string path;      // encoded
  };
  Target TargetOf(const std::string& key) const;
  void* AcquireHandle();
  void ReleaseHandle(void* handle);
  Result<Response> Once(void* handle, const Request& r);
  // Whether attempt (0-based), which failed transiently (failure: its error, or ok for a 5xx
  // or 429 answer), may be tried again.
  bool MayRetry(int attempt, std::chrono::steady_clock::time_point start,
                const Status& failure) const;
  // Sets the shared transfer options on a handle for a URL and signed headers.
  void* PrepareHeaders(void* handle, const Request& r, const Target& t,
                       const std::string& payload_hash);

  ClientOptions o_;
  std::string scheme_, host_;  // from endpoint
  std::mutex mu_;
  std::vector<void*> idle_;  // CURL handles keeping their connections
};

// Credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN.
Credentials CredentialsFromEnvironment();

}  // namespace arca::s3
