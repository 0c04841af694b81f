#include "storage/s3/s3_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <random>
#include <thread>

#include "storage/s3/s3_xml.h"
#include "util/sha.h"

namespace arca::s3 {
namespace {

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

int64_t NowSeconds() { return static_cast<int64_t>(std::time(nullptr)); }

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Transfer {
  Response* response;
  size_t max;
  bool too_long = false;
  std::string_view body;
  size_t sent = 0;
};

size_t OnBody(char* p, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t len = size * n;
  if (t->response->body.size() + len > t->max) {
    t->too_long = true;
    return 0;
  }
  t->response->body.append(p, len);
  return len;
}

// Header lines; a new status line (after a 100 Continue) starts the list again.
size_t OnHeader(char* p, size_t size, size_t n, void* user) {
  auto* headers = static_cast<Pairs*>(user);
  std::string_view line(p, size * n);
  if (line.starts_with("HTTP/")) {
    headers->clear();
    return size * n;
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return size * n;
  std::string name = Lower(std::string(line.substr(0, colon)));
  std::string_view v = line.substr(colon + 1);
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == '\r' || v.back() == '\n' || v.back() == ' ')) v.remove_suffix(1);
  headers->emplace_back(std::move(name), std::string(v));
  return size * n;
}

size_t OnRead(char* buf, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t len = std::min(size * n, t->body.size() - t->sent);
  std::copy_n(t->body.data() + t->sent, len, buf);
  t->sent += len;
  return len;
}

int OnSeek(void* user, curl_off_t offset, int origin) {
  auto* t = static_cast<Transfer*>(user);
  if (origin != SEEK_SET || offset < 0 || static_cast<size_t>(offset) > t->body.size()) {
    return CURL_SEEKFUNC_FAIL;
  }
  t->sent = static_cast<size_t>(offset);
  return CURL_SEEKFUNC_OK;
}

bool Transient(long status) { return status == 429 || status == 500 || status == 502 || status == 503 || status == 504; }

void Backoff(int attempt) {
  static thread_local std::mt19937 rng(std::random_device{}());
  int base = 50 << std::min(attempt, 6);  // 50 ms, 100 ms, ... 3.2 s
  std::uniform_int_distribution<int> jitter(0, base);
  std::this_thread::sleep_for(std::chrono::milliseconds(base + jitter(rng)));
}

constexpr const char* kTimedOut = "blob storage timed out";

Status Unreachable(const std::string& what, const std::string& why) {
  return Status(ErrorCode::kUnavailable, "blob storage unavailable", what + ": " + why);
}

// A ranged GET read as the caller reads: libcurl's multi interface, paused while the caller
// has not taken what came.
class StreamBody : public BodySource {
 public:
  StreamBody(CURL* easy, curl_slist* headers, uint64_t length)
      : easy_(easy), headers_(headers), multi_(curl_multi_init()), length_(length) {
    curl_easy_setopt(easy_, CURLOPT_WRITEFUNCTION, &StreamBody::OnData);
    curl_easy_setopt(easy_, CURLOPT_WRITEDATA, this);
    curl_easy_setopt(easy_, CURLOPT_HEADERFUNCTION, &OnHeader);
    curl_easy_setopt(easy_, CURLOPT_HEADERDATA, &response_.headers);
    curl_multi_add_handle(multi_, easy_);
  }
  ~StreamBody() override {
    curl_multi_remove_handle(multi_, easy_);
    curl_multi_cleanup(multi_);
    curl_easy_cleanup(easy_);
    curl_slist_free_all(headers_);
  }

