// The route table: every path Arca serves (/v2, /arca/v1 and /token), the resource it names,
// and, per method, the permission a caller needs. A route cannot be served without an entry
// here, so it cannot be added without its check. Pure: no registry access.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "util/status.h"

namespace arca::api {

// What a request needs of its caller (docs/auth.md). kPull, kPush and kDelete are on the
// route's repository; kAdmin is registry-wide.
enum class Action {
  kOpen,    // nothing: the token endpoint itself, and the health probes
  kLogin,   // any valid credential (an anonymous token counts); listings are then filtered
  kPull,
  kPush,
  kDelete,
  kAdmin,
};
const char* ActionName(Action a);  // "pull", "push", "delete", "admin", "login", "open"

struct Route {
  enum Kind {
    // /v2
    kBase, kCatalog, kBlob, kUploads, kUpload, kManifest, kTags, kReferrers,
    // /arca/v1
    kTypes, kType, kTypeLogo, kTypedRepositories, kArtifacts, kTrash, kTrashItem, kTrashRestore,
    kEvents, kGc, kAccounts, kAccount, kAccountSecret, kAccountTokens, kAccountToken, kGroups,
    kGroupMember, kGrants, kGrant, kAudit, kPolicy,
    // operations: /metrics, /healthz, /readyz
    kMetrics, kHealthz, kReadyz,
    // /token
    kToken,
  };
  Kind kind = kBase;
  std::string name;  // the repository (validated against the spec's grammar), or "" for none
  std::string arg;   // digest, upload id, reference, type id or account name (decoded)
  std::string arg2;  // a second argument: a token id or a group member
};

// The route's class as metrics label it: "manifest", "blob", "upload", "tags", ...
const char* RouteClass(Route::Kind kind);

// NOT_FOUND for paths outside the API; NAME_INVALID for a repository name that breaks the
// grammar (this is where "..", "%2f" and friends are stopped).
Result<Route> ParseRoute(std::string_view path);

// The permission `method` on `route` needs, or nullopt when the route has no such method;
// then Allow() lists those it has (for 405 and its Allow header). HEAD goes with GET.
std::optional<Action> RequiredAction(const Route& route, std::string_view method);
std::string Allow(const Route& route);

}  // namespace arca::api
