// Every request passes here before its handler: who is calling (auth/auth.h decides), and
// whether the route's action (routes.h) is allowed. Refusals follow the token protocol: a
// caller without credentials, or with a token lacking the scope, gets 401 and a Bearer
// challenge naming the scope to ask for; a caller whose own credentials lack the permission
// gets 403. The answer never depends on whether the repository exists.
#include "api/api.h"
#include "api/api_metrics.h"
#include "api/errors.h"
#include "auth/auth.h"

namespace arca::api {
namespace {

// The scope a client should ask /token for to do this.
std::string ScopeFor(const Route& route, Action need) {
  switch (need) {
    case Action::kPull: return "repository:" + route.name + ":pull";
    case Action::kPush: return "repository:" + route.name + ":pull,push";
    case Action::kDelete: return "repository:" + route.name + ":delete";
    case Action::kAdmin: return "registry:arca:admin";
    case Action::kLogin: return route.kind == Route::kCatalog ? "registry:catalog:*" : "";
    case Action::kOpen: return "";
  }
  return "";
}

auth::Permission PermissionOf(Action a) {
  switch (a) {
    case Action::kPush: return auth::Permission::kPush;
    case Action::kDelete: return auth::Permission::kDelete;
    case Action::kAdmin: return auth::Permission::kAdmin;
    default: return auth::Permission::kPull;
  }
}

// The scheme and host the client used, for the realm: X-Forwarded-* are not trusted (a
// configured external URL is the way to name a proxy's).
std::string BaseUrl(const http::Request& req, const std::string& external_url, bool tls) {
  if (!external_url.empty()) return external_url;
  std::string_view host = req.HeaderValue("Host");
  bool safe = !host.empty() && host.size() <= 255 &&
              host.find_first_of("\"\\ ,;\r\n\t") == std::string_view::npos;
  return std::string(tls ? "https://" : "http://") + std::string(safe ? host : "localhost");
}

}  // namespace

Status Api::Authorize(const Route& route, Action need, const http::Request& req,
                      http::Response& res, Caller& caller) {
  if (!auth_) {
    // auth: none. Administration (and, as before auth existed, changing the recycle bin)
    // is for loopback clients or the admin token.
    bool admin = need == Action::kAdmin || route.kind == Route::kTrashItem ||
                 route.kind == Route::kTrashRestore;
    caller.principal.kind = auth::Principal::kAdminToken;
    return admin ? AuthorizeAdmin(req, res) : Status::Ok();
  }
  std::string_view header = req.HeaderValue("Authorization");
  caller.has_credentials = !header.empty();
  auto challenge = [&](const std::string& error) {
    std::string value = "Bearer realm=\"" +
                        BaseUrl(req, options_.external_url, options_.tls) + "/token\",service=\"" +
                        auth_->options().service + "\"";
    if (std::string scope = ScopeFor(route, need); !scope.empty()) {
      value += ",scope=\"" + scope + "\"";
    }
    if (!error.empty()) value += ",error=\"" + error + "\"";
    res.Set("WWW-Authenticate", value);
  };
  int64_t retry_after = 0;
  auto p = auth_->Authenticate(header, req.remote, &retry_after);
  if (!p.ok()) {
    CountAuthDecision(retry_after > 0 ? "rate_limited" : "invalid_credentials");
    if (retry_after > 0) res.Set("Retry-After", std::to_string(retry_after));
    if (p.status().code() == ErrorCode::kUnauthorized) challenge("invalid_token");
    return p.status();
  }
  caller.principal = std::move(*p);
  const auth::Principal& who = caller.principal;
  bool allowed = false;
  switch (need) {
    case Action::kOpen: allowed = true; break;
    case Action::kLogin:
      allowed = caller.has_credentials &&
                (route.kind != Route::kCatalog || auth_->MayListCatalog(who));
      break;
    case Action::kAdmin: allowed = auth_->IsAdmin(who); break;
    default: allowed = auth_->Allowed(who, route.name, PermissionOf(need)); break;
  }
  CountAuthDecision(allowed ? "allowed" : caller.has_credentials ? "denied" : "unauthenticated");
  if (allowed) return Status::Ok();
  if (!caller.has_credentials || who.scoped) {
    challenge(caller.has_credentials ? "insufficient_scope" : "");
    return Status(ErrorCode::kUnauthorized, "authentication required",
                  caller.has_credentials ? "the token does not grant " + ScopeFor(route, need)
                                         : "");
  }
  return Status(ErrorCode::kDenied, "requested access to the resource is denied", "");
}

std::function<bool(std::string_view)> Api::Visibility(const Caller& caller) const {
  if (!auth_) return [](std::string_view) { return true; };
  return auth_->VisibilityOf(caller.principal);
}

bool Api::MayPull(const Caller& caller, const std::string& repo) const {
  return !auth_ || auth_->Allowed(caller.principal, repo, auth::Permission::kPull);
}

}  // namespace arca::api
