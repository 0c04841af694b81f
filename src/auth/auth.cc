#include "auth/auth.h"

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
constexpr size_t kMaxCacheEntries = 10000;
constexpr int64_t kBasicCacheSeconds = 60;
constexpr size_t kMaxBearerBytes = 16 << 20;  // of tokens held by the verified-token cache
constexpr const char* kTokenPrefix = "arca_pat_";

// The decision-ready form of an AccountSnapshot.
struct IndexData {
  std::unordered_map<std::string, Account> accounts;
  std::unordered_map<std::string, PersonalToken> tokens;
  std::unordered_map<std::string, std::vector<Grant>> grants;  // by subject
  std::unordered_map<std::string, std::vector<std::string>> groups;  // by member
  // SecretVersion of each account, worked out once per snapshot rather than per request.
  std::unordered_map<std::string, std::string> versions;
  const std::string& VersionOf(const Account& a) const { return versions.at(a.name); }
};

std::optional<std::string> Base64Decode(std::string_view in) {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  unsigned buf = 0;
  int bits = 0;
  size_t pad = 0;
  for (char c : in) {
    if (c == '=') {
      ++pad;
      continue;
    }
    if (pad) return std::nullopt;  // data after padding
    size_t v = kAlphabet.find(c);
    if (v == std::string_view::npos) return std::nullopt;
    buf = (buf << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buf >> bits) & 0xff));
    }
  }
  if (pad > 2 || (in.size() % 4) != 0) return std::nullopt;
  return out;
}

Status Unauthorized(const std::string& message) {
  return Status(ErrorCode::kUnauthorized, message, "");
}

// A short digest of an account's secret hash: tokens carry it, so that a new secret ends them.
std::string SecretVersion(const Account& a) { return SecretDigest(a.secret_hash).substr(0, 16); }

bool Active(const Account& a, int64_t now) {
  return !a.disabled && (a.expires_at == 0 || now < a.expires_at);
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

bool HasAction(const std::vector<Access>& access, std::string_view type, std::string_view name,
               std::string_view action) {
  for (const Access& a : access) {
    if (a.type != type || a.name != name) continue;
    for (const std::string& act : a.actions) {
      if (act == action || act == "*") return true;
    }
  }
  return false;
}

// The address failed logins count against: an IPv6 address by its /64, which one host
// usually holds whole; IPv4 (and IPv4-mapped) addresses as they are.
std::string AddressKey(std::string_view remote) {
  std::string r(remote.substr(0, 64));
  in6_addr a;
  if (r.find(':') == std::string::npos || r.starts_with("::ffff:") ||
      inet_pton(AF_INET6, r.c_str(), &a) != 1) {
    return r;
  }
  std::memset(a.s6_addr + 8, 0, 8);
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(AF_INET6, &a, buf, sizeof buf);
  return std::string(buf) + "/64";
}

// Unix seconds from a numeric claim already checked by ValidateClaims; huge values clamp.
int64_t Seconds(const json& v) {
  double d = v.get<double>();
  if (!(d < 4e18)) return int64_t{4'000'000'000'000'000'000};
  return d > 0 ? static_cast<int64_t>(d) : 0;
}

}  // namespace


struct Auth::Index : IndexData {};

struct Auth::Failures {
  int count = 0;
  int64_t since = 0;
};

bool Auth::PatValid(const Index& index, const std::string& id, const std::string& account,
                    int64_t now) {
  auto t = index.tokens.find(id);
  return t != index.tokens.end() && t->second.account == account && now < t->second.expires_at;
}


struct Auth::Caches {
  std::mutex mu;
  std::shared_ptr<const Index> index;
  int64_t version = -1;
  std::atomic<bool> stale{true};
  bool loading = false;  // one thread is reading the store (without holding mu)
  std::condition_variable loaded;
  int64_t checked_us = 0;
  int64_t load_error_logged_us = -60'000'001;
  struct BasicEntry {
    std::string secret_hash;
    int64_t until;
  };
  std::unordered_map<std::string, BasicEntry> basic;  // by SecretDigest(user \0 secret)
  struct BearerEntry {
    std::string token;  // the whole token: a hit must be this very token, byte for byte
    Principal principal;
    int64_t exp;
  };
  size_t bearer_bytes = 0;  // of the tokens held, bounded by kMaxBearerBytes
  // By signature; heterogeneous lookup, so a hit allocates nothing.
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  std::unordered_map<std::string, BearerEntry, Hash, std::equal_to<>> bearer;
  FailureMap by_account, by_address;  // by account and address; by address
};

