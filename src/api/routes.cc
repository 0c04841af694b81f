#include "api/routes.h"

#include <vector>

#include "http/message.h"
#include "types/names.h"

namespace arca::api {
namespace {

std::vector<std::string_view> Split(std::string_view s) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t slash = s.find('/', start);
    out.push_back(s.substr(start, slash == std::string_view::npos ? slash : slash - start));
    if (slash == std::string_view::npos) return out;
    start = slash + 1;
  }
}

Status NotFound(std::string_view path) {
  return Status(ErrorCode::kNotFound, "no such endpoint", std::string(path.substr(0, 256)));
}

Result<Route> ParseV2(std::string_view path) {
  if (path == "/v2" || path == "/v2/") return Route{Route::kBase, "", "", ""};
  std::string_view rest = path.substr(4);
  if (rest == "_catalog") return Route{Route::kCatalog, "", "", ""};
  auto segs = Split(rest);
  size_t n = segs.size();
  Route route;
  size_t name_segments = 0;
  if (n >= 3 && segs[n - 2] == "tags" && segs[n - 1] == "list") {
    route.kind = Route::kTags;
    name_segments = n - 2;
  } else if (n >= 3 && segs[n - 2] == "manifests") {
    route.kind = Route::kManifest;
    name_segments = n - 2;
  } else if (n >= 4 && segs[n - 3] == "blobs" && segs[n - 2] == "uploads") {
    route.kind = segs[n - 1].empty() ? Route::kUploads : Route::kUpload;
    name_segments = n - 3;
  } else if (n >= 3 && segs[n - 2] == "blobs" && segs[n - 1] == "uploads") {
    route.kind = Route::kUploads;
    name_segments = n - 2;
  } else if (n >= 3 && segs[n - 2] == "blobs") {
    route.kind = Route::kBlob;
    name_segments = n - 2;
  } else if (n >= 3 && segs[n - 2] == "referrers") {
    route.kind = Route::kReferrers;
    name_segments = n - 2;
  } else {
    return NotFound(path);
  }
  size_t name_len = 0;
  for (size_t i = 0; i < name_segments; ++i) name_len += segs[i].size() + 1;
  route.name = std::string(rest.substr(0, name_len - 1));
  ARCA_RETURN_IF_ERROR(ValidateRepositoryName(route.name));
  if (route.kind != Route::kTags && route.kind != Route::kUploads) {
    auto arg = http::PercentDecode(segs[n - 1]);
    if (!arg || arg->empty()) return NotFound(path);
    route.arg = std::move(*arg);
  }
  return route;
}

// One path segment, percent-decoded; empty or malformed is nullopt.
std::optional<std::string> Segment(std::string_view s) {
  auto d = http::PercentDecode(s);
  if (!d || d->empty() || d->find('/') != std::string::npos) return std::nullopt;
  return d;
}

// types/<id>[/logo.svg]: an id is a media type, so it has one '/' (written as is or as %2F).
Result<Route> ParseType(std::string_view path, std::string_view rest) {
  auto decoded = http::PercentDecode(rest);
  if (!decoded || decoded->empty()) return NotFound(path);
  Route r{Route::kType, "", std::move(*decoded), ""};
  if (r.arg.ends_with("/logo.svg")) {
    r.kind = Route::kTypeLogo;
    r.arg.resize(r.arg.size() - 9);
  }
  return r;
}

// repositories/<name>/artifacts and repositories/<name>/trash[/<digest>[/restore]]: a
// repository name never has a segment "trash" or "artifacts" in the last place these look.
Result<Route> ParseRepository(std::string_view path, std::string_view tail) {
  Route r;
  std::string_view name;
  if (tail.ends_with("/artifacts")) {
    r.kind = Route::kArtifacts;
    name = tail.substr(0, tail.size() - 10);
  } else if (tail.ends_with("/trash")) {
    r.kind = Route::kTrash;
    name = tail.substr(0, tail.size() - 6);
  } else if (size_t at = tail.rfind("/trash/"); at != std::string_view::npos && at > 0) {
    name = tail.substr(0, at);
    std::string_view item = tail.substr(at + 7);
    r.kind = Route::kTrashItem;
    if (item.ends_with("/restore")) {
      r.kind = Route::kTrashRestore;
      item.remove_suffix(8);
    }
    if (item.empty() || item.find('/') != std::string_view::npos) return NotFound(path);
    r.arg = std::string(item);
  } else {
    return NotFound(path);
  }
  r.name = std::string(name);
  ARCA_RETURN_IF_ERROR(ValidateRepositoryName(r.name));
  return r;
}

