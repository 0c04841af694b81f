// The audit stream's side of the API: which requests are recorded, under which action name,
// and GET /arca/v1/audit (registry-wide admins; newest first, keyset-paginated).
#include <nlohmann/json.hpp>

#include "api/api.h"
#include "api/errors.h"
#include "api/json_response.h"
#include "auth/audit.h"

namespace arca::api {
namespace {

using json = nlohmann::json;

// The action name of a change, or "" for requests that change nothing (reads, upload chunks).
std::string ActionOf(Route::Kind kind, const std::string& m) {
  switch (kind) {
    case Route::kManifest:
      return m == "PUT" ? "manifest.put" : m == "DELETE" ? "manifest.delete" : "";
    case Route::kBlob: return m == "DELETE" ? "blob.delete" : "";
    case Route::kUploads: return "upload.start";  // includes mounts and one-request pushes
    case Route::kUpload: return m == "PUT" ? "upload.finish" : m == "DELETE" ? "upload.cancel" : "";
    case Route::kType: return m == "PUT" ? "type.put" : m == "DELETE" ? "type.delete" : "";
    case Route::kPolicy: return m == "PUT" ? "policy.put" : m == "DELETE" ? "policy.delete" : "";
    case Route::kTrashItem: return "trash.purge";
    case Route::kTrashRestore: return "trash.restore";
    case Route::kGc: return m == "POST" ? "gc.run" : "";
    case Route::kAccounts: return m == "POST" ? "account.add" : "";
    case Route::kAccount:
      return m == "PATCH" ? "account.change" : m == "DELETE" ? "account.remove" : "";
    case Route::kAccountSecret: return "account.secret";
    case Route::kAccountTokens: return m == "POST" ? "token.add" : "";
    case Route::kAccountToken: return "token.remove";
    case Route::kGroupMember: return m == "PUT" ? "group.add" : "group.remove";
    case Route::kGrants: return m == "POST" ? "grant.add" : "";
    case Route::kGrant: return "grant.remove";
    default: return "";
  }
}

}  // namespace

void Api::Audit(const Route& route, const Caller& caller, const http::Request& req,
                const http::Response& res) {
  // Failed logins are recorded by auth itself (AuthOptions::on_login_failure). A refusal
  // before any credential was checked (a client's first, anonymous try) is no change.
  auth::AuditEntry e;
  e.action = ActionOf(route.kind, req.method);
  if (e.action.empty() || (!caller.has_credentials && res.status >= 400)) return;
  if (res.status == 401 || res.status == 429) return;
  e.principal = caller.principal.Display();
  if (route.kind == Route::kManifest && req.method == "PUT") {
    for (const auto& h : res.headers) {
      if (h.name == "Docker-Content-Digest") e.detail = h.value;
    }
  }
  e.repository = route.name;
  e.target = route.arg2.empty() ? route.arg : route.arg + "/" + route.arg2;
  if (route.kind == Route::kGrants && res.status == 201) e.detail = res.body.substr(0, 512);
  e.status = res.status;
  e.remote = req.remote;
  e.request_id = req.request_id;
  audit_->Record(std::move(e));
}

Status Api::ListAudit(http::Request& req, http::Response& res) {
  if (!audit_store_) return Status(ErrorCode::kNotFound, "the audit stream is off", "");
  auto n = PageSize(req, 1000);
  if (!n.ok()) return n.status();
  auth::AuditQuery q;
  q.limit = *n;
  if (auto last = req.Query("last")) q.before_id = std::atoll(last->c_str());
  q.principal = req.Query("principal").value_or("");
  q.repository = req.Query("repository").value_or("");
  q.action = req.Query("action").value_or("");
  audit_->Flush();  // what was done before this request is listed
  auto page = audit_store_->List(q);
  if (!page.ok()) return page.status();
  json list = json::array();
  for (const auth::AuditEntry& e : page->first) {
    list.push_back({{"id", e.id}, {"time", Rfc3339(e.time)}, {"principal", e.principal},
                    {"action", e.action}, {"repository", e.repository}, {"target", e.target},
                    {"status", e.status}, {"remote", e.remote}, {"requestId", e.request_id},
                    {"detail", e.detail}});
  }
  if (page->second && !page->first.empty()) {
    std::string link = "/arca/v1/audit?n=" + std::to_string(*n) +
                       "&last=" + std::to_string(page->first.back().id);
    for (const char* k : {"principal", "repository", "action"}) {
      if (auto v = req.Query(k)) link += std::string("&") + k + "=" + http::PercentEncode(*v);
    }
    res.Set("Link", "<" + link + ">; rel=\"next\"");
  }
  SetJson(res, {{"entries", list}});
  return Status::Ok();
}

}  // namespace arca::api
