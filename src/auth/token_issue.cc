// The token endpoint's answers: the access asked for, cut down to the grants, signed.
#include <algorithm>
#include <cstdint>

#include "auth/auth_internal.h"
#include "types/names.h"

namespace arca::auth {

using json = nlohmann::json;

Result<IssuedToken> Auth::Issue(const Principal& p, const std::vector<Access>& asked,
                                bool with_refresh) {
  if (p.kind == Principal::kExternal || p.kind == Principal::kAdminToken || p.scoped) {
    return Status(ErrorCode::kDenied, "this credential cannot obtain tokens",
                  "log in with a username and password, a robot secret or a personal token");
  }
  int64_t now = clock_();
  auto index = Current();
  IssuedToken out;
  for (const Access& a : asked) {
    Access granted{a.type, a.name, {}};
    auto grant = [&](const char* action) {
      if (std::find(granted.actions.begin(), granted.actions.end(), action) == granted.actions.end()) {
        granted.actions.push_back(action);
      }
    };
    if (a.type == "repository" && ValidateRepositoryName(a.name).ok()) {
      for (const std::string& act : a.actions) {
        for (Permission perm : {Permission::kPull, Permission::kPush, Permission::kDelete}) {
          if ((act == PermissionName(perm) || act == "*") &&
              Granted(*index, p, a.name, static_cast<unsigned>(perm))) {
            grant(PermissionName(perm));
          }
        }
      }
    } else if (a.type == "registry" && a.name == "catalog") {
      // The catalog is filtered by pull permission, so anyone may ask for it.
      if (std::find(a.actions.begin(), a.actions.end(), "*") != a.actions.end()) grant("*");
    } else if (a.type == "registry" && a.name == "arca") {
      if (std::find(a.actions.begin(), a.actions.end(), "admin") != a.actions.end() &&
          Granted(*index, p, "**", static_cast<unsigned>(Permission::kAdmin))) {
        grant("admin");
      }
    }
    if (granted.actions.empty()) continue;
    // One entry per resource: asking for the same thing many times gives one answer.
    auto same = std::find_if(out.access.begin(), out.access.end(), [&](const Access& x) {
      return x.type == granted.type && x.name == granted.name;
    });
    if (same == out.access.end()) {
      out.access.push_back(std::move(granted));
    } else {
      for (const std::string& act : granted.actions) {
        if (std::find(same->actions.begin(), same->actions.end(), act) == same->actions.end()) {
          same->actions.push_back(act);
        }
      }
    }
  }
  // A token got with a personal access token lives no longer than it.
  int64_t limit = INT64_MAX;
  if (!p.via_token.empty()) {
    auto pat = index->tokens.find(p.via_token);
    if (pat == index->tokens.end()) return Status(ErrorCode::kUnauthorized, "token revoked", "");
    limit = pat->second.expires_at;
  }
  json access = json::array();
  for (const Access& a : out.access) {
    access.push_back({{"type", a.type}, {"name", a.name}, {"actions", a.actions}});
  }
  json claims = {{"iss", options_.issuer}, {"sub", p.kind == Principal::kAccount ? p.name : ""},
                 {"aud", options_.service},  {"exp", std::min(now + options_.token_ttl, limit)},
                 {"nbf", now - 5},           {"iat", now},
                 {"jti", RandomSecret(16)},  {"access", access}};
  if (p.kind == Principal::kAccount) {
    claims["sv"] = p.secret_version;
    claims["kind"] = p.robot ? "robot" : "user";
    if (!p.via_token.empty()) claims["pat"] = p.via_token;
  }
  (void)keys_.Refresh(now);
  auto signer = keys_.Signer();
  if (!signer) return Status(ErrorCode::kInternal, "no signing key", "");
  out.token = signer->Sign(claims);
  if (out.token.empty()) return Status(ErrorCode::kInternal, "cannot sign the token", "");
  if (out.token.size() > kMaxTokenSize) {
    return Status(ErrorCode::kQueryInvalid, "too much access asked for at once",
                  "the token would exceed " + std::to_string(kMaxTokenSize) + " bytes");
  }
  out.expires_in = std::min(now + options_.token_ttl, limit) - now;
  out.issued_at = now;
  if (with_refresh && p.kind == Principal::kAccount) {
    json r = {{"iss", options_.issuer}, {"sub", p.name}, {"aud", options_.service + "#refresh"},
              {"exp", std::min(now + options_.refresh_ttl, limit)}, {"iat", now},
              {"jti", RandomSecret(16)},
              {"sv", p.secret_version}};
    if (!p.via_token.empty()) r["pat"] = p.via_token;
    out.refresh_token = signer->Sign(r);
    if (out.refresh_token.empty()) return Status(ErrorCode::kInternal, "cannot sign the token", "");
  }
  return out;
}

std::vector<Access> ParseScopes(const std::vector<std::string>& params) {
  std::vector<Access> out;
  for (const std::string& param : params) {
    size_t start = 0;
    while (start < param.size() && out.size() < 64) {
      size_t end = param.find(' ', start);
      std::string_view s = std::string_view(param).substr(
          start, end == std::string::npos ? std::string::npos : end - start);
      start = end == std::string::npos ? param.size() : end + 1;
      // type:name:actions, where the name may hold a port-like colon (Docker's grammar
      // allows "registry.example:5000/x" in some clients): type is before the first colon,
      // actions after the last.
      size_t first = s.find(':'), last = s.rfind(':');
      if (first == std::string_view::npos || first == last) continue;
      Access a;
      a.type = std::string(s.substr(0, first));
      if (size_t paren = a.type.find('('); paren != std::string::npos) a.type.resize(paren);
      a.name = std::string(s.substr(first + 1, last - first - 1));
      std::string_view acts = s.substr(last + 1);
      size_t p = 0;
      while (p <= acts.size()) {
        size_t comma = acts.find(',', p);
        std::string_view act = acts.substr(p, comma == std::string_view::npos ? acts.npos : comma - p);
        if (!act.empty()) a.actions.emplace_back(act);
        if (comma == std::string_view::npos) break;
        p = comma + 1;
      }
      if (a.name.empty() || a.actions.empty()) continue;
      out.push_back(std::move(a));
    }
  }
  return out;
}

}  // namespace arca::auth
