// The operations endpoints (docs/operations.md): GET /metrics in the Prometheus text format,
// GET /healthz (the process answers) and GET /readyz (it can take writes: the metadata store
// and the blob store each take one, and it is not shutting down).
#include <openssl/crypto.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "api/api.h"
#include "metrics/metrics.h"
#include "registry/type_catalog.h"

namespace arca::api {
namespace {

bool IsLoopbackAddress(const std::string& ip) {
  return ip.starts_with("127.") || ip == "::1" || ip.starts_with("::ffff:127.");
}

bool CameThroughProxy(const http::Request& req) {
  for (std::string_view h : {"Forwarded", "X-Forwarded-For", "X-Forwarded-Host",
                             "X-Forwarded-Proto", "X-Real-IP", "Via"}) {
    if (req.HasHeader(h)) return true;
  }
  return false;
}

}  // namespace

bool Api::MayScrape(const http::Request& req) const {
  // Loopback, unless a proxy on this host relays others (as for admin requests).
  if (IsLoopbackAddress(req.remote) && !CameThroughProxy(req)) return true;
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
  std::lock_guard<std::mutex> lock(ready_mu_);  // one check at a time; others reuse it
  if (stopping || ready_body_.empty() || now_ms - ready_checked_ms_ >= 1000) {
    // Each check writes (a lease row, a probe object): at most once a second, however many
    // probes ask. The reasons name the store, never a credential or a path.
    auto reason = [](const Status& s) { return s.ok() ? std::string("ok") : s.message(); };
    Status meta = stopping ? Status::Ok() : registry_.CheckMetadataWritable(options_.instance);
    Status blobs = stopping ? Status::Ok() : registry_.CheckBlobsWritable();
    ready_ = !stopping && meta.ok() && blobs.ok();
    nlohmann::json body = {{"status", ready_ ? "ready" : "not ready"},
                           {"checks",
                            {{"metadata", stopping ? "not checked" : reason(meta)},
                             {"blobs", stopping ? "not checked" : reason(blobs)},
                             {"shutting_down", stopping}}}};
    ready_body_ = body.dump();
    ready_checked_ms_ = now_ms;
  }
  res.status = ready_ ? 200 : 503;
  if (!ready_) res.Set("Retry-After", "1");
  res.body = ready_body_;
  return Status::Ok();
}

}  // namespace arca::api
