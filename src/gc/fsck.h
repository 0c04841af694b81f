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
};

struct FsckProblem {
  std::string kind;    // missing-blob, digest-mismatch, orphan-file, orphan-upload, ...
  std::string object;  // a digest, path or repository@digest
  std::string detail;
  bool repaired = false;
};

struct FsckResult {
  std::vector<FsckProblem> problems;
  uint64_t blobs_checked = 0, manifests_checked = 0;
  size_t remaining() const;  // problems not repaired
};

Result<FsckResult> RunFsck(MetaStore& meta, BlobStore& blobs, const FsckOptions& options);

}  // namespace arca
