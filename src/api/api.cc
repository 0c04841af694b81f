#include "api/api.h"

#include <exception>
#include <optional>

#include "api/errors.h"

namespace arca::api {

std::string UploadLocation(const std::string& name, const std::string& id) {
  return "/v2/" + name + "/blobs/uploads/" + id;
}

std::string BlobLocation(const std::string& name, const std::string& digest) {
  return "/v2/" + name + "/blobs/" + digest;
}

void Api::Handle(http::Request& req, http::Response& res) {
  res.Set("Docker-Distribution-API-Version", "registry/2.0");
  Status s;
  Caller caller;
  std::optional<Route> routed;
  try {
    auto route = ParseRoute(req.path);
    if (route.ok()) routed = std::move(*route);
    res.route = routed ? RouteClass(routed->kind) : "";
    s = routed ? Serve(*routed, req, res, caller) : route.status();
  } catch (const std::exception& e) {  // a bug, never the client's fault: report, keep serving
    s = Status(ErrorCode::kInternal, "internal error", e.what());
  }
  if (!s.ok()) WriteError(res, s);
  if (audit_ && routed) Audit(*routed, caller, req, res);
}

Status Api::Serve(const Route& route, http::Request& req, http::Response& res, Caller& caller) {
  auto need = RequiredAction(route, req.method);
  if (!need) {
    std::string allow = Allow(route);
    res.Set("Allow", allow);
    return Status(ErrorCode::kMethodNotAllowed, "method not allowed", "allowed: " + allow);
  }
  if (*need == Action::kOpen) return route.kind == Route::kToken ? Token(req, res) : Probe(route, res);
  if (route.kind == Route::kMetrics && MayScrape(req)) return Metrics(res);
  ARCA_RETURN_IF_ERROR(Authorize(route, *need, req, res, caller));
  caller.context = RequestContext::For(auth_ ? caller.principal.Display() : "", req.request_id,
                                       options_.work_budget);
  return Dispatch(route, caller, req, res);
}

Status Api::Dispatch(const Route& route, const Caller& caller, http::Request& req,
                     http::Response& res) {
  switch (route.kind) {
    case Route::kBase:
      res.Set("Content-Type", "application/json");
      res.body = "{}";
      return Status::Ok();
    case Route::kCatalog: return Catalog(caller, req, res);
    case Route::kBlob: return Blob(route, caller, req, res);
    case Route::kUploads: return StartUpload(route, caller, req, res);
    case Route::kUpload: return Upload(route, caller, req, res);
    case Route::kManifest: return Manifest(route, caller, req, res);
    case Route::kTags: return Tags(route, req, res);
    case Route::kReferrers: return Referrers(route, req, res);
    case Route::kTypes:
    case Route::kType:
    case Route::kTypeLogo: return Types(route, req, res);
    case Route::kPolicy: return PolicyDocument(req, res);
    case Route::kMetrics: return Metrics(res);
    case Route::kTypedRepositories: return TypedRepositories(caller, req, res);
    case Route::kArtifacts: return Artifacts(route.name, req, res);
    case Route::kTrash:
    case Route::kTrashItem:
    case Route::kTrashRestore: return Trash(route, caller, req, res);
    case Route::kEvents: return Events(caller, req, res);
    case Route::kGc: return Gc(caller, req, res);
    case Route::kAccounts:
    case Route::kAccount:
    case Route::kAccountSecret:
    case Route::kAccountTokens:
    case Route::kAccountToken:
    case Route::kGroups:
    case Route::kGroupMember: return Accounts(route, req, res);
    case Route::kGrants:
    case Route::kGrant: return Grants(route, req, res);
    case Route::kAudit: return ListAudit(req, res);
    case Route::kHealthz:
    case Route::kReadyz:
    case Route::kToken: break;
  }
  return Status(ErrorCode::kNotFound, "no such endpoint", req.path.substr(0, 256));
}

}  // namespace arca::api
