#include "http/client_limits.h"

namespace arca::http {

ClientLimits::Verdict ClientLimits::Acquire(const std::string& address, bool over_total) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_addr_.find(address);
  if (per_client_ > 0 && it != by_addr_.end() && it->second >= per_client_) {
    return Verdict::kClientFull;
  }
  if (open_ >= total_ && !over_total) return Verdict::kServerFull;
  size_t& mine = it != by_addr_.end() ? it->second : by_addr_[address];
  ++mine;
  ++open_;
  return Verdict::kAdmitted;
}

void ClientLimits::Release(const std::string& address) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_addr_.find(address);
  if (it == by_addr_.end()) return;
  if (--it->second == 0) by_addr_.erase(it);
  --open_;
}

size_t ClientLimits::open() const {
  std::lock_guard<std::mutex> lock(mu_);
  return open_;
}

bool ClientLimits::Full() const {
  std::lock_guard<std::mutex> lock(mu_);
  return open_ >= total_;
}

size_t ClientLimits::OpenFrom(const std::string& address) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_addr_.find(address);
  return it == by_addr_.end() ? 0 : it->second;
}

}  // namespace arca::http