  // Runs the transfer until the status and the first bytes (or the end) are in, for at most
  // limit.
  Status Start(std::chrono::milliseconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done_) {
      if (std::chrono::steady_clock::now() > deadline) {
        return Status(ErrorCode::kUnavailable, kTimedOut,
                      "reading a blob: no answer within " + std::to_string(limit.count()) + " ms");
      }
      ARCA_RETURN_IF_ERROR(Pump());
      curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &status_);
      if (status_ != 0 && (status_ / 100 != 2 || pending_.size() > pos_ || paused_)) break;
    }
    curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &status_);
    return Status::Ok();
  }
  long status() const { return status_; }
  Response& response() { return response_; }
  // The error body of a failed request (read whole; it is small).
  Status DrainError() {
    draining_ = true;  // OnData keeps the first 64 KiB and drops the rest: never pauses
    while (!done_) ARCA_RETURN_IF_ERROR(Pump());
    response_.status = status_;
    response_.body = pending_.substr(pos_);
    return Status::Ok();
  }

  Result<size_t> Read(char* buf, size_t len) override {
    while (pending_.size() == pos_) {
      if (delivered_ == length_) return size_t{0};
      if (done_) {
        return Status(ErrorCode::kInternal, "storage error",
                      "the object store ended the blob after " + std::to_string(delivered_) +
                          " of " + std::to_string(length_) + " bytes");
      }
      ARCA_RETURN_IF_ERROR(Pump());
    }
    size_t n = std::min({len, pending_.size() - pos_, static_cast<size_t>(length_ - delivered_)});
    std::copy_n(pending_.data() + pos_, n, buf);
    pos_ += n;
    delivered_ += n;
    return n;
  }
  std::optional<uint64_t> Length() const override { return length_; }

 private:
  static constexpr size_t kMaxPending = 512 << 10;
  static constexpr size_t kMaxErrorBody = 64 << 10;

  static size_t OnData(char* p, size_t size, size_t n, void* user) {
    auto* self = static_cast<StreamBody*>(user);
    if (self->draining_) {
      size_t keep = std::min(size * n, kMaxErrorBody - std::min(kMaxErrorBody, self->pending_.size()));
      self->pending_.append(p, keep);
      return size * n;
    }
    if (self->pending_.size() - self->pos_ >= kMaxPending) {
      self->paused_ = true;
      return CURL_WRITEFUNC_PAUSE;
    }
    if (self->pos_ > 0 && self->pos_ == self->pending_.size()) {
      self->pending_.clear();
      self->pos_ = 0;
    }
    self->pending_.append(p, size * n);
    return size * n;
  }

  // One round of the transfer: resumes it if paused and waits for the socket.
  Status Pump() {
    if (pos_ == pending_.size()) {
      pending_.clear();
      pos_ = 0;
    }
    if (paused_ && (draining_ || pending_.size() - pos_ < kMaxPending)) {
      paused_ = false;
      curl_easy_pause(easy_, CURLPAUSE_CONT);
    }
    int running = 0;
    CURLMcode mc = curl_multi_perform(multi_, &running);
    if (mc != CURLM_OK) return Unreachable("reading a blob", curl_multi_strerror(mc));
    int left = 0;
    while (CURLMsg* m = curl_multi_info_read(multi_, &left)) {
      if (m->msg != CURLMSG_DONE) continue;
      done_ = true;
      if (m->data.result != CURLE_OK) {
        return Unreachable("reading a blob", curl_easy_strerror(m->data.result));
      }
    }
    if (!done_ && running && !paused_) {
      mc = curl_multi_poll(multi_, nullptr, 0, 1000, nullptr);
      if (mc != CURLM_OK) return Unreachable("reading a blob", curl_multi_strerror(mc));
    }
    return Status::Ok();
  }

  CURL* easy_;
  curl_slist* headers_;
  CURLM* multi_;
  Response response_;
  std::string pending_;
  size_t pos_ = 0;
  uint64_t length_, delivered_ = 0;
  long status_ = 0;
  bool paused_ = false, done_ = false, draining_ = false;
};

}  // namespace

std::string Response::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return "";
}

Credentials CredentialsFromEnvironment() {
  auto get = [](const char* n) {
    const char* v = std::getenv(n);
    return std::string(v ? v : "");
  };
  return Credentials{get("AWS_ACCESS_KEY_ID"), get("AWS_SECRET_ACCESS_KEY"), get("AWS_SESSION_TOKEN")};
}

Client::Client(ClientOptions options) : o_(std::move(options)) {
  GlobalInit();
  size_t sep = o_.endpoint.find("://");
  scheme_ = o_.endpoint.substr(0, sep);
  host_ = o_.endpoint.substr(sep + 3);
  while (!host_.empty() && host_.back() == '/') host_.pop_back();
}

Client::~Client() {
  for (void* h : idle_) curl_easy_cleanup(static_cast<CURL*>(h));
}

