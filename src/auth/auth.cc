#include "auth/auth.h"

#include "auth/auth_internal.h"

#include <algorithm>
#include <arpa/inet.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <unordered_map>

#include "auth/password.h"
#include "auth/pattern.h"
#include "types/json_limits.h"
#include "types/names.h"

namespace arca::auth {
namespace {

using json = nlohmann::json;
constexpr const char* kTokenPrefix = "arca_pat_";

// Standard base64 (Basic credentials), through jwt.h's strict base64url decoder.
std::optional<std::string> Base64Decode(std::string_view in) {
  if (in.size() % 4 != 0) return std::nullopt;
  std::string url(in.substr(0, in.find_last_not_of('=') + 1));
  if (in.size() - url.size() > 2) return std::nullopt;
  for (char& c : url) {
    if (c == '+') c = '-';
    else if (c == '/') c = '_';
    else if (c == '-' || c == '_') return std::nullopt;  // not in the standard alphabet
  }
  return Base64UrlDecode(url);
}

std::vector<Access> AccessFromClaim(const json& claims) {
  std::vector<Access> out;
  auto it = claims.find("access");
  if (it == claims.end() || !it->is_array()) return out;
  for (const json& e : *it) {
    if (!e.is_object()) continue;
    Access a;
    if (e.contains("type") && e["type"].is_string()) a.type = e["type"];
    if (e.contains("name") && e["name"].is_string()) a.name = e["name"];
    if (e.contains("actions") && e["actions"].is_array()) {
      for (const json& act : e["actions"]) {
        if (act.is_string()) a.actions.push_back(act);
      }
    }
    out.push_back(std::move(a));
  }
  return out;
}

// Unix seconds from a numeric claim already checked by ValidateClaims; huge values clamp.
int64_t Seconds(const json& v) {
  double d = v.get<double>();
  if (!(d < 4e18)) return int64_t{4'000'000'000'000'000'000};
  return d > 0 ? static_cast<int64_t>(d) : 0;
}

}  // namespace

bool Auth::PatValid(const Index& index, const std::string& id, const std::string& account,
                    int64_t now) {
  auto t = index.tokens.find(id);
  return t != index.tokens.end() && t->second.account == account && now < t->second.expires_at;
}


Auth::Auth(AccountStore& store, KeyRing& keys, AuthOptions options, Clock clock)
    : store_(store), keys_(keys), options_(std::move(options)), clock_(std::move(clock)),
      caches_(std::make_unique<Caches>()) {
  caches_->external = std::make_shared<const std::vector<ExternalIssuer>>(options_.external);
}

void Auth::SetExternalIssuers(std::vector<ExternalIssuer> issuers) {
  auto next = std::make_shared<const std::vector<ExternalIssuer>>(std::move(issuers));
  std::lock_guard lock(caches_->mu);
  caches_->external = std::move(next);
  ++caches_->external_generation;
  std::erase_if(caches_->bearer, [this](const auto& entry) {
    if (entry.second.principal.kind != Principal::kExternal) return false;
    caches_->bearer_bytes -= entry.second.token.size();
    return true;
  });
}
Auth::~Auth() = default;

void Auth::Invalidate() { caches_->stale = true; }

std::shared_ptr<const Auth::Index> Auth::Current() {
  std::unique_lock lock(caches_->mu);
  // Changes by other processes (the `arca` commands) are looked for at most every 2 ms:
  // one request asks several times, and a listing once per item. One thread looks at a time,
  // without the lock (the store may wait on SQLite's busy timeout while a command writes);
  // the others go on with the snapshot they have, unless it is known to be stale.
  while (true) {
    int64_t mono = std::chrono::duration_cast<std::chrono::microseconds>(
                       std::chrono::steady_clock::now().time_since_epoch()).count();
    bool fresh_enough = caches_->index && !caches_->stale &&
                        mono - caches_->checked_us < options_.account_check_us;
    if (fresh_enough || (caches_->loading && caches_->index && !caches_->stale)) {
      return caches_->index;
    }
    if (caches_->loading) {
      caches_->loaded.wait(lock, [&] { return !caches_->loading; });
      continue;
    }
    caches_->loading = true;
    caches_->checked_us = mono;
    bool stale = caches_->stale.exchange(false);
    int64_t known = caches_->version;
    bool have = caches_->index != nullptr;
    lock.unlock();
    auto version = store_.Version();
    std::shared_ptr<Index> loaded;
    Status failed;
    if (stale || !have || !version.ok() || *version != known) {
      auto snap = store_.Load();
      if (snap.ok()) {
        loaded = std::make_shared<Index>();
        for (Account& a : snap->accounts) {
          loaded->versions.emplace(a.name, SecretVersion(a));
          loaded->accounts.emplace(a.name, std::move(a));
        }
        for (PersonalToken& t : snap->tokens) loaded->tokens.emplace(t.id, std::move(t));
        for (Grant& g : snap->grants) loaded->grants[g.subject].push_back(std::move(g));
        for (Membership& m : snap->memberships) loaded->groups[m.member].push_back(m.group);
      } else {
        failed = snap.status();
      }
    }
    lock.lock();
    caches_->loading = false;
    caches_->loaded.notify_all();
    if (loaded) {
      caches_->index = std::move(loaded);
      caches_->version = version.ok() ? *version : -1;
    } else if (!failed.ok()) {
      // Keep deciding on what was loaded last rather than failing every request (a store
      // that cannot be read yet has nothing to grant), but say so: changes are not seen.
      if (mono - caches_->load_error_logged_us > 60'000'000) {
        std::fprintf(stderr, "arca: auth: cannot read the accounts, deciding on those read "
                             "before: %s: %s\n",
                     failed.message().c_str(), failed.detail().c_str());
        caches_->load_error_logged_us = mono;
      }
      if (stale) caches_->stale = true;  // the change asked for is still to be seen
      if (!caches_->index) caches_->index = std::make_shared<Index>();
      return caches_->index;
    }
    return caches_->index;
  }
}

// Authorization schemes are case-insensitive (RFC 9110 11.1).
static bool HasScheme(std::string_view header, std::string_view scheme) {
  if (header.size() <= scheme.size() || header[scheme.size()] != ' ') return false;
  for (size_t i = 0; i < scheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(header[i])) !=
        std::tolower(static_cast<unsigned char>(scheme[i]))) {
      return false;
    }
  }
  return true;
}

