// Counts open connections in total and per client address, so that one address cannot take
// every slot. Thread-safe.
#pragma once

#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

namespace arca::http {

class ClientLimits {
 public:
  enum class Verdict { kAdmitted, kClientFull, kServerFull };

  // per_client 0: no per-address limit.
  ClientLimits(size_t total, size_t per_client) : total_(total), per_client_(per_client) {}

  // Takes a slot for `address`. The per-address limit is checked first, so a client at its
  // own limit is never let in over the total. `over_total` lets a connection in beyond the
  // total (the caller has just claimed an idle one to close for it).
  Verdict Acquire(const std::string& address, bool over_total = false);
  void Release(const std::string& address);

  size_t open() const;
  bool Full() const;  // the total is reached
  size_t OpenFrom(const std::string& address) const;

 private:
  const size_t total_;
  const size_t per_client_;
  mutable std::mutex mu_;
  size_t open_ = 0;                                  // GUARDED_BY(mu_)
  std::unordered_map<std::string, size_t> by_addr_;  // GUARDED_BY(mu_)
};

}  // namespace arca::http
