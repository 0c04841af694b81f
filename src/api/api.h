// The HTTP API: turns /v2/ requests into Registry calls and renders their results and OCI
// errors. One file per resource (blobs.cc, uploads.cc, manifests.cc, listings.cc).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string_view>

#include "api/routes.h"
#include "auth/principal.h"
#include "http/message.h"
#include "registry/registry.h"

namespace arca {
class TypeCatalog;
class PolicyStore;
class Collector;
namespace auth {
class Auth;
class AccountStore;
class AuditRecorder;
class AuditStore;
}
}

namespace arca::api {

// Who is calling, once authenticated. Without auth (auth: none) everyone may do everything
// but administration, which is for loopback clients or the admin token.
struct Caller {
  auth::Principal principal;
  bool has_credentials = false;  // an Authorization header was sent
  RequestContext context;        // what the registry is told of it (set once authorized)
};

struct ApiOptions {
  bool auto_mount = true;       // `mount` without `from` mounts from any repository
  size_t max_page = 100000;     // largest page of tags, repositories or referrers
  std::string admin_token;      // when set, /arca/v1 writes need "Bearer <token>"
  std::string external_url;     // the base URL clients use (token realm); "" = from the request
  bool tls = false;             // served over TLS (the realm's scheme)
  // How long the registry's own scans for one request may go on (mount candidates, listings
  // filtered by permission); bodies are bounded by the server's transfer limits instead.
  std::chrono::milliseconds work_budget{30000};
  // Blob GETs in repositories matching these patterns (auth/pattern.h) are answered with a
  // 307 to a URL of the blob store (presigned S3), valid blob_redirect_ttl seconds, where the
  // store can make one; others stream through Arca.
  std::vector<std::string> blob_redirect;
  int64_t blob_redirect_ttl = 600;
  // A bearer token that may read /metrics from any address.
  std::string metrics_token;
  // Loopback clients (not relayed by a proxy that says so) read /metrics with no credentials.
  bool metrics_loopback = true;
};

class Api {
 public:
  Api(Registry& registry, ApiOptions options) : registry_(registry), options_(options) {}
  // The artifact types behind /arca/v1/types (optional; must outlive this).
  void SetTypes(TypeCatalog* types) { types_ = types; }
  // The type policy behind /arca/v1/policy (optional; must outlive this).
  void SetPolicy(PolicyStore* policy) { policy_ = policy; }
  // Whether the server is shutting down (GET /readyz answers 503 then). Optional.
  void SetStopping(std::function<bool()> stopping) { stopping_ = std::move(stopping); }
  // The garbage collector behind /arca/v1/admin/gc (optional; must outlive this).
  void SetCollector(Collector* collector) { collector_ = collector; }
  // Token authentication (auth: token): every route is checked (docs/auth.md). Optional;
  // both must outlive this.
  void SetAuth(auth::Auth* auth, auth::AccountStore* accounts) {
    auth_ = auth;
    accounts_ = accounts;
  }
  // The audit stream (audit.cc): changes and failed logins are recorded, /arca/v1/audit lists
  // them. Optional; both must outlive this.
  void SetAudit(auth::AuditRecorder* recorder, auth::AuditStore* store) {
    audit_ = recorder;
    audit_store_ = store;
  }
  // Handles one request; never throws, always fills res (an OCI error on failure).
  void Handle(http::Request& req, http::Response& res);

