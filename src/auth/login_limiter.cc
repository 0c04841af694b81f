// Failed logins: counted per account from one address and per address, before the (slow)
// check; beyond the limits the answer is 429 with Retry-After (docs/auth.md).
#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

#include "auth/auth_internal.h"

namespace arca::auth {
namespace {

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

}  // namespace

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

}  // namespace arca::auth
