// Registry: upload sessions, monolithic pushes and mounts.
#include <ctime>

#include "registry/registry.h"
#include "registry/upload_stream.h"
#include "util/random_id.h"

namespace arca {

namespace {
int64_t Now() { return static_cast<int64_t>(std::time(nullptr)); }

Status UploadUnknown() {
  return Status(ErrorCode::kBlobUploadUnknown, "blob upload unknown",
                "no upload session with that id in this repository");
}
}  // namespace

Result<UploadRecord> Registry::LoadUpload(const std::string& repo, const std::string& id) {
  if (!IsUuid(id)) return UploadUnknown();
  auto rec = meta_.GetUpload(id);
  if (!rec.ok()) return rec.status();
  if (!rec->has_value() || (*rec)->repository != repo) return UploadUnknown();
  return std::move(**rec);
}

Result<UploadProgress> Registry::StartUpload(const RequestContext&, const std::string& repo) {
  UploadRecord rec;
  rec.id = NewUuid();
  rec.repository = repo;
  rec.hash_state = Hasher(DigestAlgorithm::kSha256).SaveState();
  rec.started_at = rec.updated_at = Now();
  ARCA_RETURN_IF_ERROR(blobs_.CreateUpload(rec.id));
  Status s = meta_.CreateUpload(rec);
  if (!s.ok()) {
    (void)blobs_.DeleteUpload(rec.id);
    return s;
  }
  return UploadProgress{rec.id, 0};
}

Result<UploadProgress> Registry::GetUpload(const std::string& repo, const std::string& id) {
  auto rec = LoadUpload(repo, id);
  if (!rec.ok()) return rec.status();
  return UploadProgress{id, rec->offset};
}

Status Registry::Append(UploadRecord& rec, ByteSource& body, std::optional<ByteRange> range,
                        bool persist) {
  std::optional<uint64_t> expected;
  if (range) {
    if (range->first != rec.offset) {
      return Status(ErrorCode::kRangeInvalid, "chunk out of order",
                    "the upload has " + std::to_string(rec.offset) +
                        " bytes; the next chunk must start there");
    }
    expected = range->length();
    auto len = body.Length();
    if (len && *len != *expected) {
      return Status(ErrorCode::kSizeInvalid, "Content-Range does not match Content-Length",
                    "the range covers " + std::to_string(*expected) + " bytes, the body has " +
                        std::to_string(*len));
    }
  }
  auto hasher = Hasher::Restore(DigestAlgorithm::kSha256, rec.hash_state);
  if (!hasher) {  // a state saved by another build: hash what is stored again
    auto h = HashUpload(rec.id, rec.offset, DigestAlgorithm::kSha256);
    if (!h.ok()) return h.status();
    hasher = *h;
  }
  auto writer = blobs_.AppendUpload(rec.id, rec.offset);
  if (!writer.ok()) return writer.status();
  auto n = StreamInto(body, **writer, *hasher, expected);
  if (!n.ok()) return n.status();
  if (*n == 0) return Status::Ok();
  std::string state = hasher->SaveState();
  if (!persist) {  // the caller commits the blob next, which makes the bytes durable
    rec.offset += *n;
    rec.hash_state = std::move(state);
    return Status::Ok();
  }
  ARCA_RETURN_IF_ERROR((*writer)->Sync());
  auto moved = meta_.AdvanceUpload(rec.id, rec.offset, rec.offset + *n, state, Now());
  if (!moved.ok()) return moved.status();
  if (!*moved) return UploadUnknown();
  rec.offset += *n;
  rec.hash_state = std::move(state);
  return Status::Ok();
}

Result<UploadProgress> Registry::AppendUpload(const RequestContext&, const std::string& repo,
                                              const std::string& id, ByteSource& body,
                                              std::optional<ByteRange> range) {
  KeyedMutex::Lock lock(upload_locks_, id);
  auto rec = LoadUpload(repo, id);
  if (!rec.ok()) return rec.status();
  ARCA_RETURN_IF_ERROR(Append(*rec, body, range, /*persist=*/true));
  return UploadProgress{id, rec->offset};
}

Result<Hasher> Registry::HashUpload(const std::string& id, uint64_t length,
                                         DigestAlgorithm alg) {
  auto src = blobs_.ReadUpload(id, length);
  if (!src.ok()) return src.status();
  return HashAll(**src, alg);
}

Result<uint64_t> Registry::FinishUpload(const RequestContext&, const std::string& repo,
                                        const std::string& id,
                                        const Digest& digest, ByteSource& body,
                                        std::optional<ByteRange> range) {
  KeyedMutex::Lock lock(upload_locks_, id);
  auto rec = LoadUpload(repo, id);
  if (!rec.ok()) return rec.status();
  ARCA_RETURN_IF_ERROR(Append(*rec, body, range, /*persist=*/false));
  std::string hex;
  if (digest.algorithm() == DigestAlgorithm::kSha256) {
    auto h = Hasher::Restore(DigestAlgorithm::kSha256, rec->hash_state);
    if (h) hex = h->HexDigest();
  }
  if (hex.empty()) {
    auto h = HashUpload(id, rec->offset, digest.algorithm());
    if (!h.ok()) return h.status();
    hex = h->HexDigest();
  }
  if (hex != digest.hex()) {
    return Status(ErrorCode::kDigestInvalid, "digest does not match the uploaded content",
                  "the content's digest is " + std::string(AlgorithmName(digest.algorithm())) +
                      ":" + hex);
  }
  // Under the blob's lock, so that the collector cannot remove the bytes between the file
  // taking its name and the record naming it (docs/gc.md).
  KeyedMutex::Lock blob_lock(blob_locks_, digest.str());
  ARCA_RETURN_IF_ERROR(blobs_.CommitUpload(id, rec->offset, digest));
  ARCA_RETURN_IF_ERROR(meta_.LinkBlob(repo, digest.str(), rec->offset, /*finished_upload=*/id));
  return rec->offset;
}

Status Registry::CancelUpload(const RequestContext&, const std::string& repo,
                              const std::string& id) {
  KeyedMutex::Lock lock(upload_locks_, id);
  auto rec = LoadUpload(repo, id);
  if (!rec.ok()) return rec.status();
  ARCA_RETURN_IF_ERROR(meta_.DeleteUpload(id));
  return blobs_.DeleteUpload(id);
}

Result<uint64_t> Registry::PushBlob(const RequestContext&, const std::string& repo,
                                    const Digest& digest, ByteSource& body) {
  std::string id = NewUuid();
  ARCA_RETURN_IF_ERROR(blobs_.CreateUpload(id));
  auto result = [&]() -> Result<uint64_t> {
    auto writer = blobs_.AppendUpload(id, 0);
    if (!writer.ok()) return writer.status();
    Hasher hasher(digest.algorithm());
    auto n = StreamInto(body, **writer, hasher, std::nullopt);
    if (!n.ok()) return n.status();
    if (hasher.HexDigest() != digest.hex()) {
      return Status(ErrorCode::kDigestInvalid, "digest does not match the uploaded content",
                    "the content's digest is " + std::string(AlgorithmName(digest.algorithm())) +
                        ":" + hasher.HexDigest());
    }
    KeyedMutex::Lock blob_lock(blob_locks_, digest.str());
    ARCA_RETURN_IF_ERROR(blobs_.CommitUpload(id, *n, digest));
    ARCA_RETURN_IF_ERROR(meta_.LinkBlob(repo, digest.str(), *n));
    return *n;
  }();
  if (!result.ok()) (void)blobs_.DeleteUpload(id);
  return result;
}

Result<std::optional<uint64_t>> Registry::MountBlobFromVisible(
    const RequestContext& ctx, const std::string& repo, const Digest& digest,
    const std::function<bool(const std::string&)>& may_pull, size_t max_candidates) {
  std::string after;
  // Past the deadline the client gets an upload session instead of a mount, which the spec
  // allows at any time.
  for (size_t seen = 0; seen < max_candidates && !ctx.Expired();) {
    auto page = meta_.ListBlobHolders(digest.str(), after, 100);
    if (!page.ok()) return page.status();
    for (const std::string& from : page->items) {
      if (from != repo && may_pull(from)) return meta_.MountBlob(repo, digest.str(), from);
    }
    seen += page->items.size();
    if (!page->more || page->items.empty()) break;
    after = page->items.back();
  }
  return std::optional<uint64_t>();
}

Result<std::optional<uint64_t>> Registry::MountBlob(const RequestContext&, const std::string& repo,
                                                    const Digest& digest,
                                                    const std::string& from) {
  return meta_.MountBlob(repo, digest.str(), from);
}

}  // namespace arca
