// A bound on how often one kind of log line is written: a client that asks again and again
// for something damaged must not fill the operator's disk with the same complaint, while
// each different thing (a blob, say) still gets its line.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace arca {

class LogLimiter {
 public:
  // One line per key in any window of `window_s` seconds, and `burst` lines in all.
  LogLimiter(int burst, int64_t window_s) : burst_(burst), window_s_(window_s) {}

  // Whether a line about `key` may be written at `now` (seconds). When it may, *suppressed
  // is the number of lines held back since the last one written, for the line to mention.
  bool Allow(const std::string& key, int64_t now, uint64_t* suppressed) {
    std::lock_guard<std::mutex> lock(mu_);
    if (now - window_start_ >= window_s_) {
      window_start_ = now;
      used_ = 0;
      last_.clear();  // keys seen in an earlier window may be written again
    }
    if (used_ >= burst_ || last_.count(key)) {
      ++suppressed_;
      return false;
    }
    ++used_;
    last_.emplace(key, now);  // at most `burst` keys: the map stays small
    *suppressed = suppressed_;
    suppressed_ = 0;
    return true;
  }

 private:
  const int burst_;
  const int64_t window_s_;
  std::mutex mu_;
  int64_t window_start_ = INT64_MIN / 2;             // GUARDED_BY(mu_)
  int used_ = 0;                                     // GUARDED_BY(mu_)
  uint64_t suppressed_ = 0;                          // GUARDED_BY(mu_)
  std::unordered_map<std::string, int64_t> last_;    // GUARDED_BY(mu_)
};

}  // namespace arca
