// One JSON line per request on stdout: time, request id, remote, method, path, status,
// bytes sent, duration.
//
// Lines are queued and written by a thread of their own, so a slow reader of stdout (a
// journal or a pipe under back-pressure) never blocks an event loop. The queue is bounded:
// beyond it lines are dropped and counted, and the count is reported in the next line written.
// Thread-safe.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

#include "http/message.h"

namespace arca::http {

class AccessLog {
 public:
  explicit AccessLog(size_t max_queued = 65536);
  ~AccessLog();  // writes what is queued, then joins

  void Log(const Request& req, int status, uint64_t bytes, int64_t micros);

 private:
  void WriterLoop();

  const size_t max_queued_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> lines_;  // GUARDED_BY(mu_)
  uint64_t dropped_ = 0;           // GUARDED_BY(mu_)
  bool stopping_ = false;          // GUARDED_BY(mu_)
  std::thread writer_;
};

}  // namespace arca::http
