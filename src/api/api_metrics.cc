#include "api/api_metrics.h"

namespace arca::api {
namespace {

using metrics::Default;

struct Families {
  metrics::Family<metrics::Counter>& requests = Default().CounterFamily(
      "arca_http_requests_total", "HTTP requests answered, by route class, method and status.",
      {"route", "method", "status"});
  metrics::Family<metrics::Histogram>& duration = Default().HistogramFamily(
      "arca_http_request_duration_seconds",
      "From a request's headers read to its response's last byte, by route class and method.",
      {"route", "method"}, metrics::LatencyBuckets());
  metrics::Family<metrics::Counter>& bytes_in = Default().CounterFamily(
      "arca_http_request_bytes_total", "Request body bytes read, by route class.", {"route"});
  metrics::Family<metrics::Counter>& bytes_out = Default().CounterFamily(
      "arca_http_response_bytes_total", "Response body bytes sent, by route class.", {"route"});
  metrics::Family<metrics::Counter>& pushes = Default().CounterFamily(
      "arca_pushes_total", "Manifests pushed, by artifact type.", {"artifact_type"});
  metrics::Family<metrics::Counter>& pulls = Default().CounterFamily(
      "arca_pulls_total", "Manifests pulled (GET), by artifact type.", {"artifact_type"});
  metrics::Family<metrics::Gauge>& uploads = Default().GaugeFamily(
      "arca_uploads_in_flight", "Upload requests writing blob bytes now.");
  metrics::Family<metrics::Counter>& auth = Default().CounterFamily(
      "arca_auth_decisions_total", "Authorization decisions (auth: token), by outcome.",
      {"decision"});
};

Families& F() {
  static Families* f = new Families();  // never destroyed: threads may record at exit
  return *f;
}

std::string_view MethodLabel(const std::string& m) {
  for (std::string_view known : {"GET", "HEAD", "PUT", "POST", "PATCH", "DELETE"}) {
    if (m == known) return known;
  }
  return "other";
}

}  // namespace

void RegisterApiMetrics() {
  Families& f = F();
  f.uploads.Get();
  for (const char* d : {"allowed", "denied", "unauthenticated", "invalid_credentials",
                        "rate_limited"}) {
    f.auth.With({d});
  }
}

void ObserveRequest(const http::Request& req, const http::Response& res, uint64_t received,
                    uint64_t sent, int64_t micros) {
  Families& f = F();
  std::string_view route = res.route.empty() ? std::string_view("unmatched") : res.route;
  std::string_view method = MethodLabel(req.method);
  std::string status = std::to_string(res.status);
  f.requests.With({route, method, status}).Add();
  f.duration.With({route, method}).Observe(static_cast<double>(micros) / 1e6);
  if (received) f.bytes_in.With({route}).Add(received);
  if (sent) f.bytes_out.With({route}).Add(sent);
}

void CountPush(const std::string& type_label) { F().pushes.With({type_label}).Add(); }
void CountPull(const std::string& type_label) { F().pulls.With({type_label}).Add(); }
void CountAuthDecision(const char* decision) { F().auth.With({decision}).Add(); }

UploadInFlight::UploadInFlight() { F().uploads.Get().Add(1); }
UploadInFlight::~UploadInFlight() { F().uploads.Get().Add(-1); }

}  // namespace arca::api
