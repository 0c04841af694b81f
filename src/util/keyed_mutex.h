// One mutex per key, created on demand and dropped when nobody holds or waits for it:
// serializes work on one upload session without making unrelated sessions wait.
#pragma once

#include <map>
#include <mutex>
#include <string>

namespace arca {

class KeyedMutex {
  struct Entry {
    std::mutex mu;
    int users = 0;  // holders and waiters; GUARDED_BY(KeyedMutex::mu_)
  };

 public:
  // Holds the key's mutex for its lifetime.
  class Lock {
   public:
    Lock(KeyedMutex& owner, const std::string& key);
    ~Lock();
    Lock(const Lock&) = delete;
    Lock& operator=(const Lock&) = delete;

   private:
    KeyedMutex& owner_;
    std::map<std::string, Entry>::iterator it_;
  };

  // Keys currently held or waited for (for tests).
  size_t size();

 private:
  std::mutex mu_;
  std::map<std::string, Entry> entries_;  // GUARDED_BY(mu_); map iterators stay valid
};

}  // namespace arca