Auth::Auth(AccountStore& store, KeyRing& keys, AuthOptions options, Clock clock)
    : store_(store), keys_(keys), options_(std::move(options)), clock_(std::move(clock)),
      caches_(std::make_unique<Caches>()) {}
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
    bool fresh_enough = caches_->index && !caches_->stale && mono - caches_->checked_us < 2000;
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

Result<Principal> Auth::Login(std::string_view user, std::string_view secret,
                              std::string_view remote, int64_t* retry_after) {
  int64_t now = clock_();
  std::string account(user.substr(0, 64));
  // Failures count per account *from one address* (so that nobody elsewhere can lock an
  // account out) and per address (so that one address cannot try many accounts).
  std::string address = AddressKey(remote);
  std::string pair = account + '\n' + address;
  {
    std::lock_guard lock(caches_->mu);
    int64_t wait = std::max(Blocked(caches_->by_account, pair, options_.max_failures_per_account, now),
                            Blocked(caches_->by_address, address, options_.max_failures_per_address, now));
    if (wait > 0) {
      if (retry_after) *retry_after = wait;
      return Status(ErrorCode::kTooManyRequests, "too many failed logins",
                    "try again in " + std::to_string(wait) + " s");
    }
    // The attempt is counted before the (slow) check, so that concurrent attempts cannot all
    // pass the limit; a success takes it back.
    Count(caches_->by_account, pair, now);
    Count(caches_->by_address, address, now);
  }
  auto index = Current();
  auto p = CheckSecret(*index, user, secret);
  bool locked = false;
  {
    std::lock_guard lock(caches_->mu);
    if (p.ok()) {
      caches_->by_account.erase(pair);
      Uncount(caches_->by_address, address);
      return p;
    }
    auto it = caches_->by_account.find(pair);
    locked = it != caches_->by_account.end() &&
             it->second.count == options_.max_failures_per_account;
    auto at = caches_->by_address.find(address);
    locked = locked || (at != caches_->by_address.end() &&
                        at->second.count == options_.max_failures_per_address);
  }
  if (options_.on_login_failure) options_.on_login_failure(account, std::string(remote), locked);
  return p;
}

int64_t Auth::Blocked(FailureMap& m, const std::string& key, int max, int64_t now) {
  auto it = m.find(key);
  if (it == m.end() || it->second.count < max) return 0;
  int64_t left = it->second.since + options_.failure_window - now;
  if (left <= 0) {
    m.erase(it);
    return 0;
  }
  return left;
}

void Auth::Count(FailureMap& m, const std::string& key, int64_t now) {
  if (m.size() >= kMaxCacheEntries && !m.contains(key)) {
    std::erase_if(m, [&](const auto& kv) { return kv.second.since + options_.failure_window <= now; });
    if (m.size() >= kMaxCacheEntries) {
      // Full of live entries (many addresses at once): the oldest window goes, so that new
      // keys are still counted rather than let through.
      auto oldest = std::min_element(m.begin(), m.end(), [](const auto& a, const auto& b) {
        return a.second.since < b.second.since;
      });
      m.erase(oldest);
    }
  }
  Failures& f = m[key];
  if (f.since + options_.failure_window <= now) f = Failures{0, now};
  ++f.count;
}

void Auth::Uncount(FailureMap& m, const std::string& key) {
  auto it = m.find(key);
  if (it != m.end() && --it->second.count <= 0) m.erase(it);
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
  {
    std::lock_guard lock(caches_->mu);
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
      auto ext = std::find_if(options_.external.begin(), options_.external.end(),
                              [&](const ExternalIssuer& e) { return e.issuer == iss; });
      if (ext == options_.external.end()) return Unauthorized("token from an unknown issuer");
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
    while (!caches_->bearer.empty() && (caches_->bearer.size() >= kMaxCacheEntries ||
                                         caches_->bearer_bytes + token.size() > kMaxBearerBytes)) {
      // Entries out one by one (no order: tokens are short-lived), not all: an attacker
      // presenting many tokens must not empty everyone else's entries at once.
      caches_->bearer_bytes -= caches_->bearer.begin()->second.token.size();
      caches_->bearer.erase(caches_->bearer.begin());
    }
    auto [slot, fresh] = caches_->bearer.try_emplace(std::string(key));
    if (!fresh) caches_->bearer_bytes -= slot->second.token.size();
    slot->second = {std::string(token), p, exp};
    caches_->bearer_bytes += token.size();
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
