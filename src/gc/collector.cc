#include "gc/collector.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <set>
#include <nlohmann/json.hpp>

#include "util/random_id.h"
#include "metrics/metrics.h"
#include "util/utc_time.h"

namespace arca {

namespace {

// GC in the process's metrics (docs/operations.md).
struct GcMetrics {
  metrics::Family<metrics::Counter>& passes = metrics::Default().CounterFamily(
      "arca_gc_passes_total", "Garbage-collection passes, by outcome.", {"outcome"});
  metrics::Family<metrics::Counter>& deleted = metrics::Default().CounterFamily(
      "arca_gc_deleted_total", "What garbage collection deleted, by kind.", {"kind"});
  metrics::Family<metrics::Counter>& freed = metrics::Default().CounterFamily(
      "arca_gc_freed_bytes_total", "Bytes of the blobs whose records garbage collection deleted.");
  metrics::Family<metrics::Counter>& reviews = metrics::Default().CounterFamily(
      "arca_gc_reviews_total", "Manifests and blobs garbage collection reviewed.");
  metrics::Family<metrics::Histogram>& seconds = metrics::Default().HistogramFamily(
      "arca_gc_pass_duration_seconds", "How long a garbage-collection pass took.", {},
      {0.01, 0.1, 1, 10, 60, 600, 3600});
  GcMetrics() {  // every series there from the start, at 0
    for (const char* o : {"ok", "skipped", "error"}) passes.With({o});
    for (const char* k : {"manifests", "blobs", "uploads"}) deleted.With({k});
    freed.Get();
    reviews.Get();
    seconds.Get();
  }
};

GcMetrics& Gc() {
  static GcMetrics* m = new GcMetrics();  // never destroyed: passes may end at exit
  return *m;
}

void RecordMetrics(const GcReport& r) {
  GcMetrics& m = Gc();
  m.passes.With({r.skipped ? "skipped" : r.error.empty() ? "ok" : "error"}).Add();
  m.deleted.With({"manifests"}).Add(r.manifests);
  m.deleted.With({"blobs"}).Add(r.blobs);
  m.deleted.With({"uploads"}).Add(r.uploads);
  m.freed.Get().Add(r.bytes);
  m.reviews.Get().Add(r.reviewed);
  if (!r.skipped) m.seconds.Get().Observe(r.duration_ms / 1000);
}

// The pass stops on s: its report says why and what kind of error it was.
void Fail(GcReport& r, const Status& s) {
  r.error = s.message() + ": " + s.detail();
  r.error_code = s.code() == ErrorCode::kUnavailable ? ErrorCode::kUnavailable : ErrorCode::kInternal;
}

}  // namespace

std::string GcReportJson(const GcReport& r) {
  nlohmann::json actions = nlohmann::json::array();
  for (const GcAction& a : r.actions) {
    nlohmann::json j = {{"action", a.action}, {"digest", a.digest}, {"reason", a.reason}};
    if (!a.repository.empty()) j["repository"] = a.repository;
    if (a.bytes) j["bytes"] = a.bytes;
    actions.push_back(std::move(j));
  }
  nlohmann::json j = {
      {"dryRun", r.dry_run},
      {"startedAt", Rfc3339(r.started_at)},
      {"durationMs", r.duration_ms},
      {"reviewed", r.reviewed},
      {"deleted", {{"manifests", r.manifests}, {"blobs", r.blobs}, {"bytes", r.bytes},
                   {"uploads", r.uploads}}},
      {"actions", std::move(actions)},
      {"actionsTruncated", r.actions_truncated},
  };
  if (!r.error.empty()) j["error"] = r.error;
  if (r.skipped) j["skipped"] = true;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Collector::Collector(MetaStore& meta, BlobStore& blobs, KeyedMutex& blob_locks, GcSettings settings)
    : meta_(meta), blobs_(blobs), blob_locks_(blob_locks), settings_(settings),
      holder_(NewUuid()) {
  Gc();  // its metrics listed from the start
}

Collector::~Collector() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (scheduler_.joinable()) scheduler_.join();
}

void Collector::Count(GcReport& r, const GcAction& a) {
  if (a.action == "delete-manifest" || a.action == "purge-manifest") ++r.manifests;
  if (a.action == "delete-blob") {
    ++r.blobs;
    r.bytes += a.bytes;
  }
  if (a.action == "delete-upload") ++r.uploads;
  if (r.actions.size() < kMaxReportedActions) {
    r.actions.push_back(a);
  } else {
    r.actions_truncated = true;
  }
}

GcReport Collector::Run(bool dry_run, const RequestContext& ctx) {
  std::lock_guard<std::mutex> pass(run_mu_);
  auto t0 = std::chrono::steady_clock::now();
  GcReport report;
  report.dry_run = dry_run;
  report.started_at = meta_.Clock();  // the shared clock judges every grace period
  GcOptions o;
  o.now = report.started_at;
  o.blob_grace = settings_.blob_grace;
  o.upload_ttl = settings_.upload_ttl;
  o.referrers = settings_.referrers;
  o.principal = ctx.principal;
  o.request_id = ctx.request_id;
  if (dry_run) {
    auto step = meta_.CollectDryRun(o, 100000);
    if (!step.ok()) {
      Fail(report, step.status());
    } else {
      for (const GcAction& a : step->actions) Count(report, a);
      report.reviewed = step->reviewed;
      report.actions_truncated |= step->more;
    }
  } else {
    // One replica collects at a time: the pass holds the gc lease, renewed at every step.
    auto leased = meta_.TakeLease(kLease, holder_, kLeaseTtl);
    if (!leased.ok() || !*leased) {
      if (!leased.ok()) {
        Fail(report, leased.status());
      } else {
        report.error = "another replica is collecting (it holds the gc lease); "
                       "this pass was skipped";
      }
      report.skipped = leased.ok();
      Finish(report, t0);
      return report;
    }
    for (;;) {
      if (!KeepLease(report)) break;
      auto step = meta_.CollectStep(o);
      if (!step.ok()) {
        Fail(report, step.status());
        break;
      }
      for (const GcAction& a : step->actions) Count(report, a);
      report.reviewed += step->reviewed;
      for (const GcStep::StaleUpload& u : step->uploads) {
        UploadState state;
        state.backend_id = u.backend_id;
        (void)blobs_.DeleteUpload(u.id, state);
      }
      if (!step->more) break;
    }
    // Bytes released by the batches that did commit go even if a later batch failed.
    if (RemoveReleasedBytes(report)) RemoveStrayUploads(report, o);
    (void)meta_.ReleaseLease(kLease, holder_);
  }
  Finish(report, t0);
  return report;
}

void Collector::Finish(GcReport& report, std::chrono::steady_clock::time_point t0) {
  report.duration_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  if (!report.dry_run) RecordMetrics(report);
  std::lock_guard<std::mutex> lock(mu_);
  last_ = report;
}

bool Collector::KeepLease(GcReport& r) {
  auto renewed = meta_.TakeLease(kLease, holder_, kLeaseTtl);
  if (renewed.ok() && *renewed) return true;
  r.error = "the gc lease was lost; the pass stopped";
  r.error_code = ErrorCode::kUnavailable;  // another replica collects: try again later
  return false;
}

bool Collector::RemoveReleasedBytes(GcReport& r) {
  for (;;) {
    auto pending = meta_.PendingBlobDeletions(500);
    if (!pending.ok()) {
      Fail(r, pending.status());
      return false;
    }
    if (pending->empty()) return true;
    // Each round may take a while (a delete per blob): the pass keeps the lease or stops.
    if (!KeepLease(r)) return false;
    for (const std::string& text : *pending) {
      auto digest = Digest::Parse(text);
      KeyedMutex::Lock lock(blob_locks_, text);
      auto hold = meta_.HoldKey("blob:" + text);  // against uploads on other replicas
      if (!hold.ok()) {
        Fail(r, hold.status());
        return false;
      }
      auto recorded = meta_.BlobRecorded(text);
      if (!recorded.ok()) {
        Fail(r, recorded.status());
        return false;
      }
      // Recorded again (pushed anew since its record went): the bytes are in use.
      if (!*recorded && digest.ok()) {
        Status held = MetaStore::CheckHeld(hold->get(), text);
        if (!held.ok()) {
          Fail(r, held);
          return false;
        }
        Status s = blobs_.DeleteBlob(*digest);
        if (!s.ok()) {
          Fail(r, s);
          r.error = "removing " + text + ": " + s.detail();
          return false;
        }
      }
      Status s = meta_.BlobBytesDeleted(text);
      if (!s.ok()) {
        Fail(r, s);
        return false;
      }
    }
  }
}

void Collector::RemoveStrayUploads(GcReport& r, const GcOptions& o) {
  // Data of sessions a pass ended just before a crash (the session row went first): as old as
  // the TTL and no session names it.
  auto ids = meta_.ListUploadIds();
  if (!ids.ok()) return;
  std::set<std::string> sessions(ids->begin(), ids->end());
  std::vector<BlobStore::Listed> stray;
  (void)blobs_.ListUploads([&](const BlobStore::Listed& f) {
    if (f.mtime < o.now - o.upload_ttl && (f.name.empty() || !sessions.count(f.name))) stray.push_back(f);
  });
  for (const auto& f : stray) {
    if (blobs_.RemoveListed(f).ok()) {
      Count(r, GcAction{"delete-upload", "", f.name.empty() ? f.path : f.name,
                        "upload data with no session", f.size});
    }
  }
}

void Collector::StartSchedule() {
  if (settings_.interval <= 0) return;
  scheduler_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mu_);
    while (!cv_.wait_for(lock, std::chrono::seconds(settings_.interval), [this] { return stop_; })) {
      lock.unlock();
      GcReport r = Run(false);
      if (!r.error.empty() && !r.skipped) std::fprintf(stderr, "arca: gc: %s\n", r.error.c_str());
      lock.lock();
    }
  });
}

std::optional<GcReport> Collector::Last() {
  std::lock_guard<std::mutex> lock(mu_);
  return last_;
}

}  // namespace arca