Result<Principal> Auth::Authenticate(std::string_view authorization, std::string_view remote,
                                     int64_t* retry_after) {
  if (authorization.empty()) return Principal{};
  if (authorization.size() > kMaxTokenSize + 16) {
    return Unauthorized("authorization header too large");
  }
  if (HasScheme(authorization, "Basic")) {
    return Basic(authorization.substr(6), remote, retry_after);
  }
  if (HasScheme(authorization, "Bearer")) {
    std::string_view token = authorization.substr(7);
    if (!options_.admin_token.empty() && ConstantTimeEquals(token, options_.admin_token)) {
      Principal p;
      p.kind = Principal::kAdminToken;
      return p;
    }
    return Bearer(token);
  }
  return Unauthorized("unsupported authorization scheme");
}

Result<Principal> Auth::Basic(std::string_view value, std::string_view remote,
                              int64_t* retry_after) {
  auto decoded = Base64Decode(value);
  size_t colon = decoded ? decoded->find(':') : std::string::npos;
  if (colon == std::string::npos) return Unauthorized("malformed basic credentials");
  return Login(std::string_view(*decoded).substr(0, colon),
               std::string_view(*decoded).substr(colon + 1), remote, retry_after);
}

Result<Principal> Auth::CheckSecret(const Index& index, std::string_view user,
                                    std::string_view secret) {
  int64_t now = clock_();
  Status bad = Unauthorized("invalid username or password");
  auto it = index.accounts.find(std::string(user));
  if (it == index.accounts.end() || !Active(it->second, now)) {
    // As long as a real password check, so that timing does not tell which accounts exist.
    static const std::string dummy = HashPassword("arca: no such account").value();
    (void)VerifyPassword(secret.substr(0, kMaxPasswordSize), dummy);
    return bad;
  }
  const Account& a = it->second;
  Principal p;
  p.kind = Principal::kAccount;
  p.name = a.name;
  p.robot = a.kind == Account::kRobot;
  p.secret_version = index.VersionOf(a);
  if (secret.starts_with(kTokenPrefix)) {
    // arca_pat_<id>_<secret>: the id names the token, the secret proves it.
    std::string_view rest = secret.substr(std::string_view(kTokenPrefix).size());
    size_t sep = rest.find('_');
    if (sep == std::string_view::npos) return bad;
    auto t = index.tokens.find(std::string(rest.substr(0, sep)));
    if (!PatValid(index, std::string(rest.substr(0, sep)), a.name, now) ||
        !ConstantTimeEquals(SecretDigest(rest.substr(sep + 1)), t->second.secret_digest)) {
      return bad;
    }
    p.via_token = t->first;
    return p;
  }
  if (a.kind == Account::kRobot) {
    return ConstantTimeEquals(SecretDigest(secret), a.secret_hash) ? Result<Principal>(p) : bad;
  }
  // A password hash costs tens of milliseconds by design; scripts that send Basic credentials
  // on every request would pay it each time, so a success is remembered briefly, keyed by a
  // digest of the credentials and valid only while the stored hash is unchanged.
  std::string key = SecretDigest(std::string(user) + '\0' + std::string(secret));
  {
    std::lock_guard lock(caches_->mu);
    auto c = caches_->basic.find(key);
    if (c != caches_->basic.end() && c->second.until > now &&
        c->second.secret_hash == a.secret_hash) {
      return p;
    }
  }
  if (secret.size() > kMaxPasswordSize || !VerifyPassword(secret, a.secret_hash)) return bad;
  std::lock_guard lock(caches_->mu);
  if (caches_->basic.size() >= kMaxCacheEntries) caches_->basic.clear();
  caches_->basic[key] = {a.secret_hash, now + kBasicCacheSeconds};
  return p;
}

