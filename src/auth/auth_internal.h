// Inside auth/ only: the shared state of Auth (its snapshot of the accounts and its caches)
// and the small helpers its parts use (auth.cc: credentials and decisions; login_limiter.cc:
// failed logins; token_issue.cc: the token endpoint's answers).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "auth/auth.h"
#include "auth/password.h"

namespace arca::auth {

constexpr size_t kMaxCacheEntries = 10000;
constexpr int64_t kBasicCacheSeconds = 60;
constexpr size_t kMaxBearerBytes = 16 << 20;  // of tokens held by the verified-token cache

// The decision-ready form of an AccountSnapshot.
struct Auth::Index {
  std::unordered_map<std::string, Account> accounts;
  std::unordered_map<std::string, PersonalToken> tokens;
  std::unordered_map<std::string, std::vector<Grant>> grants;  // by subject
  std::unordered_map<std::string, std::vector<std::string>> groups;  // by member
  // SecretVersion of each account, worked out once per snapshot rather than per request.
  std::unordered_map<std::string, std::string> versions;
  const std::string& VersionOf(const Account& a) const { return versions.at(a.name); }
};

inline Status Unauthorized(const std::string& message) {
  return Status(ErrorCode::kUnauthorized, message, "");
}

// A short digest of an account's secret hash: tokens carry it, so that a new secret ends them.
inline std::string SecretVersion(const Account& a) {
  return SecretDigest(a.secret_hash).substr(0, 16);
}

inline bool Active(const Account& a, int64_t now) {
  return !a.disabled && (a.expires_at == 0 || now < a.expires_at);
}

inline bool HasAction(const std::vector<Access>& access, std::string_view type,
                      std::string_view name, std::string_view action) {
  for (const Access& a : access) {
    if (a.type != type || a.name != name) continue;
    for (const std::string& act : a.actions) {
      if (act == action || act == "*") return true;
    }
  }
  return false;
}

struct Auth::Failures {
  int count = 0;
  int64_t since = 0;
};

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
  // The trusted external issuers (SetExternalIssuers replaces them) and how many times they
  // were replaced: a token verified against an older set is not cached.
  std::shared_ptr<const std::vector<ExternalIssuer>> external;
  uint64_t external_generation = 0;
  size_t bearer_bytes = 0;  // of the tokens held, bounded by kMaxBearerBytes
  // By signature; heterogeneous lookup, so a hit allocates nothing.
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  std::unordered_map<std::string, BearerEntry, Hash, std::equal_to<>> bearer;
  FailureMap by_account, by_address;  // by account and address; by address
};

}  // namespace arca::auth