Result<Route> ParseAccounts(std::string_view path, const std::vector<std::string_view>& s) {
  size_t n = s.size();
  if (n == 1) return Route{Route::kAccounts, "", "", ""};
  auto name = Segment(s[1]);
  if (!name) return NotFound(path);
  if (n == 2) return Route{Route::kAccount, "", *name, ""};
  if (n == 3 && s[2] == "secret") return Route{Route::kAccountSecret, "", *name, ""};
  if (n == 3 && s[2] == "tokens") return Route{Route::kAccountTokens, "", *name, ""};
  if (n == 4 && s[2] == "tokens") {
    if (auto id = Segment(s[3])) return Route{Route::kAccountToken, "", *name, *id};
  }
  return NotFound(path);
}

Result<Route> ParseArca(std::string_view path) {
  std::string_view rest = path.substr(9);  // after /arca/v1/
  if (rest == "types") return Route{Route::kTypes, "", "", ""};
  if (rest.starts_with("types/")) return ParseType(path, rest.substr(6));
  if (rest == "repositories") return Route{Route::kTypedRepositories, "", "", ""};
  if (rest.starts_with("repositories/")) return ParseRepository(path, rest.substr(13));
  if (rest == "events") return Route{Route::kEvents, "", "", ""};
  if (rest == "admin/gc") return Route{Route::kGc, "", "", ""};
  if (rest == "audit") return Route{Route::kAudit, "", "", ""};
  if (rest == "policy") return Route{Route::kPolicy, "", "", ""};
  if (rest == "grants") return Route{Route::kGrants, "", "", ""};
  auto segs = Split(rest);
  if (segs.size() == 2 && segs[0] == "grants") {
    if (auto id = Segment(segs[1])) return Route{Route::kGrant, "", *id, ""};
  }
  if (segs[0] == "accounts") return ParseAccounts(path, segs);
  if (segs[0] == "groups") {
    if (segs.size() == 1) return Route{Route::kGroups, "", "", ""};
    auto group = Segment(segs[1]);
    auto member = segs.size() == 4 && segs[2] == "members" ? Segment(segs[3]) : std::nullopt;
    if (group && member) return Route{Route::kGroupMember, "", *group, *member};
  }
  return NotFound(path);
}

// The table: per route, each method it has and what that needs. HEAD goes with GET.
struct MethodAction {
  Route::Kind kind;
  const char* method;
  Action action;
};
using A = Action;
using R = Route;
constexpr MethodAction kTable[] = {
    {R::kBase, "GET", A::kLogin},
    {R::kCatalog, "GET", A::kLogin},
    {R::kBlob, "GET", A::kPull},
    {R::kBlob, "DELETE", A::kDelete},
    {R::kUploads, "POST", A::kPush},
    {R::kUpload, "GET", A::kPush},
    {R::kUpload, "PATCH", A::kPush},
    {R::kUpload, "PUT", A::kPush},
    {R::kUpload, "DELETE", A::kPush},
    {R::kManifest, "GET", A::kPull},
    {R::kManifest, "PUT", A::kPush},
    {R::kManifest, "DELETE", A::kDelete},
    {R::kTags, "GET", A::kPull},
    {R::kReferrers, "GET", A::kPull},
    {R::kTypes, "GET", A::kLogin},
    {R::kType, "GET", A::kLogin},
    {R::kType, "PUT", A::kAdmin},
    {R::kType, "DELETE", A::kAdmin},
    {R::kTypeLogo, "GET", A::kLogin},
    {R::kTypedRepositories, "GET", A::kLogin},
    {R::kArtifacts, "GET", A::kPull},
    {R::kTrash, "GET", A::kPull},
    {R::kTrashItem, "DELETE", A::kDelete},
    {R::kTrashRestore, "POST", A::kPush},
    {R::kEvents, "GET", A::kLogin},
    {R::kGc, "GET", A::kAdmin},
    {R::kGc, "POST", A::kAdmin},
    {R::kAccounts, "GET", A::kAdmin},
    {R::kAccounts, "POST", A::kAdmin},
    {R::kAccount, "GET", A::kAdmin},
    {R::kAccount, "PATCH", A::kAdmin},
    {R::kAccount, "DELETE", A::kAdmin},
    {R::kAccountSecret, "PUT", A::kAdmin},
    {R::kAccountSecret, "POST", A::kAdmin},
    {R::kAccountTokens, "GET", A::kAdmin},
    {R::kAccountTokens, "POST", A::kAdmin},
    {R::kAccountToken, "DELETE", A::kAdmin},
    {R::kGroups, "GET", A::kAdmin},
    {R::kGroupMember, "PUT", A::kAdmin},
    {R::kGroupMember, "DELETE", A::kAdmin},
    {R::kGrants, "GET", A::kAdmin},
    {R::kGrants, "POST", A::kAdmin},
    {R::kGrant, "DELETE", A::kAdmin},
    {R::kAudit, "GET", A::kAdmin},
    {R::kPolicy, "GET", A::kLogin},
    {R::kPolicy, "PUT", A::kAdmin},
    {R::kPolicy, "DELETE", A::kAdmin},
    // /metrics: loopback clients and the scrape token read it without more (api.cc); the
    // rest need admin.
    {R::kMetrics, "GET", A::kAdmin},
    {R::kHealthz, "GET", A::kOpen},
    {R::kReadyz, "GET", A::kOpen},
    {R::kToken, "GET", A::kOpen},
    {R::kToken, "POST", A::kOpen},
};

}  // namespace