Result<Principal> Auth::Bearer(std::string_view token) {
  int64_t now = clock_();
  if (token.size() > kMaxTokenSize) return Unauthorized("token too large");
  // Verified tokens are cached by their signature (cheap to hash), and a hit is compared
  // with the whole token, so that a known signature under another header (alg: none...) or
  // payload goes through verification like any unknown token.
  std::string_view key = token.substr(std::min(token.rfind('.') + 1, token.size()));
  if (key.empty() || key.size() > 1024) return Unauthorized("malformed token");
  std::optional<Principal> cached;
  std::shared_ptr<const std::vector<ExternalIssuer>> external;
  uint64_t external_generation;
  {
    std::lock_guard lock(caches_->mu);
    external = caches_->external;
    external_generation = caches_->external_generation;
    auto it = caches_->bearer.find(key);
    if (it != caches_->bearer.end()) {
      if (now >= it->second.exp) {
        caches_->bearer_bytes -= it->second.token.size();
        caches_->bearer.erase(it);
      } else if (it->second.token == token) {
        cached = it->second.principal;
      }
      // else: another header or payload under a known signature: verified (and refused) below
    }
  }
  Principal p;
  if (cached) {
    p = std::move(*cached);
  } else {
    // The issuer picks the keys; the signature is then checked with those keys only.
    size_t dot1 = token.find('.'), dot2 = token.rfind('.');
    if (dot1 == std::string_view::npos || dot1 == dot2) return Unauthorized("malformed token");
    auto payload = Base64UrlDecode(token.substr(dot1 + 1, dot2 - dot1 - 1));
    auto unverified = payload ? ParseJsonBounded(*payload, 8) : Result<json>(Unauthorized(""));
    if (!unverified.ok() || !unverified->is_object() || !unverified->contains("iss") ||
        !(*unverified)["iss"].is_string()) {
      return Unauthorized("malformed token");
    }
    std::string iss = (*unverified)["iss"];
    Result<json> claims = Unauthorized("");
    if (iss == options_.issuer) {
      (void)keys_.Refresh(now);
      claims = VerifyJws(token, keys_.Verifiers());
      if (claims.ok()) {
        Status v = ValidateClaims(*claims, options_.issuer, options_.service, now);
        if (!v.ok()) return Unauthorized("invalid token: " + v.message());
      }
      p.kind = Principal::kAccount;
    } else {
      auto ext = std::find_if(external->begin(), external->end(),
                              [&](const ExternalIssuer& e) { return e.issuer == iss; });
      if (ext == external->end()) return Unauthorized("token from an unknown issuer");
      claims = VerifyJws(token, ext->keys);
      if (claims.ok()) {
        Status v = ValidateClaims(*claims, ext->issuer, ext->audience, now);
        if (!v.ok()) return Unauthorized("invalid token: " + v.message());
      }
      p.kind = Principal::kExternal;
      p.issuer = iss;
    }
    if (!claims.ok()) return Unauthorized("invalid token signature");
    const json& c = *claims;
    auto str = [&](const char* k) {
      return c.contains(k) && c[k].is_string() ? c[k].get<std::string>() : std::string();
    };
    p.name = str("sub");
    if (p.kind == Principal::kAccount && p.name.empty()) p.kind = Principal::kAnonymous;
    p.robot = str("kind") == "robot";
    p.via_token = str("pat");
    p.secret_version = str("sv");
    p.scoped = true;
    p.access = AccessFromClaim(c);
    int64_t exp = Seconds(c["exp"]);
    std::lock_guard lock(caches_->mu);
    // Verified against issuers replaced meanwhile: good for this request, not remembered.
    bool outdated = p.kind == Principal::kExternal &&
                    external_generation != caches_->external_generation;
    while (!outdated && !caches_->bearer.empty() &&
           (caches_->bearer.size() >= kMaxCacheEntries ||
            caches_->bearer_bytes + token.size() > kMaxBearerBytes)) {
      // Entries out one by one (no order: tokens are short-lived), not all: an attacker
      // presenting many tokens must not empty everyone else's entries at once.
      caches_->bearer_bytes -= caches_->bearer.begin()->second.token.size();
      caches_->bearer.erase(caches_->bearer.begin());
    }
    if (!outdated) {
      auto [slot, fresh] = caches_->bearer.try_emplace(std::string(key));
      if (!fresh) caches_->bearer_bytes -= slot->second.token.size();
      slot->second = {std::string(token), p, exp};
      caches_->bearer_bytes += token.size();
    }
  }
  if (p.kind == Principal::kAccount) {
    // Checked at every use, not cached: revoking the account, its secret or the personal
    // token the token came from ends it at once.
    auto index = Current();
    auto a = index->accounts.find(p.name);
    if (a == index->accounts.end() || !Active(a->second, now) ||
        index->VersionOf(a->second) != p.secret_version ||
        (!p.via_token.empty() && !PatValid(*index, p.via_token, p.name, now))) {
      return Unauthorized("the token's account or credential was revoked");
    }
  }
  return p;
}

