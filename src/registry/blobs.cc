// Registry: reading and deleting blobs.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>

#include "registry/registry.h"
#include "util/log_limiter.h"

namespace arca {
namespace {

// DAMAGE lines: one a minute per blob and 100 a minute in all, the next line written saying
// how many were held back.
LogLimiter damage_lines(100, 60);

void LogDamage(const std::string& digest, const std::string& what) {
  uint64_t held_back = 0;
  if (!damage_lines.Allow(digest, static_cast<int64_t>(std::time(nullptr)), &held_back)) return;
  std::string more =
      held_back ? " (" + std::to_string(held_back) + " more DAMAGE lines held back)" : "";
  std::fprintf(stderr, "arca: DAMAGE: blob %s %s; answering BLOB_UNKNOWN (run arca fsck)%s\n",
               digest.c_str(), what.c_str(), more.c_str());
}

Status BlobUnknown(const Digest& digest) {
  return Status(ErrorCode::kBlobUnknown, "blob unknown to registry", digest.str());
}

// The stored bytes must be what the metadata records; a stat costs about a microsecond, and
// without it a HEAD would say 200 for a blob whose GET then fails.
Status CheckStored(BlobStore& blobs, const Digest& digest, uint64_t recorded) {
  auto stored = blobs.BlobSize(digest);
  if (stored.ok() && *stored == recorded) return Status::Ok();
  if (!stored.ok() && stored.status().code() != ErrorCode::kBlobUnknown) return stored.status();
  std::string found = stored.ok() ? "has " + std::to_string(*stored) + " bytes" : "is missing";
  LogDamage(digest.str(), "is recorded with " + std::to_string(recorded) +
                             " bytes but its file " + found);
  return BlobUnknown(digest);
}

}  // namespace

Result<uint64_t> Registry::StatBlob(const std::string& repo, const Digest& digest) {
  auto link = meta_.FindBlobLink(repo, digest.str());
  if (!link.ok()) return link.status();
  if (!link->has_value()) return BlobUnknown(digest);
  ARCA_RETURN_IF_ERROR(CheckStoredSize(digest, (*link)->size));
  // A client that finds the blob may skip uploading it and reference it in a manifest next:
  // the link must outlive a GC pass in between (quay#6318, distribution#2190).
  int64_t now = meta_.Clock();  // the clock GC judges the grace period on
  if (blob_grace_ > 0 && now - (*link)->linked_at >= std::max<int64_t>(1, blob_grace_ / 10)) {
    auto held = meta_.RenewBlobLink(repo, digest.str(), now);
    if (!held.ok()) {
      // The blob is there to read; only its grace could not be extended.
      std::fprintf(stderr, "arca: renewing the GC grace of %s in %s: %s\n",
                   digest.str().c_str(), repo.c_str(), held.status().detail().c_str());
    } else if (!*held) {
      return BlobUnknown(digest);  // a GC pass took the link since it was read
    }
  }
  return (*link)->size;
}

Status Registry::CheckStoredSize(const Digest& digest, uint64_t recorded) {
  int64_t trust = blobs_.StatTrustSeconds();
  if (trust <= 0) return CheckStored(blobs_, digest, recorded);
  int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                    std::chrono::steady_clock::now().time_since_epoch()).count();
  {
    std::lock_guard<std::mutex> lock(stat_mu_);
    auto it = stat_cache_.find(digest.str());
    if (it != stat_cache_.end() && it->second.first == recorded && now - it->second.second < trust) {
      return Status::Ok();
    }
  }
  ARCA_RETURN_IF_ERROR(CheckStored(blobs_, digest, recorded));
  constexpr size_t kMaxEntries = 100000;  // about 15 MB
  std::lock_guard<std::mutex> lock(stat_mu_);
  if (stat_cache_.size() >= kMaxEntries) stat_cache_.clear();
  stat_cache_[digest.str()] = {recorded, now};
  return Status::Ok();
}

Result<std::unique_ptr<BodySource>> Registry::ReadBlob(const Digest& digest, uint64_t offset,
                                                       uint64_t length) {
  auto body = blobs_.OpenBlob(digest, offset, length);
  if (!body.ok() && body.status().code() == ErrorCode::kBlobUnknown) {
    // StatBlob found it whole a moment ago: it went or was cut short since.
    LogDamage(digest.str(), "went or was cut short: " + body.status().detail());
    return BlobUnknown(digest);
  }
  return body;
}

Status Registry::DeleteBlob(const RequestContext&, const std::string& repo, const Digest& digest) {
  auto removed = meta_.UnlinkBlob(repo, digest.str());
  if (!removed.ok()) return removed.status();
  return *removed ? Status::Ok() : BlobUnknown(digest);
}

}  // namespace arca