const char* ActionName(Action a) {
  switch (a) {
    case Action::kOpen: return "open";
    case Action::kLogin: return "login";
    case Action::kPull: return "pull";
    case Action::kPush: return "push";
    case Action::kDelete: return "delete";
    case Action::kAdmin: return "admin";
  }
  return "?";
}

const char* RouteClass(Route::Kind kind) {
  switch (kind) {
    case Route::kBase: return "base";
    case Route::kCatalog: return "catalog";
    case Route::kBlob: return "blob";
    case Route::kUploads:
    case Route::kUpload: return "upload";
    case Route::kManifest: return "manifest";
    case Route::kTags: return "tags";
    case Route::kReferrers: return "referrers";
    case Route::kTypes:
    case Route::kType:
    case Route::kTypeLogo: return "types";
    case Route::kTypedRepositories:
    case Route::kArtifacts: return "artifacts";
    case Route::kTrash:
    case Route::kTrashItem:
    case Route::kTrashRestore: return "trash";
    case Route::kEvents: return "events";
    case Route::kGc: return "gc";
    case Route::kAccounts:
    case Route::kAccount:
    case Route::kAccountSecret:
    case Route::kAccountTokens:
    case Route::kAccountToken:
    case Route::kGroups:
    case Route::kGroupMember:
    case Route::kGrants:
    case Route::kGrant: return "accounts";
    case Route::kAudit: return "audit";
    case Route::kPolicy: return "policy";
    case Route::kMetrics: return "metrics";
    case Route::kHealthz:
    case Route::kReadyz: return "health";
    case Route::kToken: return "token";
  }
  return "other";
}

Result<Route> ParseRoute(std::string_view path) {
  if (path == "/token") return Route{Route::kToken, "", "", ""};
  if (path == "/metrics") return Route{Route::kMetrics, "", "", ""};
  if (path == "/healthz") return Route{Route::kHealthz, "", "", ""};
  if (path == "/readyz") return Route{Route::kReadyz, "", "", ""};
  if (path == "/v2" || path.starts_with("/v2/")) return ParseV2(path);
  if (path.starts_with("/arca/v1/")) return ParseArca(path);
  return NotFound(path);
}

std::optional<Action> RequiredAction(const Route& route, std::string_view method) {
  if (method == "HEAD") method = "GET";
  for (const MethodAction& m : kTable) {
    if (m.kind == route.kind && method == m.method) return m.action;
  }
  return std::nullopt;
}

std::string Allow(const Route& route) {
  std::string out;
  for (const MethodAction& m : kTable) {
    if (m.kind != route.kind) continue;
    if (!out.empty()) out += ", ";
    out += m.method;
    if (std::string_view(m.method) == "GET") out += ", HEAD";
  }
  return out;
}

}  // namespace arca::api
