// The Arca API under /arca/v1/: discovery of artifacts by type, the event log, and the
// routing and admin check shared with the type management endpoints (types_api.cc).
#include <netinet/in.h>
#include <openssl/crypto.h>

#include <ctime>
#include <nlohmann/json.hpp>

#include "api/api.h"
#include "api/client_address.h"
#include "api/errors.h"
#include "api/json_response.h"
#include "registry/type_catalog.h"
#include "types/json_limits.h"
#include "types/media_types.h"
#include "types/names.h"

namespace arca::api {
namespace {

using json = nlohmann::json;
constexpr size_t kArcaMaxPage = 1000;
constexpr size_t kMaxScan = 100000;  // rows a filtered listing passes over in one request

// Facts Arca stored itself, from documents already bounded at push; bounded again so that no
// row, however it got there, is walked deep.
json ParseOr(const std::string& text, json fallback) {
  if (text.empty()) return fallback;
  auto j = ParseJsonBounded(text);
  return j.ok() ? std::move(*j) : fallback;
}

void NextLink(http::Response& res, const std::string& path, size_t n, const std::string& last,
              const std::string& type) {
  std::string link = "<" + path + "?n=" + std::to_string(n) + "&last=" + http::PercentEncode(last);
  if (!type.empty()) link += "&artifactType=" + http::PercentEncode(type);
  res.Set("Link", link + ">; rel=\"next\"");
}

}  // namespace

Status Api::AuthorizeAdmin(const http::Request& req, http::Response& res) const {
  if (options_.admin_token.empty()) {
    if (!IsLoopback(req.remote)) {
      return Status(ErrorCode::kDenied, "administrative requests are accepted only from loopback",
                    "set admin_token to allow them from elsewhere with a bearer token");
    }
    // Until the auth issue replaces admin-by-address: a proxy on this host makes every client
    // look local.
    if (std::string_view h = ProxyHeader(req); !h.empty()) {
      return Status(ErrorCode::kDenied,
                    "administrative requests through a proxy need admin_token",
                    "the request carries " + std::string(h) +
                        ", so it came through a proxy and its loopback address does not show "
                        "who sent it; set admin_token and send Authorization: Bearer "
                        "<admin_token>");
    }
    return Status::Ok();
  }
  std::string_view auth = req.HeaderValue("Authorization");
  if (!auth.starts_with("Bearer ")) {
    res.Set("WWW-Authenticate", "Bearer realm=\"arca-admin\"");
    return Status(ErrorCode::kUnauthorized, "authentication required", "send Authorization: Bearer <admin_token>");
  }
  std::string_view token = auth.substr(7);
  bool match = token.size() == options_.admin_token.size() &&
               CRYPTO_memcmp(token.data(), options_.admin_token.data(), token.size()) == 0;
  if (!match) return Status(ErrorCode::kDenied, "invalid admin token", "");
  return Status::Ok();
}

Status Api::TypedRepositories(const Caller& caller, http::Request& req, http::Response& res) {
  auto n = PageSize(req, kArcaMaxPage);
  if (!n.ok()) return n.status();
  std::string type = req.Query("artifactType").value_or("");
  json repos = json::array();
  auto visible = Visibility(caller);
  // Only repositories the caller may pull are listed: pages are read until one is full, or
  // kMaxScan rows were passed over (then the page is short, and its Link goes on from there).
  std::string last = req.Query("last").value_or("");
  bool more = true;
  for (size_t scanned = 0;
       more && repos.size() < *n && scanned < kMaxScan && !caller.context.Expired();) {
    auto page = registry_.ListTypedRepositories(type, last, *n - repos.size());
    if (!page.ok()) return page.status();
    more = page->more;
    for (const RepositorySummary& r : page->items) {
      if (visible(r.name)) {
        repos.push_back({{"name", r.name}, {"artifacts", r.artifacts}, {"types", r.types}});
      }
    }
    scanned += page->items.size();
    if (page->items.empty()) break;
    last = page->items.back().name;
  }
  if (more && *n > 0) NextLink(res, "/arca/v1/repositories", *n, last, type);
  SetJson(res, {{"repositories", repos}});
  return Status::Ok();
}

Status Api::Artifacts(const std::string& repo, http::Request& req, http::Response& res) {
  auto n = PageSize(req, kArcaMaxPage);
  if (!n.ok()) return n.status();
  std::string type = req.Query("artifactType").value_or("");
  auto page = registry_.ListArtifacts(repo, type, req.Query("last").value_or(""), *n);
  if (!page.ok()) return page.status();
  json list = json::array();
  for (const ArtifactSummary& a : page->items) {
    const ManifestRecord& m = a.manifest;
    auto def = types_ ? types_->Find(m.type) : nullptr;
    json item = {{"digest", m.digest},
                 {"mediaType", m.media_type},
                 {"artifactType", m.type},
                 {"title", def ? def->title : "Unknown"},
                 {"size", a.total_size},
                 {"pushedAt", Rfc3339(m.pushed_at)},
                 {"tags", a.tags},
                 {"referrers", a.referrers}};
    json platforms = ParseOr(m.platforms_json, json::array());
    if (media::IsIndex(m.media_type)) {
      item["platforms"] = platforms;
    } else if (platforms.is_array() && platforms.size() == 1) {
      item["platform"] = platforms[0];
    }
    if (!m.subject.empty()) item["subject"] = m.subject;
    if (!m.created.empty()) item["created"] = m.created;
    item["fields"] = ParseOr(m.fields_json, json::object());
    list.push_back(std::move(item));
  }
  if (page->more && !page->items.empty()) {
    NextLink(res, "/arca/v1/repositories/" + repo + "/artifacts", *n,
             page->items.back().manifest.digest, type);
  }
  SetJson(res, {{"artifacts", list}});
  return Status::Ok();
}

Status Api::Events(const Caller& caller, http::Request& req, http::Response& res) {
  auto n = PageSize(req, kArcaMaxPage);
  if (!n.ok()) return n.status();
  int64_t after = 0;
  if (auto last = req.Query("last")) after = std::atoll(last->c_str());
  json list = json::array();
  auto visible = Visibility(caller);
  bool more = true;
  // As for repositories: only events of repositories the caller may pull.
  for (size_t scanned = 0;
       more && list.size() < *n && scanned < kMaxScan && !caller.context.Expired();) {
    auto page = registry_.ListEvents(after, *n - list.size());
    if (!page.ok()) return page.status();
    more = page->more;
    for (const Event& e : page->items) {
      if (!visible(e.repository)) continue;
      list.push_back({{"id", e.id}, {"time", Rfc3339(e.time)}, {"kind", e.kind},
                      {"repository", e.repository}, {"digest", e.digest}, {"message", e.message},
                      {"principal", e.principal}, {"requestId", e.request_id}});
    }
    scanned += page->items.size();
    if (page->items.empty()) break;
    after = page->items.back().id;
  }
  if (more && *n > 0) NextLink(res, "/arca/v1/events", *n, std::to_string(after), "");
  SetJson(res, {{"events", list}});
  return Status::Ok();
}

}  // namespace arca::api
