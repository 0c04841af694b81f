#include "util/keyed_mutex.h"

namespace arca {

KeyedMutex::Lock::Lock(KeyedMutex& owner, const std::string& key) : owner_(owner) {
  {
    std::lock_guard<std::mutex> g(owner_.mu_);
    it_ = owner_.entries_.try_emplace(key).first;
    ++it_->second.users;
  }
  it_->second.mu.lock();
}

KeyedMutex::Lock::~Lock() {
  it_->second.mu.unlock();
  std::lock_guard<std::mutex> g(owner_.mu_);
  if (--it_->second.users == 0) owner_.entries_.erase(it_);
}

size_t KeyedMutex::size() {
  std::lock_guard<std::mutex> g(mu_);
  return entries_.size();
}

}  // namespace arca