 private:
  Status Serve(const Route& route, http::Request& req, http::Response& res, Caller& caller);
  // Records the request in the audit stream when it changed something or failed a login.
  void Audit(const Route& route, const Caller& caller, const http::Request& req,
             const http::Response& res);
  Status ListAudit(http::Request& req, http::Response& res);
  Status Dispatch(const Route& route, const Caller& caller, http::Request& req,
                  http::Response& res);
  // Authentication and the route's permission check (auth_gate.cc).
  Status Authorize(const Route& route, Action need, const http::Request& req,
                   http::Response& res, Caller& caller);
  // Which repositories listings show the caller: those it may pull (one snapshot of the
  // grants per listing).
  std::function<bool(std::string_view)> Visibility(const Caller& caller) const;
  // Whether the caller may pull from repo with these credentials (a token: within its scope).
  bool MayPull(const Caller& caller, const std::string& repo) const;
  Status Blob(const Route& route, const Caller& caller, http::Request& req, http::Response& res);
  // The 307 target for a blob GET in repo (ApiOptions::blob_redirect), if any.
  std::optional<std::string> RedirectFor(const std::string& repo, const Digest& digest);
  Status StartUpload(const Route& route, const Caller& caller, http::Request& req,
                     http::Response& res);
  Status Upload(const Route& route, const Caller& caller, http::Request& req,
                http::Response& res);
  Status Manifest(const Route& route, const Caller& caller, http::Request& req,
                  http::Response& res);
  Status PutManifest(const Route& route, const Caller& caller, http::Request& req,
                     http::Response& res);
  Status Tags(const Route& route, http::Request& req, http::Response& res);
  Status Catalog(const Caller& caller, http::Request& req, http::Response& res);
  Status Referrers(const Route& route, http::Request& req, http::Response& res);
  // Parses ?n= (at most `max`, which is also the default).
  Result<size_t> PageSize(const http::Request& req, size_t max) const;
  Result<size_t> PageSize(const http::Request& req) const { return PageSize(req, options_.max_page); }

  // The Arca API (arca_api.cc, types_api.cc).
  Status Types(const Route& route, http::Request& req, http::Response& res);
  Status PolicyDocument(http::Request& req, http::Response& res);  // policy_api.cc
  // ops_api.cc: /metrics, /healthz, /readyz.
  bool MayScrape(const http::Request& req) const;
  // The artifact type as metrics label it: a known type's id, "unknown" or "none".
  std::string TypeLabel(const std::string& type) const;
  Status Metrics(http::Response& res);
  Status Probe(const Route& route, http::Response& res);
  Status TypedRepositories(const Caller& caller, http::Request& req, http::Response& res);
  Status Artifacts(const std::string& repo, http::Request& req, http::Response& res);
  Status Events(const Caller& caller, http::Request& req, http::Response& res);
  // Garbage collection and the recycle bin (gc_api.cc).
  Status Gc(const Caller& caller, http::Request& req, http::Response& res);
  Status Trash(const Route& route, const Caller& caller, http::Request& req,
               http::Response& res);
  // Without auth: ok when req may change the registry's configuration (docs/arca-api.md).
  Status AuthorizeAdmin(const http::Request& req, http::Response& res) const;
  // The token endpoint (token_api.cc) and accounts, groups and grants (accounts_api.cc).
  Status Token(http::Request& req, http::Response& res);
  Status Accounts(const Route& route, http::Request& req, http::Response& res);
  Status Grants(const Route& route, http::Request& req, http::Response& res);

  Registry& registry_;
  ApiOptions options_;
  TypeCatalog* types_ = nullptr;
  PolicyStore* policy_ = nullptr;
  std::function<bool()> stopping_;
  std::mutex ready_mu_;
  int64_t ready_checked_ms_ = 0;  // GUARDED_BY(ready_mu_): when the last check ended
  int64_t ready_started_ms_ = 0;  // GUARDED_BY(ready_mu_): when the running one began
  bool ready_checking_ = false;   // GUARDED_BY(ready_mu_)
  std::string ready_body_;        // GUARDED_BY(ready_mu_): the last answer, for one second
  bool ready_ = false;            // GUARDED_BY(ready_mu_)
  Collector* collector_ = nullptr;
  auth::Auth* auth_ = nullptr;
  auth::AccountStore* accounts_ = nullptr;
  auth::AuditRecorder* audit_ = nullptr;
  auth::AuditStore* audit_store_ = nullptr;
};

// "/v2/<name>/blobs/uploads/<id>" and friends.
std::string UploadLocation(const std::string& name, const std::string& id);
std::string BlobLocation(const std::string& name, const std::string& digest);

}  // namespace arca::api