Result<Principal> Auth::Refresh(std::string_view refresh_token) {
  int64_t now = clock_();
  if (refresh_token.size() > kMaxTokenSize) return Unauthorized("token too large");
  (void)keys_.Refresh(now);
  auto claims = VerifyJws(refresh_token, keys_.Verifiers());
  if (!claims.ok()) return Unauthorized("invalid refresh token");
  Status v = ValidateClaims(*claims, options_.issuer, options_.service + "#refresh", now);
  if (!v.ok()) return Unauthorized("invalid refresh token: " + v.message());
  const json& c = *claims;
  if (!c.contains("sub") || !c["sub"].is_string()) return Unauthorized("invalid refresh token");
  auto index = Current();
  auto a = index->accounts.find(c["sub"].get<std::string>());
  std::string sv = c.contains("sv") && c["sv"].is_string() ? c["sv"].get<std::string>() : "";
  std::string pat = c.contains("pat") && c["pat"].is_string() ? c["pat"].get<std::string>() : "";
  if (a == index->accounts.end() || !Active(a->second, now) || index->VersionOf(a->second) != sv ||
      (!pat.empty() && !PatValid(*index, pat, a->first, now))) {
    return Unauthorized("the refresh token's account or credential was revoked");
  }
  Principal p;
  p.kind = Principal::kAccount;
  p.name = a->first;
  p.robot = a->second.kind == Account::kRobot;
  p.secret_version = sv;
  p.via_token = pat;
  return p;
}

