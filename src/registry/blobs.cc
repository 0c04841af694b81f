// Registry: reading and deleting blobs.
#include <algorithm>
#include <cstdio>
#include <ctime>

#include "registry/registry.h"

namespace arca {
namespace {

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
  std::fprintf(stderr,
               "arca: DAMAGE: blob %s is recorded with %llu bytes but its file %s; answering "
               "BLOB_UNKNOWN (run arca fsck)\n",
               digest.str().c_str(), static_cast<unsigned long long>(recorded), found.c_str());
  return BlobUnknown(digest);
}

}  // namespace

Result<uint64_t> Registry::StatBlob(const std::string& repo, const Digest& digest) {
  auto link = meta_.FindBlobLink(repo, digest.str());
  if (!link.ok()) return link.status();
  if (!link->has_value()) return BlobUnknown(digest);
  ARCA_RETURN_IF_ERROR(CheckStored(blobs_, digest, (*link)->size));
  // A client that finds the blob may skip uploading it and reference it in a manifest next:
  // the link must outlive a GC pass in between (quay#6318, distribution#2190).
  int64_t now = static_cast<int64_t>(std::time(nullptr));
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

Result<std::unique_ptr<BodySource>> Registry::ReadBlob(const Digest& digest, uint64_t offset,
                                                       uint64_t length) {
  auto body = blobs_.OpenBlob(digest, offset, length);
  if (!body.ok() && body.status().code() == ErrorCode::kBlobUnknown) {
    // StatBlob found it whole a moment ago: it went or was cut short since.
    std::fprintf(stderr, "arca: DAMAGE: blob %s: %s; answering BLOB_UNKNOWN (run arca fsck)\n",
                 digest.str().c_str(), body.status().detail().c_str());
    return BlobUnknown(digest);
  }
  return body;
}

Status Registry::DeleteBlob(const std::string& repo, const Digest& digest) {
  auto removed = meta_.UnlinkBlob(repo, digest.str());
  if (!removed.ok()) return removed.status();
  return *removed ? Status::Ok() : BlobUnknown(digest);
}

}  // namespace arca