Client::Target Client::TargetOf(const std::string& key) const {
  Target t;
  std::string enc = "/" + UriEncode(key, true);
  if (o_.path_style) {
    t.host = host_;
    t.path = "/" + UriEncode(o_.bucket, false) + (key.empty() ? "" : enc);
  } else {
    t.host = o_.bucket + "." + host_;
    t.path = key.empty() ? "/" : enc;
  }
  t.url_base = scheme_ + "://" + t.host;
  return t;
}

void* Client::AcquireHandle() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!idle_.empty()) {
      void* h = idle_.back();
      idle_.pop_back();
      curl_easy_reset(static_cast<CURL*>(h));
      return h;
    }
  }
  return curl_easy_init();
}

void Client::ReleaseHandle(void* handle) {
  std::lock_guard<std::mutex> lock(mu_);
  if (idle_.size() < 64) {
    idle_.push_back(handle);
  } else {
    curl_easy_cleanup(static_cast<CURL*>(handle));
  }
}

void* Client::PrepareHeaders(void* handle, const Request& r, const Target& t,
                             const std::string& payload_hash) {
  CURL* h = static_cast<CURL*>(handle);
  SignedRequest sr{r.method, t.host, t.path, r.query, r.headers, payload_hash};
  Pairs signed_headers = SignHeaders(sr, o_.credentials, o_.region, AmzDate(NowSeconds()));
  curl_slist* list = nullptr;
  for (const auto& [k, v] : r.headers) list = curl_slist_append(list, (k + ": " + v).c_str());
  for (const auto& [k, v] : signed_headers) list = curl_slist_append(list, (k + ": " + v).c_str());
  list = curl_slist_append(list, "Expect:");
  std::string q = CanonicalQuery(r.query);
  std::string url = t.url_base + t.path + (q.empty() ? "" : "?" + q);
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(o_.connect_timeout_ms));
  if (!r.slow) {
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1024L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, static_cast<long>(o_.low_speed_seconds));
  }
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  if (!o_.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, o_.ca_file.c_str());
  if (r.method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (r.method != "GET") {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r.method.c_str());
  }
  return list;
}

Result<Response> Client::Once(void* handle, const Request& r) {
  CURL* h = static_cast<CURL*>(handle);
  Target t = TargetOf(r.key);
  std::string payload_hash = HexDigestOf(DigestAlgorithm::kSha256, r.body);
  curl_slist* list = static_cast<curl_slist*>(PrepareHeaders(handle, r, t, payload_hash));
  Response resp;
  Transfer tr{&resp, r.max_response, false, r.body, 0};
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &OnBody);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &tr);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &OnHeader);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &resp.headers);
  size_t moved = std::max(r.body.size(), r.expect_bytes);  // sent, or expected back
  long timeout = r.slow ? o_.slow_request_timeout_ms
                        : o_.request_timeout_ms + static_cast<long>(moved >> 20) * 4000;
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout);
  if (r.method == "PUT" || r.method == "POST") {
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, &OnRead);
    curl_easy_setopt(h, CURLOPT_READDATA, &tr);
    curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, &OnSeek);
    curl_easy_setopt(h, CURLOPT_SEEKDATA, &tr);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
  }
  CURLcode rc = curl_easy_perform(h);
  curl_slist_free_all(list);
  if (tr.too_long) {
    return Status(ErrorCode::kInternal, "storage error",
                  r.method + " " + r.key + ": the object store's answer is over " +
                      std::to_string(r.max_response) + " bytes");
  }
  if (rc == CURLE_OPERATION_TIMEDOUT) {
    return Status(ErrorCode::kUnavailable, kTimedOut,
                  r.method + " " + r.key + ": " + curl_easy_strerror(rc));
  }
  if (rc != CURLE_OK) return Unreachable(r.method + " " + r.key, curl_easy_strerror(rc));
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp.status);
  return resp;
}

bool Client::MayRetry(int attempt, std::chrono::steady_clock::time_point start,
                      const Status& failure) const {
  if (attempt >= o_.retries) return false;
  // An attempt that got an answer or a broken connection is tried again however long it
  // took (a part upload that ends in a 503 after a minute); one that timed out only while
  // the budget lasts, so that a store that says nothing cannot hold a request for minutes.
  if (failure.message() != kTimedOut) return true;
  return std::chrono::steady_clock::now() - start < std::chrono::milliseconds(o_.retry_budget_ms);
}

