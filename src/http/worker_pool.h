// The threads that run request handlers: everything that may block (SQLite, fsync, hashing,
// reading a request body) runs here, never on an I/O thread.
//
// The pool is elastic. A handler blocked on a slow client holds its thread, so a fixed pool
// would let a few slow uploads lock out every other request; instead a task that finds no
// idle thread gets a new one, up to `max_threads`. Threads idle for `idle_exit` beyond the
// `keep` warm ones end. Stop() runs what is queued, then joins every thread.
// Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <list>
#include <memory>
#include <mutex>
#include <thread>

namespace arca::http {

// A move-only unit of work (std::function needs copyable callables; completion handlers
// are not).
class Task {
 public:
  virtual ~Task() = default;
  virtual void Run() = 0;
};

template <class F>
std::unique_ptr<Task> MakeTask(F&& f) {
  struct Impl : Task {
    explicit Impl(F&& fn) : fn_(std::forward<F>(fn)) {}
    void Run() override { fn_(); }
    std::decay_t<F> fn_;
  };
  return std::make_unique<Impl>(std::forward<F>(f));
}

class WorkerPool {
 public:
  // Submit starts threads up to `spawn_limit` (0: max_threads); beyond it only Rescue does.
  WorkerPool(size_t keep, size_t max_threads,
             std::chrono::milliseconds idle_exit = std::chrono::seconds(30),
             size_t spawn_limit = 0);
  ~WorkerPool();  // Stop()

  // Queues a task. Gives the task back when the pool cannot run it: stopping, or no thread
  // at all could be started (a pids limit); the caller then runs it itself.
  std::unique_ptr<Task> Submit(std::unique_ptr<Task> task);
  // Starts one more thread (up to max_threads) when the oldest queued task has waited longer
  // than `max_wait`: a few threads blocked on the disk must not stall the rest. Call it
  // periodically. Returns whether it started one.
  bool Rescue(std::chrono::milliseconds max_wait);
  // Finishes every queued task, then joins all threads. Idempotent.
  void Stop();

  size_t threads() const;  // live threads now
  size_t busy() const;     // threads running a task now

 private:
  void WorkerLoop(std::list<std::thread>::iterator self);
  void JoinFinishedLocked();
  // Starts a thread; false when none could be started (a pids limit).
  bool StartThreadLocked();

  const size_t keep_;
  const size_t max_threads_;
  const size_t spawn_limit_;
  const std::chrono::milliseconds idle_exit_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  struct Queued {
    std::unique_ptr<Task> task;
    std::chrono::steady_clock::time_point since;
  };
  std::deque<Queued> queue_;                 // GUARDED_BY(mu_)
  std::list<std::thread> threads_;           // GUARDED_BY(mu_)
  std::list<std::thread> finished_;          // GUARDED_BY(mu_): ended, to be joined
  size_t idle_ = 0;                          // GUARDED_BY(mu_)
  size_t busy_ = 0;                          // GUARDED_BY(mu_)
  bool stopping_ = false;                    // GUARDED_BY(mu_)
};

}  // namespace arca::http
