// The one place that decides who a caller is and what it may do (docs/auth.md): credentials
// (Basic passwords, robot secrets, personal access tokens, Arca's own bearer tokens, trusted
// external issuers' tokens, the admin token), grants on repository patterns, and the token
// endpoint's answers. No HTTP here: the api module hands in header values and renders results.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "auth/account_store.h"
#include "auth/jwt.h"
#include "auth/model.h"
#include "auth/principal.h"
#include "util/status.h"

namespace arca::auth {

struct ExternalIssuer {
  std::string issuer;
  std::string audience;
  std::vector<std::shared_ptr<const PublicKey>> keys;
};

struct AuthOptions {
  std::string service = "arca";  // the token's audience and the challenge's service
  std::string issuer = "arca";   // the token's iss
  int64_t token_ttl = 300;       // seconds a bearer token lives
  int64_t refresh_ttl = 30 * 86400;
  std::string admin_token;       // when set, "Bearer <it>" is a registry-wide admin
  std::vector<ExternalIssuer> external;
  // Failed logins allowed per account and per address within the window before 429.
  int max_failures_per_account = 10;
  int max_failures_per_address = 30;
  int64_t failure_window = 300;
  // How often, at most, the account store is asked whether anything changed (its Version):
  // changes made elsewhere (another process, another replica) are seen that much later.
  // Changes made through this process are seen at once (Invalidate).
  int64_t account_check_us = 2000;
  // Called for each failed login (not for refusals because of the limit), with whether this
  // failure reached the limit: the audit stream records them. Never given the secret.
  std::function<void(const std::string& user, const std::string& remote, bool limit_reached)>
      on_login_failure;
};

// A parsed scope: "repository:team/app:pull,push", "registry:catalog:*".
struct Scope {
  Access access;
  bool operator==(const Scope&) const = default;
};
// Scopes as /token receives them (one or more parameters, each possibly several scopes
// separated by spaces). Malformed ones are skipped, as Distribution does.
std::vector<Access> ParseScopes(const std::vector<std::string>& params);

struct IssuedToken {
  std::string token;
  int64_t expires_in = 0;
  int64_t issued_at = 0;
  std::string refresh_token;  // set when asked for
  std::vector<Access> access;
};

class Auth {
 public:
  using Clock = std::function<int64_t()>;  // Unix seconds
  Auth(AccountStore& store, KeyRing& keys, AuthOptions options, Clock clock);
  ~Auth();

  // Who sent a request, from its Authorization header value ("" when it has none: the
  // anonymous principal). Bad or expired credentials are UNAUTHORIZED; too many failures
  // from that account or address are TOOMANYREQUESTS with retry_after set (seconds).
  Result<Principal> Authenticate(std::string_view authorization, std::string_view remote,
                                 int64_t* retry_after = nullptr);
  // Basic credentials as /token's GET and POST (grant_type=password) receive them.
  Result<Principal> Login(std::string_view user, std::string_view secret, std::string_view remote,
                          int64_t* retry_after = nullptr);
  // A refresh token from an earlier answer (grant_type=refresh_token): its account, if the
  // account still exists, is enabled and has not changed its secret since.
  Result<Principal> Refresh(std::string_view refresh_token);

  // Whether p may act so on the repository. Tokens need the action in their access as well.
  bool Allowed(const Principal& p, std::string_view repository, Permission perm);
  // Whether listings (catalog, repositories, events) show the repository to p: its grants
  // allow pull, whatever the token's scope (external tokens: their access). An empty
  // repository (registry-wide events) is shown to registry-wide admins only.
  bool Visible(const Principal& p, std::string_view repository);
  // The same over one snapshot of the grants, for a listing that asks for many repositories.
  std::function<bool(std::string_view)> VisibilityOf(const Principal& p);
  // Registry-wide admin: admin on "**", or the admin token (and, for a bearer token,
  // "registry:arca:admin" in its access).
  bool IsAdmin(const Principal& p);
  // For a bearer token: whether it carries registry:catalog:* (other credentials: true).
  bool MayListCatalog(const Principal& p) const;

  // The token endpoint: the asked-for access cut down to what p may do.
  Result<IssuedToken> Issue(const Principal& p, const std::vector<Access>& asked,
                            bool with_refresh);

  const AuthOptions& options() const { return options_; }
  // Replaces the trusted external issuers (a changed trusted_issuers file or JWKS): tokens
  // are checked against the new ones from the next request on, and verified tokens of
  // external issuers are forgotten, so a key taken out of a JWKS stops working at once.
  void SetExternalIssuers(std::vector<ExternalIssuer> issuers);
  // Account changes through the API take effect for the next request (the store's Version
  // does it for changes by other processes).
  void Invalidate();

 private:
  struct Index;
  struct Caches;
  struct Failures;
  using FailureMap = std::unordered_map<std::string, Failures>;
  int64_t Blocked(FailureMap& m, const std::string& key, int max, int64_t now);
  void Count(FailureMap& m, const std::string& key, int64_t now);
  static void Uncount(FailureMap& m, const std::string& key);
  static bool PatValid(const Index& index, const std::string& id, const std::string& account,
                       int64_t now);
  std::shared_ptr<const Index> Current();
  Result<Principal> Bearer(std::string_view token);
  Result<Principal> Basic(std::string_view value, std::string_view remote, int64_t* retry_after);
  Result<Principal> CheckSecret(const Index& index, std::string_view user, std::string_view secret);
  bool Granted(const Index& index, const Principal& p, std::string_view repository, unsigned need);

  AccountStore& store_;
  KeyRing& keys_;
  AuthOptions options_;
  Clock clock_;
  std::unique_ptr<Caches> caches_;
};

}  // namespace arca::auth
