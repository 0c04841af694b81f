// What the API records in the process's metrics (metrics/metrics.h, docs/operations.md): every
// answered request by route class, method and status, with its latency and bytes; pushes and
// pulls by artifact type; uploads writing now; authorization decisions.
#pragma once

#include <cstdint>
#include <string>

#include "http/message.h"
#include "metrics/metrics.h"

namespace arca::api {

// Makes every family listed in /metrics from the start (the request series come with use).
void RegisterApiMetrics();

// The server's observe hook (http::ServerOptions::observe).
void ObserveRequest(const http::Request& req, const http::Response& res, uint64_t received,
                    uint64_t sent, int64_t micros);

// A manifest pushed or pulled; type_label is a known artifact type's id, "unknown" for one no
// definition names, or "none" (labels never carry a client's free text).
void CountPush(const std::string& type_label);
void CountPull(const std::string& type_label);

// "allowed", "denied" (credentials that lack the right), "unauthenticated" (none given),
// "invalid_credentials" or "rate_limited".
void CountAuthDecision(const char* decision);

// Upload requests writing now, while one lives.
class UploadInFlight {
 public:
  UploadInFlight();
  ~UploadInFlight();
  UploadInFlight(const UploadInFlight&) = delete;
  UploadInFlight& operator=(const UploadInFlight&) = delete;
};

}  // namespace arca::api
