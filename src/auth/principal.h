// Who a request comes from, once its credentials are checked, and what a bearer token let it do.
#pragma once

#include <string>
#include <vector>

namespace arca::auth {

// One entry of a token's "access" claim (the Docker/OCI token protocol's form).
struct Access {
  std::string type;  // "repository" or "registry"
  std::string name;  // a repository name, "catalog" or "arca"
  std::vector<std::string> actions;  // "pull", "push", "delete", "admin" or "*"
  bool operator==(const Access&) const = default;
};

struct Principal {
  enum Kind {
    kAnonymous,   // no credentials
    kAccount,     // a user or robot of Arca's (by password, secret, personal token or its token)
    kExternal,    // a token of a trusted external issuer: its access claim is what it may do
    kAdminToken,  // the admin_token setting: registry-wide admin
  };
  Kind kind = kAnonymous;
  std::string name;     // the account, or the external token's "sub"
  std::string issuer;   // for kExternal
  bool robot = false;
  // How an account proved itself, carried into the tokens it gets so that revoking the
  // personal token, or changing the secret, ends them too.
  std::string via_token;       // the personal access token's id, or ""
  std::string secret_version;  // a digest of the account's secret hash at login
  // For bearer tokens: requests on repositories need their action listed here too.
  bool scoped = false;
  std::vector<Access> access;

  // "anonymous", "user:alice", "robot:ci", "external:<iss>#<sub>", "admin-token" (audit).
  std::string Display() const {
    switch (kind) {
      case kAnonymous: return "anonymous";
      case kAccount: return (robot ? "robot:" : "user:") + name;
      case kExternal: return "external:" + issuer + "#" + name;
      case kAdminToken: return "admin-token";
    }
    return "?";
  }
};

}  // namespace arca::auth