bool Auth::Granted(const Index& index, const Principal& p, std::string_view repository,
                   unsigned need) {
  auto check = [&](const std::string& subject) {
    auto it = index.grants.find(subject);
    if (it == index.grants.end()) return false;
    for (const Grant& g : it->second) {
      // "**" as the repository asks for registry-wide rights: only a grant on "**" has them
      // (no repository is named "**", and "*" must not match it).
      bool matches = repository == "**" ? g.repositories == "**"
                                        : PatternMatches(g.repositories, repository);
      if ((Implied(g.permission) & need) == need && matches) {
        return true;
      }
    }
    return false;
  };
  // What anonymous callers may do, everyone may: logging in never takes access away.
  if (check("anonymous")) return true;
  if (p.kind != Principal::kAccount) return false;
  if (check((p.robot ? "robot:" : "user:") + p.name) || check("authenticated")) return true;
  auto groups = index.groups.find(p.name);
  if (groups == index.groups.end()) return false;
  for (const std::string& g : groups->second) {
    if (check("group:" + g)) return true;
  }
  return false;
}

bool Auth::Allowed(const Principal& p, std::string_view repository, Permission perm) {
  if (p.kind == Principal::kAdminToken) return true;
  if (p.scoped) {
    if (perm == Permission::kAdmin) return false;  // registry-wide only (IsAdmin)
    if (!HasAction(p.access, "repository", repository, PermissionName(perm))) return false;
    if (p.kind == Principal::kExternal) return true;  // its issuer decided
  }
  return Granted(*Current(), p, repository, static_cast<unsigned>(perm));
}

bool Auth::Visible(const Principal& p, std::string_view repository) {
  if (p.kind == Principal::kAdminToken) return true;
  if (p.kind == Principal::kExternal) {
    return repository.empty() ? HasAction(p.access, "registry", "arca", "admin")
                              : HasAction(p.access, "repository", repository, "pull");
  }
  auto index = Current();
  if (repository.empty()) return Granted(*index, p, "**", static_cast<unsigned>(Permission::kAdmin));
  return Granted(*index, p, repository, static_cast<unsigned>(Permission::kPull));
}

std::function<bool(std::string_view)> Auth::VisibilityOf(const Principal& p) {
  if (p.kind != Principal::kAccount && p.kind != Principal::kAnonymous) {
    return [this, p](std::string_view repo) { return Visible(p, repo); };
  }
  auto index = Current();
  return [this, index, p](std::string_view repo) {
    if (repo.empty()) return Granted(*index, p, "**", static_cast<unsigned>(Permission::kAdmin));
    return Granted(*index, p, repo, static_cast<unsigned>(Permission::kPull));
  };
}

bool Auth::IsAdmin(const Principal& p) {
  if (p.kind == Principal::kAdminToken) return true;
  if (p.scoped && !HasAction(p.access, "registry", "arca", "admin")) return false;
  if (p.kind == Principal::kExternal) return true;
  return Granted(*Current(), p, "**", static_cast<unsigned>(Permission::kAdmin));
}

bool Auth::MayListCatalog(const Principal& p) const {
  return !p.scoped || HasAction(p.access, "registry", "catalog", "*");
}

}  // namespace arca::auth
