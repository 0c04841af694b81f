// Accounts, groups, personal access tokens and grants under /arca/v1 (admins only; the route
// table says so): the same operations as the `arca user|robot|group|grant|token` commands.
#include <nlohmann/json.hpp>

#include "api/api.h"
#include "api/errors.h"
#include "api/json_response.h"
#include "api/read_body.h"
#include "auth/account_admin.h"
#include "auth/auth.h"
#include "types/json_limits.h"

namespace arca::api {
namespace {

using json = nlohmann::json;
constexpr size_t kMaxAdminBody = 16 * 1024;

Result<json> ReadObject(http::Request& req) {
  auto body = ReadBounded(*req.body, kMaxAdminBody, "request");
  if (!body.ok()) return body.status();
  auto doc = ParseJsonBounded(body->empty() ? "{}" : *body, 4);
  if (!doc.ok() || !doc->is_object()) {
    return Status(ErrorCode::kQueryInvalid, "invalid request body", "a JSON object");
  }
  return std::move(*doc);
}

std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

int64_t Int(const json& j, const char* key, int64_t fallback) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_integer() ? it->get<int64_t>() : fallback;
}

json AccountJson(const auth::Account& a) {
  json j = {{"name", a.name}, {"kind", auth::KindName(a.kind)}, {"disabled", a.disabled},
            {"createdAt", Rfc3339(a.created_at)}, {"description", a.description}};
  if (a.expires_at) j["expiresAt"] = Rfc3339(a.expires_at);
  return j;
}

json TokenJson(const auth::PersonalToken& t) {
  return {{"id", t.id}, {"account", t.account}, {"description", t.description},
          {"createdAt", Rfc3339(t.created_at)}, {"expiresAt", Rfc3339(t.expires_at)}};
}

json GrantJson(const auth::Grant& g) {
  return {{"id", g.id}, {"subject", g.subject}, {"repositories", g.repositories},
          {"permission", auth::PermissionName(g.permission)}, {"createdAt", Rfc3339(g.created_at)}};
}

}  // namespace

