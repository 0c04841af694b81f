#include "auth/audit.h"

#include <chrono>
#include <cstdio>

namespace arca::auth {

AuditRecorder::AuditRecorder(AuditStore& store, AuditOptions options, Clock clock)
    : store_(store), options_(options), clock_(std::move(clock)), thread_([this] { Run(); }) {}

AuditRecorder::~AuditRecorder() { Stop(); }

void AuditRecorder::Record(AuditEntry entry) {
  if (entry.time == 0) entry.time = clock_();
  std::lock_guard lock(mu_);
  if (queue_.size() >= options_.max_queue) {
    ++dropped_;
    ++recorded_;
    ++done_;  // nothing to wait for
    return;
  }
  queue_.push_back(std::move(entry));
  ++recorded_;
  wake_.notify_one();
}

void AuditRecorder::Flush() {
  std::unique_lock lock(mu_);
  uint64_t target = recorded_;
  wake_.notify_one();
  written_.wait(lock, [&] { return done_ >= target || stop_; });
}

void AuditRecorder::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stop_ && !thread_.joinable()) return;
    stop_ = true;
    wake_.notify_one();
  }
  if (thread_.joinable()) thread_.join();
}

int64_t AuditRecorder::dropped() const {
  std::lock_guard lock(mu_);
  return dropped_;
}

void AuditRecorder::Run() {
  uint64_t since_prune = 0;
  bool pruned_once = false;
  int64_t last_prune = 0;
  int64_t reported_drops = 0;
  while (true) {
    std::vector<AuditEntry> batch;
    bool stopping;
    {
      std::unique_lock lock(mu_);
      wake_.wait_for(lock, std::chrono::milliseconds(options_.flush_ms),
                     [&] { return stop_ || !queue_.empty(); });
      stopping = stop_;
      while (!queue_.empty() && batch.size() < 5000) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      if (dropped_ > reported_drops) {
        std::fprintf(stderr, "arca: audit: %lld entries dropped (queue full)\n",
                     static_cast<long long>(dropped_ - reported_drops));
        reported_drops = dropped_;
      }
    }
    if (!batch.empty()) {
      Status s = store_.Append(batch);
      if (!s.ok()) {
        std::fprintf(stderr, "arca: audit: %zu entries not written: %s: %s\n", batch.size(),
                     s.message().c_str(), s.detail().c_str());
      }
      since_prune += batch.size();
    }
    if (!pruned_once || since_prune >= 10000 || clock_() - last_prune >= 3600) {
      auto pruned = store_.Prune(clock_() - options_.retention, options_.max_entries);
      if (!pruned.ok()) {
        std::fprintf(stderr, "arca: audit: pruning failed: %s\n", pruned.status().detail().c_str());
      }
      pruned_once = true;
      since_prune = 0;
      last_prune = clock_();
    }
    {
      std::lock_guard lock(mu_);
      done_ += batch.size();
      written_.notify_all();
      if (stopping && queue_.empty()) return;
    }
  }
}

}  // namespace arca::auth
