// How the server tells a slow client from a slow network: every transfer (a request body, a
// response) must keep moving. A stall of `stall` with no byte at all, or less than `min_rate`
// bytes per second averaged over a window of `window` spent waiting for the peer, ends it.
// Time is counted only while the server waits on the peer, so a handler busy with fsync or
// hashing between two reads never makes an honest client look slow.
//
// Not thread-safe: one transfer is driven by one thread at a time (the connection's I/O
// thread, or the worker running its handler), and the guard travels with it.
#pragma once

#include <chrono>
#include <cstdint>

namespace arca::http {

struct TransferLimits {
  std::chrono::milliseconds stall{60'000};   // no byte at all for this long: give up
  std::chrono::milliseconds window{30'000};  // the averaging window of waiting time
  uint64_t min_rate = 1024;                  // bytes per second over a window; 0: no floor
};

class TransferGuard {
 public:
  using Clock = std::chrono::steady_clock;

  explicit TransferGuard(TransferLimits limits = {}) : limits_(limits) {}

  // Starts a new transfer: counters reset.
  void Start() {
    waited_window_ = waited_stall_ = std::chrono::milliseconds(0);
    bytes_window_ = 0;
    failed_ = nullptr;
  }
  // The peer moved `n` bytes.
  void Bytes(uint64_t n) {
    if (n == 0) return;
    bytes_window_ += n;
    waited_stall_ = std::chrono::milliseconds(0);
  }
  // The server spent `d` waiting on the peer. Returns false once the transfer is too slow.
  bool Waited(std::chrono::milliseconds d) {
    if (failed_) return false;
    waited_window_ += d;
    waited_stall_ += d;
    if (waited_stall_ >= limits_.stall) {
      failed_ = "no data moved within the stall timeout";
      return false;
    }
    if (waited_window_ >= limits_.window) {
      auto secs = static_cast<uint64_t>(limits_.window.count()) / 1000;
      if (limits_.min_rate > 0 && bytes_window_ < limits_.min_rate * (secs ? secs : 1)) {
        failed_ = "transfer slower than the minimum rate";
        return false;
      }
      waited_window_ = std::chrono::milliseconds(0);
      bytes_window_ = 0;
    }
    return true;
  }
  // How long the next wait may last before a verdict is due (never below 1 ms).
  std::chrono::milliseconds NextWait() const {
    auto a = limits_.stall - waited_stall_, b = limits_.window - waited_window_;
    auto m = a < b ? a : b;
    return m.count() < 1 ? std::chrono::milliseconds(1) : m;
  }
  bool failed() const { return failed_ != nullptr; }
  // Why the transfer was ended, or nullptr.
  const char* why() const { return failed_; }

 private:
  TransferLimits limits_;
  std::chrono::milliseconds waited_window_{0};
  std::chrono::milliseconds waited_stall_{0};
  uint64_t bytes_window_ = 0;
  const char* failed_ = nullptr;
};

}  // namespace arca::http
