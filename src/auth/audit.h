// The audit stream (docs/auth.md "Audit"): who changed what, and every failed login. Entries
// are queued by requests and written in batches by one thread, so auditing never waits on the
// disk in a request; the store keeps them bounded by age and count.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "util/status.h"

namespace arca::auth {

struct AuditEntry {
  int64_t id = 0;      // set by the store, increasing
  int64_t time = 0;    // Unix seconds
  std::string principal;   // Principal::Display(), or "anonymous"
  std::string action;      // "manifest.put", "tag.delete", "grant.add", "login", ...
  std::string repository;  // "" for registry-wide actions
  std::string target;      // digest, tag, account, grant id ... ("" when none)
  int status = 0;          // the HTTP status answered
  std::string remote;
  std::string request_id;
  std::string detail;      // e.g. the digest a tag now names; never a secret
};

struct AuditQuery {
  int64_t before_id = 0;  // newest first: entries with id < before_id (0: from the newest)
  size_t limit = 100;
  std::string principal;  // filters, exact; "" for any
  std::string repository;
  std::string action;
};

class AuditStore {
 public:
  virtual ~AuditStore() = default;
  virtual Status Append(const std::vector<AuditEntry>& entries) = 0;
  // Newest first; `more` when older entries remain.
  virtual Result<std::pair<std::vector<AuditEntry>, bool>> List(const AuditQuery& q) = 0;
  // Drops entries older than `before` and the oldest beyond `max_entries`; how many.
  virtual Result<int64_t> Prune(int64_t before, int64_t max_entries) = 0;
};

struct AuditOptions {
  int64_t retention = 90 * 86400;    // seconds an entry is kept
  int64_t max_entries = 10'000'000;  // entries kept at most
  size_t max_queue = 100'000;        // entries waiting to be written; beyond, dropped and counted
  int flush_ms = 200;
};

// Queues entries and writes them on its own thread; prunes every `prune_every` writes and at
// start. Stop() (or the destructor) writes what is queued.
class AuditRecorder {
 public:
  using Clock = std::function<int64_t()>;
  AuditRecorder(AuditStore& store, AuditOptions options, Clock clock);
  ~AuditRecorder();
  void Record(AuditEntry entry);
  // Waits until everything recorded so far is written (tests, shutdown).
  void Flush();
  void Stop();
  int64_t dropped() const;

 private:
  void Run();
  AuditStore& store_;
  AuditOptions options_;
  Clock clock_;
  mutable std::mutex mu_;
  std::condition_variable wake_, written_;
  std::deque<AuditEntry> queue_;
  uint64_t recorded_ = 0, done_ = 0;
  int64_t dropped_ = 0;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace arca::auth
