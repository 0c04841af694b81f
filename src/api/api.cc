#include "api/api.h"

#include <exception>

#include "api/errors.h"

namespace arca::api {

std::string UploadLocation(const std::string& name, const std::string& id) {
  return "/v2/" + name + "/blobs/uploads/" + id;
}

std::string BlobLocation(const std::string& name, const std::string& digest) {
  return "/v2/" + name + "/blobs/" + digest;
}

static Status MethodNotAllowed(const char* allow, http::Response& res) {
  res.Set("Allow", allow);
  return Status(ErrorCode::kMethodNotAllowed, "method not allowed", std::string("allowed: ") + allow);
}

void Api::Handle(http::Request& req, http::Response& res) {
  res.Set("Docker-Distribution-API-Version", "registry/2.0");
  Status s;
  try {
    if (req.path.starts_with("/arca/v1/")) {
      s = Arca(req, res);
    } else {
      auto route = ParseRoute(req.path);
      s = route.ok() ? Dispatch(*route, req, res) : route.status();
    }
  } catch (const std::exception& e) {  // a bug, never the client's fault: report, keep serving
    s = Status(ErrorCode::kInternal, "internal error", e.what());
  }
  if (!s.ok()) WriteError(res, s);
}

Status Api::Dispatch(const Route& route, http::Request& req, http::Response& res) {
  const std::string& m = req.method;
  switch (route.kind) {
    case Route::kBase:
      if (m != "GET" && m != "HEAD") return MethodNotAllowed("GET, HEAD", res);
      res.Set("Content-Type", "application/json");
      res.body = "{}";
      return Status::Ok();
    case Route::kCatalog:
      if (m != "GET") return MethodNotAllowed("GET", res);
      return Catalog(req, res);
    case Route::kBlob:
      if (m != "GET" && m != "HEAD" && m != "DELETE") return MethodNotAllowed("GET, HEAD, DELETE", res);
      return Blob(route, req, res);
    case Route::kUploads:
      if (m != "POST") return MethodNotAllowed("POST", res);
      return StartUpload(route, req, res);
    case Route::kUpload:
      if (m != "GET" && m != "PATCH" && m != "PUT" && m != "DELETE") {
        return MethodNotAllowed("GET, PATCH, PUT, DELETE", res);
      }
      return Upload(route, req, res);
    case Route::kManifest:
      if (m != "GET" && m != "HEAD" && m != "PUT" && m != "DELETE") {
        return MethodNotAllowed("GET, HEAD, PUT, DELETE", res);
      }
      return Manifest(route, req, res);
    case Route::kTags:
      if (m != "GET") return MethodNotAllowed("GET", res);
      return Tags(route, req, res);
    case Route::kReferrers:
      if (m != "GET") return MethodNotAllowed("GET", res);
      return Referrers(route, req, res);
  }
  return Status(ErrorCode::kNotFound, "no such endpoint");
}

}  // namespace arca::api
