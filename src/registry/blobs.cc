// Registry: reading and deleting blobs.
#include "registry/registry.h"

namespace arca {

static Status BlobUnknown(const Digest& digest) {
  return Status(ErrorCode::kBlobUnknown, "blob unknown to registry", digest.str());
}

Result<uint64_t> Registry::StatBlob(const std::string& repo, const Digest& digest) {
  auto size = meta_.BlobInRepository(repo, digest.str());
  if (!size.ok()) return size.status();
  if (!size->has_value()) return BlobUnknown(digest);
  return **size;
}

Result<std::unique_ptr<BodySource>> Registry::ReadBlob(const std::string& repo,
                                                       const Digest& digest, uint64_t offset,
                                                       uint64_t length) {
  auto size = StatBlob(repo, digest);
  if (!size.ok()) return size.status();
  return blobs_.OpenBlob(digest, offset, length);
}

Status Registry::DeleteBlob(const std::string& repo, const Digest& digest) {
  auto removed = meta_.UnlinkBlob(repo, digest.str());
  if (!removed.ok()) return removed.status();
  return *removed ? Status::Ok() : BlobUnknown(digest);
}

}  // namespace arca
