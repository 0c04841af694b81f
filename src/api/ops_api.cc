// The operations endpoints (docs/operations.md): GET /metrics in the Prometheus text format,
// GET /healthz (the process answers) and GET /readyz (it can take writes: the metadata store
// and the blob store each take one, and it is not shutting down).
#include <openssl/crypto.h>

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "api/api.h"
#include "api/client_address.h"
#include "metrics/metrics.h"
#include "registry/type_catalog.h"

namespace arca::api {

bool Api::MayScrape(const http::Request& req) const {
  // Loopback, unless a proxy on this host relays others (as for admin requests), or the
  // operator turned that off (metrics_loopback: a proxy here that says nothing).
  if (options_.metrics_loopback && IsLoopback(req.remote) && ProxyHeader(req).empty()) {
    return true;
  }
  const std::string& token = options_.metrics_token;
  std::string_view auth = req.HeaderValue("Authorization");
  if (token.empty() || !auth.starts_with("Bearer ")) return false;
  std::string_view given = auth.substr(7);
  return given.size() == token.size() &&
         CRYPTO_memcmp(given.data(), token.data(), token.size()) == 0;
}

std::string Api::TypeLabel(const std::string& type) const {
  if (type.empty()) return "none";
  return types_ && types_->Find(type) ? type : "unknown";
}

Status Api::Metrics(http::Response& res) {
  res.Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
  res.Set("Cache-Control", "no-store");
  res.body = metrics::Default().Render();
  return Status::Ok();
}

Status Api::Probe(const Route& route, http::Response& res) {
  res.Set("Content-Type", "application/json");
  res.Set("Cache-Control", "no-store");
  if (route.kind == Route::kHealthz) {
    res.body = R"({"status":"ok"})";
    return Status::Ok();
  }
  bool stopping = stopping_ && stopping_();
  int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::steady_clock::now().time_since_epoch()).count();
  std::unique_lock<std::mutex> lock(ready_mu_);
  bool stale = ready_body_.empty() || now_ms - ready_checked_ms_ >= 1000;
  if (stopping || (stale && !ready_checking_)) {
    // One check at a time, without the lock: each writes (a metadata transaction, a probe
    // object) and may wait on a store that does not answer; probes meanwhile get the last
    // answer. The reasons name the store, never a credential or a path.
    ready_checking_ = !stopping;
    ready_started_ms_ = now_ms;
    lock.unlock();
    auto reason = [](const Status& s) { return s.ok() ? std::string("ok") : s.message(); };
    Status meta = stopping ? Status::Ok() : registry_.CheckMetadataWritable();
    Status blobs = stopping ? Status::Ok() : registry_.CheckBlobsWritable();
    bool ready = !stopping && meta.ok() && blobs.ok();
    nlohmann::json body = {{"status", ready ? "ready" : "not ready"},
                           {"checks",
                            {{"metadata", stopping ? "not checked" : reason(meta)},
                             {"blobs", stopping ? "not checked" : reason(blobs)},
                             {"shutting_down", stopping}}}};
    if (!ready && !stopping) {
      std::fprintf(stderr, "arca: not ready: metadata: %s; blobs: %s\n",
                   meta.ok() ? "ok" : (meta.message() + ": " + meta.detail()).c_str(),
                   blobs.ok() ? "ok" : (blobs.message() + ": " + blobs.detail()).c_str());
    }
    lock.lock();
    if (!stopping) ready_checking_ = false;
    ready_ = ready;
    ready_body_ = body.dump();
    ready_checked_ms_ = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now().time_since_epoch()).count();
  } else if (ready_checking_ && now_ms - ready_started_ms_ > 5000) {
    // A check that has not come back in 5 s: a store that hangs is not ready.
    res.status = 503;
    res.Set("Retry-After", "1");
    res.body = R"({"status":"not ready","checks":{"pending":"a store has not answered for )" +
               std::to_string((now_ms - ready_started_ms_) / 1000) + R"( s"}})";
    return Status::Ok();
  }
  if (ready_body_.empty()) {  // the first check is still running
    res.status = 503;
    res.Set("Retry-After", "1");
    res.body = R"({"status":"not ready","checks":{"pending":"the first check is running"}})";
    return Status::Ok();
  }
  res.status = ready_ ? 200 : 503;
  if (!ready_) res.Set("Retry-After", "1");
  res.body = ready_body_;
  return Status::Ok();
}

}  // namespace arca::api
