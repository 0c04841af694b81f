// Fsck: checks a store's bytes against its metadata (docs/gc.md#fsck) and, when asked,
// repairs what can be repaired safely.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "meta/meta_store.h"
#include "storage/blob_store.h"

namespace arca {

struct FsckOptions {
  bool repair = false;
  bool verify_digests = true;  // hash every blob (false: --quick)
  int64_t now = 0;
  int64_t grace = 3600;        // younger stray files may be uploads in flight: not reported
  // A repair that would delete (records or files of) more than this fraction of the store's
  // blobs is refused as a whole unless forced: that many at once is a sign of a lost
  // database or an unmounted disk rather than of damage.
  double max_delete_fraction = 0.1;
  bool force = false;
};

struct FsckProblem {
  std::string kind;    // missing-blob, digest-mismatch, orphan-file, orphan-upload, ...
  std::string object;  // a digest, path or repository@digest
  std::string detail;
  bool repaired = false;
  // Harmless leftovers of an interrupted operation (stray files and upload sessions): they
  // hold nothing that was acknowledged, so they are not damage; --repair removes them.
  bool debris = false;
};

struct FsckResult {
  std::vector<FsckProblem> problems;  // damage and debris; see FsckProblem::debris
  uint64_t blobs_checked = 0, manifests_checked = 0;
  uint64_t blobs_known = 0;     // recorded blobs and blob files no record names
  uint64_t blob_deletions = 0;  // blobs a repair deletes (or would have deleted)
  std::string repair_refused;   // why --repair changed nothing; empty when it ran
  size_t damage() const;        // problems that are not debris
  size_t debris() const;
  size_t remaining() const;     // damage not repaired: the store is not clean
};

Result<FsckResult> RunFsck(MetaStore& meta, BlobStore& blobs, const FsckOptions& options);

}  // namespace arca