Status Api::Accounts(const Route& route, http::Request& req, http::Response& res) {
  if (!accounts_ || !auth_) return Status(ErrorCode::kNotFound, "authentication is off", "");
  auth::AccountAdmin admin(*accounts_);
  int64_t now = time(nullptr);
  const std::string& m = req.method;
  auto done = [&](Status s, int status) {
    if (s.ok()) {
      auth_->Invalidate();
      res.status = status;
    }
    return s;
  };
  auto snap = accounts_->Load();
  if (!snap.ok()) return snap.status();
  const auth::Account* account = nullptr;
  for (const auto& a : snap->accounts) {
    if (a.name == route.arg) account = &a;
  }
  bool needs_account = route.kind == Route::kAccount || route.kind == Route::kAccountSecret ||
                       route.kind == Route::kAccountTokens || route.kind == Route::kAccountToken;
  if (needs_account && !account) return Status(ErrorCode::kNameUnknown, "no such account", route.arg);

  switch (route.kind) {
    case Route::kAccounts: {
      if (m == "GET" || m == "HEAD") {
        json list = json::array();
        for (const auto& a : snap->accounts) list.push_back(AccountJson(a));
        SetJson(res, {{"accounts", list}});
        return Status::Ok();
      }
      auto body = ReadObject(req);
      if (!body.ok()) return body.status();
      std::string name = Str(*body, "name"), kind = Str(*body, "kind");
      json out = {{"name", name}, {"kind", kind.empty() ? "user" : kind}};
      if (kind == "robot") {
        // Relative, as for personal tokens: `expiresIn` seconds from now (absent: never).
        int64_t in = Int(*body, "expiresIn", 0);
        if (in < 0 || in > 100 * 366 * 86400LL) {
          return Status(ErrorCode::kQueryInvalid, "invalid expiresIn", "seconds from now, at most 100 years");
        }
        auto secret = admin.AddRobot(name, now, in ? now + in : 0, Str(*body, "description"));
        if (!secret.ok()) return secret.status();
        out["secret"] = *secret;  // shown this once
      } else if (kind.empty() || kind == "user") {
        ARCA_RETURN_IF_ERROR(admin.AddUser(name, Str(*body, "password"), now, Str(*body, "description")));
      } else {
        return Status(ErrorCode::kQueryInvalid, "invalid kind", "user or robot");
      }
      auth_->Invalidate();
      res.status = 201;
      res.Set("Location", "/arca/v1/accounts/" + name);
      SetJson(res, out);
      return Status::Ok();
    }
    case Route::kAccount: {
      if (m == "DELETE") return done(admin.RemoveAccount(route.arg), 202);
      if (m == "PATCH") {
        auto body = ReadObject(req);
        if (!body.ok()) return body.status();
        auto it = body->find("disabled");
        if (it == body->end() || !it->is_boolean()) {
          return Status(ErrorCode::kQueryInvalid, "nothing to change", "send {\"disabled\": true|false}");
        }
        return done(admin.SetDisabled(route.arg, it->get<bool>()), 204);
      }
      json j = AccountJson(*account);
      json groups = json::array();
      for (const auto& g : snap->memberships) {
        if (g.member == account->name) groups.push_back(g.group);
      }
      j["groups"] = groups;
      SetJson(res, j);
      return Status::Ok();
    }
    case Route::kAccountSecret: {
      if (m == "PUT") {
        auto body = ReadObject(req);
        if (!body.ok()) return body.status();
        return done(admin.SetPassword(route.arg, Str(*body, "password")), 204);
      }
      auto secret = admin.ResetRobotSecret(route.arg);
      if (!secret.ok()) return secret.status();
      auth_->Invalidate();
      SetJson(res, {{"name", route.arg}, {"secret", *secret}});
      return Status::Ok();
    }
    case Route::kAccountTokens: {
      if (m == "GET" || m == "HEAD") {
        json list = json::array();
        for (const auto& t : snap->tokens) {
          if (t.account == route.arg) list.push_back(TokenJson(t));
        }
        SetJson(res, {{"tokens", list}});
        return Status::Ok();
      }
      auto body = ReadObject(req);
      if (!body.ok()) return body.status();
      auto t = admin.AddToken(route.arg, Str(*body, "description"),
                              Int(*body, "expiresIn", auth::kDefaultTokenLifetime), now);
      if (!t.ok()) return t.status();
      auth_->Invalidate();
      json j = TokenJson(t->token);
      j["token"] = t->secret;  // shown this once
      res.status = 201;
      SetJson(res, j);
      return Status::Ok();
    }
    case Route::kAccountToken: return done(accounts_->RemoveToken(route.arg, route.arg2), 202);
    case Route::kGroups: {
      std::map<std::string, json> groups;
      for (const auto& g : snap->memberships) {
        auto [it, fresh] = groups.try_emplace(g.group, json::array());
        it->second.push_back(g.member);
      }
      json list = json::array();
      for (auto& [name, members] : groups) list.push_back({{"name", name}, {"members", members}});
      SetJson(res, {{"groups", list}});
      return Status::Ok();
    }
    case Route::kGroupMember:
      if (m == "DELETE") return done(admin.RemoveMember(route.arg, route.arg2), 202);
      return done(admin.AddMember(route.arg, route.arg2), 204);
    default: break;
  }
  return Status(ErrorCode::kNotFound, "no such endpoint", req.path.substr(0, 256));
}

Status Api::Grants(const Route& route, http::Request& req, http::Response& res) {
  if (!accounts_ || !auth_) return Status(ErrorCode::kNotFound, "authentication is off", "");
  if (route.kind == Route::kGrant) {
    char* end = nullptr;
    long long id = std::strtoll(route.arg.c_str(), &end, 10);
    if (*end || id <= 0) return Status(ErrorCode::kNameUnknown, "no such grant", route.arg);
    Status s = auth::AccountAdmin(*accounts_).RemoveGrant(id);
    if (s.ok()) {
      auth_->Invalidate();
      res.status = 202;
    }
    return s;
  }
  if (req.method == "GET" || req.method == "HEAD") {
    auto snap = accounts_->Load();
    if (!snap.ok()) return snap.status();
    json list = json::array();
    for (const auto& g : snap->grants) list.push_back(GrantJson(g));
    SetJson(res, {{"grants", list}});
    return Status::Ok();
  }
  auto body = ReadObject(req);
  if (!body.ok()) return body.status();
  auth::AccountAdmin admin(*accounts_);
  int64_t now = time(nullptr);
  auto id = admin.AddGrant(Str(*body, "subject"), Str(*body, "repositories"),
                           Str(*body, "permission"), now);
  if (!id.ok()) return id.status();
  auth_->Invalidate();
  res.status = 201;
  SetJson(res, {{"id", *id}, {"subject", Str(*body, "subject")},
                {"repositories", Str(*body, "repositories")},
                {"permission", Str(*body, "permission")}});
  return Status::Ok();
}

}  // namespace arca::api
