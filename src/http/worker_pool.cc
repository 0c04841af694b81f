#include "http/worker_pool.h"

#include <cstdio>
#include <exception>
#include <system_error>

namespace arca::http {

WorkerPool::WorkerPool(size_t keep, size_t max_threads, std::chrono::milliseconds idle_exit,
                       size_t spawn_limit)
    : keep_(keep),
      max_threads_(max_threads < 1 ? 1 : max_threads),
      spawn_limit_(spawn_limit == 0 || spawn_limit > max_threads_ ? max_threads_ : spawn_limit),
      idle_exit_(idle_exit) {}

WorkerPool::~WorkerPool() { Stop(); }

std::unique_ptr<Task> WorkerPool::Submit(std::unique_ptr<Task> task) {
  std::unique_lock<std::mutex> lock(mu_);
  if (stopping_) return task;
  queue_.push_back({std::move(task), std::chrono::steady_clock::now()});
  // Up to the spawn limit, every queued task gets a thread of its own: a handler may wait on
  // its client for long.
  if (idle_ < queue_.size() && threads_.size() < spawn_limit_) {
    // No thread to be had (RLIMIT_NPROC, a cgroup's pids.max): a running one will take the
    // task in turn; with none running, the caller must.
    if (!StartThreadLocked() && threads_.empty()) {
      auto back = std::move(queue_.back().task);
      queue_.pop_back();
      return back;
    }
    return nullptr;
  }
  lock.unlock();
  cv_.notify_one();
  return nullptr;
}

void WorkerPool::WorkerLoop(std::list<std::thread>::iterator self) {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    if (queue_.empty()) {
      if (stopping_) break;
      ++idle_;
      bool woke = cv_.wait_for(lock, idle_exit_, [this] { return !queue_.empty() || stopping_; });
      --idle_;
      if (!woke && threads_.size() > keep_) break;
      continue;
    }
    auto task = std::move(queue_.front().task);
    queue_.pop_front();
    ++busy_;
    lock.unlock();
    try {
      task->Run();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "arca: a request task failed: %s\n", e.what());
    }
    task.reset();
    lock.lock();
    --busy_;
  }
  // Hand our own std::thread to the finished list; whoever next holds the lock joins it.
  finished_.splice(finished_.end(), threads_, self);
  cv_.notify_all();
}

bool WorkerPool::StartThreadLocked() {
  JoinFinishedLocked();
  threads_.emplace_back();
  auto it = std::prev(threads_.end());
  try {
    *it = std::thread([this, it] { WorkerLoop(it); });
    return true;
  } catch (const std::system_error&) {
    threads_.erase(it);
    return false;
  }
}

bool WorkerPool::Rescue(std::chrono::milliseconds max_wait) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_ || queue_.empty() || threads_.size() >= max_threads_) return false;
  if (std::chrono::steady_clock::now() - queue_.front().since < max_wait) return false;
  return StartThreadLocked();
}

void WorkerPool::JoinFinishedLocked() {
  // A finished thread has nothing left to do but return from WorkerLoop: joining is quick.
  for (auto& t : finished_) {
    if (t.get_id() != std::this_thread::get_id() && t.joinable()) t.join();
  }
  finished_.remove_if([](const std::thread& t) { return !t.joinable(); });
}

void WorkerPool::Stop() {
  std::unique_lock<std::mutex> lock(mu_);
  stopping_ = true;
  cv_.notify_all();
  cv_.wait(lock, [this] { return threads_.empty(); });
  std::list<std::thread> done;
  done.swap(finished_);
  lock.unlock();
  for (auto& t : done) {
    if (t.joinable()) t.join();
  }
}

size_t WorkerPool::threads() const {
  std::lock_guard<std::mutex> lock(mu_);
  return threads_.size();
}

size_t WorkerPool::busy() const {
  std::lock_guard<std::mutex> lock(mu_);
  return busy_;
}

}  // namespace arca::http
