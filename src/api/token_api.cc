// The token endpoint of the Docker/OCI token protocol (docs/auth.md):
//   GET /token?service=&scope=…[&offline_token=true]  with Basic credentials, or none for an
//       anonymous token;
//   POST /token  application/x-www-form-urlencoded, grant_type=password (username,
//       password) or grant_type=refresh_token (refresh_token), as containerd and BuildKit send.
// The access granted is what was asked for, cut down to what the caller may do.
#include <algorithm>

#include <nlohmann/json.hpp>

#include "api/api.h"
#include "api/errors.h"
#include "api/json_response.h"
#include "api/read_body.h"
#include "auth/auth.h"

namespace arca::api {
namespace {

using json = nlohmann::json;
constexpr size_t kMaxFormBody = 16 * 1024;

// application/x-www-form-urlencoded: '+' is a space, then percent-decoding.
std::vector<std::pair<std::string, std::string>> ParseForm(std::string_view body) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t start = 0;
  while (start <= body.size() && out.size() < 64) {
    size_t amp = body.find('&', start);
    std::string part(body.substr(start, amp == std::string_view::npos ? body.npos : amp - start));
    start = amp == std::string_view::npos ? body.size() + 1 : amp + 1;
    for (char& c : part) {
      if (c == '+') c = ' ';
    }
    size_t eq = part.find('=');
    auto key = http::PercentDecode(part.substr(0, eq));
    auto value = http::PercentDecode(eq == std::string::npos ? "" : part.substr(eq + 1));
    if (key && value && !key->empty()) out.emplace_back(std::move(*key), std::move(*value));
  }
  return out;
}

std::string FormValue(const std::vector<std::pair<std::string, std::string>>& form,
                      std::string_view key) {
  for (const auto& [k, v] : form) {
    if (k == key) return v;
  }
  return "";
}

}  // namespace

Status Api::Token(http::Request& req, http::Response& res) {
  if (!auth_) return Status(ErrorCode::kNotFound, "no such endpoint", "authentication is off");
  res.Set("Cache-Control", "no-store");
  int64_t retry_after = 0;
  Result<auth::Principal> who = auth::Principal{};
  std::vector<std::string> scopes;
  bool refresh = false;
  bool post = req.method == "POST";
  if (post) {
    auto body = ReadBounded(*req.body, kMaxFormBody, "token request");
    if (!body.ok()) return body.status();
    auto form = ParseForm(*body);
    std::string grant = FormValue(form, "grant_type");
    if (grant == "password") {
      who = auth_->Login(FormValue(form, "username"), FormValue(form, "password"), req.remote,
                         &retry_after);
    } else if (grant == "refresh_token") {
      who = auth_->Refresh(FormValue(form, "refresh_token"));
    } else {
      return Status(ErrorCode::kQueryInvalid, "unsupported grant_type",
                    "grant_type is password or refresh_token");
    }
    for (const auto& [k, v] : form) {
      if (k == "scope") scopes.push_back(v);
    }
    refresh = true;
  } else {
    std::string_view header = req.HeaderValue("Authorization");
    if (!header.empty() && !header.starts_with("Basic ")) {
      return Status(ErrorCode::kUnauthorized, "the token endpoint takes Basic credentials", "");
    }
    who = auth_->Authenticate(header, req.remote, &retry_after);
    scopes = req.QueryAll("scope");
    // Go's url.Values (docker, containerd) writes the space between scopes as '+'; no
    // repository name or action has a '+'.
    for (std::string& scope : scopes) std::replace(scope.begin(), scope.end(), '+', ' ');
    refresh = req.Query("offline_token").value_or("") == "true";
  }
  if (!who.ok()) {
    if (retry_after > 0) res.Set("Retry-After", std::to_string(retry_after));
    if (who.status().code() == ErrorCode::kUnauthorized) {
      res.Set("WWW-Authenticate", "Basic realm=\"" + auth_->options().service + "\"");
    }
    return who.status();
  }
  auto issued = auth_->Issue(*who, auth::ParseScopes(scopes), refresh);
  if (!issued.ok()) return issued.status();
  json body = {{"token", issued->token},
               {"access_token", issued->token},
               {"expires_in", issued->expires_in},
               {"issued_at", Rfc3339(issued->issued_at)}};
  if (!issued->refresh_token.empty()) body["refresh_token"] = issued->refresh_token;
  SetJson(res, body);
  return Status::Ok();
}

}  // namespace arca::api