Result<Response> Client::Do(const Request& r) {
  auto start = std::chrono::steady_clock::now();
  for (int attempt = 0;; ++attempt) {
    void* h = AcquireHandle();
    if (!h) return Unreachable(r.method + " " + r.key, "out of memory for a transfer");
    auto resp = Once(h, r);
    if (resp.ok() || resp.status().code() != ErrorCode::kUnavailable) {
      ReleaseHandle(h);
    } else {
      curl_easy_cleanup(static_cast<CURL*>(h));  // a broken connection is not reused
    }
    bool retry = resp.ok() ? Transient(resp->status) : resp.status().code() == ErrorCode::kUnavailable;
    if (!retry || !MayRetry(attempt, start, resp.ok() ? Status::Ok() : resp.status())) return resp;
    Backoff(attempt);
  }
}

Result<std::unique_ptr<BodySource>> Client::GetRange(const std::string& key, uint64_t offset,
                                                     uint64_t length) {
  Request r;
  r.key = key;
  r.headers.emplace_back("range", "bytes=" + std::to_string(offset) + "-" +
                                      std::to_string(offset + length - 1));
  auto start = std::chrono::steady_clock::now();
  for (int attempt = 0;; ++attempt) {
    CURL* h = curl_easy_init();
    if (!h) return Unreachable("GET " + key, "out of memory for a transfer");
    Target t = TargetOf(key);
    auto* list = static_cast<curl_slist*>(
        PrepareHeaders(h, r, t, HexDigestOf(DigestAlgorithm::kSha256, "")));
    auto body = std::make_unique<StreamBody>(h, list, length);
    Status s = body->Start(std::chrono::milliseconds(o_.request_timeout_ms));
    bool retry = !s.ok() ? s.code() == ErrorCode::kUnavailable : Transient(body->status());
    if (retry && MayRetry(attempt, start, s)) {
      Backoff(attempt);
      continue;
    }
    ARCA_RETURN_IF_ERROR(s);
    if (body->status() == 206 || body->status() == 200) {
      std::string got = body->response().Header("content-length");
      if (got != std::to_string(length)) {
        return Status(ErrorCode::kBlobUnknown, "blob unknown",
                      key + ": the object store holds fewer bytes than the " +
                          std::to_string(offset) + " + " + std::to_string(length) + " asked for");
      }
      return std::unique_ptr<BodySource>(std::move(body));
    }
    ARCA_RETURN_IF_ERROR(body->DrainError());
    if (body->status() == 416) {
      return Status(ErrorCode::kBlobUnknown, "blob unknown",
                    key + ": the object store holds fewer bytes than asked for");
    }
    return ErrorOf(body->response(), "GET " + key);
  }
}

std::string Client::PresignGet(const std::string& key, int64_t expires, const Pairs& query) {
  Target t = TargetOf(key);
  SignedRequest sr{"GET", t.host, t.path, query, {}, "UNSIGNED-PAYLOAD"};
  return t.url_base + t.path + "?" +
         PresignQuery(sr, o_.credentials, o_.region, AmzDate(NowSeconds()), expires);
}

Status Client::ErrorOf(const Response& r, const std::string& what) {
  std::string code = XmlText(r.body, "Code");
  std::string message = XmlText(r.body, "Message");
  std::string detail = what + ": HTTP " + std::to_string(r.status) +
                       (code.empty() ? "" : " " + code) + (message.empty() ? "" : ": " + message);
  if (r.status == 404 && (code == "NoSuchKey" || code.empty())) {
    return Status(ErrorCode::kBlobUnknown, "blob unknown", detail);
  }
  if (code == "NoSuchUpload") {
    return Status(ErrorCode::kBlobUploadUnknown, "blob upload unknown", detail);
  }
  if (Transient(r.status)) return Status(ErrorCode::kUnavailable, "blob storage unavailable", detail);
  return Status(ErrorCode::kInternal, "storage error", detail);
}

}  // namespace arca::s3
