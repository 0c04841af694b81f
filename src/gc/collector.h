// Collector: runs garbage-collection passes over a MetaStore and BlobStore while the registry
// serves (docs/gc.md). The metadata decides and applies each batch in one transaction; the
// collector then removes the bytes and upload data those batches released, holding each
// blob's lock so that a concurrent upload of the same content is never undone. Thread-safe;
// one pass at a time.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "meta/meta_store.h"
#include "registry/request_context.h"
#include "storage/blob_store.h"
#include "util/keyed_mutex.h"

namespace arca {

struct GcSettings {
  int64_t interval = 600;  // seconds between scheduled passes; 0: none
  int64_t blob_grace = 3600;
  int64_t upload_ttl = 86400;
  bool referrers = true;
};

struct GcReport {
  bool dry_run = false;
  int64_t started_at = 0;  // seconds since the epoch
  double duration_ms = 0;
  size_t reviewed = 0;
  uint64_t manifests = 0, blobs = 0, bytes = 0, uploads = 0;  // deleted (or, dry, would be)
  std::vector<GcAction> actions;  // the first kMaxReportedActions
  bool actions_truncated = false;
  std::string error;  // a pass that stopped on an error says why here
  // What kind of error: kUnavailable when the metadata or blob store was out of reach (try
  // again), kInternal otherwise.
  ErrorCode error_code = ErrorCode::kInternal;
  bool skipped = false;  // another replica held the gc lease: nothing was done
};

// The JSON form served by /arca/v1/admin/gc and printed by `arca gc`.
std::string GcReportJson(const GcReport& report);

class Collector {
 public:
  static constexpr size_t kMaxReportedActions = 1000;
  // The lease a pass holds (MetaStore::TakeLease), renewed at every step: a replica that dies
  // mid-pass gives way to the others within kLeaseTtl seconds.
  static constexpr const char* kLease = "gc";
  static constexpr int64_t kLeaseTtl = 60;

  Collector(MetaStore& meta, BlobStore& blobs, KeyedMutex& blob_locks, GcSettings settings);
  ~Collector();  // stops the schedule, waiting for a running pass to finish

  // One pass; ctx names who asked for it (an admin's request), for the events it records.
  GcReport Run(bool dry_run, const RequestContext& ctx = RequestContext::Internal());
  // Runs a pass every settings.interval seconds on a background thread.
  void StartSchedule();
  std::optional<GcReport> Last();

 private:
  void Count(GcReport& r, const GcAction& a);
  void Finish(GcReport& r, std::chrono::steady_clock::time_point t0);
  // Renews the gc lease; false (and r.error set) when it was lost to another replica.
  bool KeepLease(GcReport& r);
  // Removes the bytes of blobs whose records the passes removed; false on an error.
  bool RemoveReleasedBytes(GcReport& r);
  void RemoveStrayUploads(GcReport& r, const GcOptions& o);

  MetaStore& meta_;
  BlobStore& blobs_;
  KeyedMutex& blob_locks_;
  const GcSettings settings_;
  const std::string holder_;  // this process, as a lease holder
  std::mutex run_mu_;  // one pass at a time
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;                // GUARDED_BY(mu_)
  std::optional<GcReport> last_;     // GUARDED_BY(mu_)
  std::thread scheduler_;
};

}  // namespace arca
