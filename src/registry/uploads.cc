// Registry: upload sessions, monolithic pushes and mounts.
#include <ctime>

#include "registry/registry.h"
#include "registry/upload_stream.h"
#include "util/random_id.h"

namespace arca {

namespace {

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
  rec.started_at = rec.updated_at = meta_.Clock();  // the clock the upload TTL is judged on
  auto state = blobs_.CreateUpload(rec.id);
  if (!state.ok()) return state.status();
  rec.backend_id = state->backend_id;
  rec.parts = EncodeParts(state->parts);
  Status s = meta_.CreateUpload(rec);
  if (!s.ok()) {
    (void)blobs_.DeleteUpload(rec.id, *state);
    return s;
  }
  return UploadProgress{rec.id, 0};
}

Result<UploadProgress> Registry::GetUpload(const std::string& repo, const std::string& id) {
  auto rec = LoadUpload(repo, id);
  if (!rec.ok()) return rec.status();
  return UploadProgress{id, rec->offset};
}

Result<UploadState> Registry::StateOf(const UploadRecord& rec) {
  auto parts = DecodeParts(rec.parts);
  if (!parts) {
    return Status(ErrorCode::kBlobUploadInvalid, "blob upload invalid",
                  "the upload's recorded parts are unreadable; start a new upload");
  }
  UploadState state;
  state.length = rec.offset;
  state.backend_id = rec.backend_id;
  state.parts = std::move(*parts);
  return state;
}

Result<Registry::Chunk> Registry::WriteChunk(const UploadRecord& rec, ByteSource& body,
                                             std::optional<ByteRange> range,
                                             const std::optional<Digest>& target) {
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
  auto at = StateOf(rec);
  if (!at.ok()) return at.status();
  std::optional<Hasher> hasher;
  if (rec.offset == 0 && target) {
    hasher.emplace(target->algorithm());  // the whole blob in one request: hash as it says
  } else {
    hasher = Hasher::Restore(DigestAlgorithm::kSha256, rec.hash_state);
  }
  if (!hasher) {  // a state saved by an older build: hash what is stored again
    auto h = HashUpload(rec.id, *at, DigestAlgorithm::kSha256);
    if (!h.ok()) return h.status();
    hasher = *h;
  }
  auto writer = blobs_.AppendUpload(rec.id, *at, rec.offset == 0 ? target : std::nullopt);
  if (!writer.ok()) return writer.status();
  auto n = StreamInto(body, **writer, *hasher, expected);
  if (!n.ok()) return n.status();
  return Chunk{std::move(*writer), std::move(*hasher), *n};
}

Result<UploadProgress> Registry::AppendUpload(const RequestContext&, const std::string& repo,
                                              const std::string& id, ByteSource& body,
                                              std::optional<ByteRange> range) {
  KeyedMutex::Lock lock(upload_locks_, id);
  auto upload_hold = meta_.HoldKey("upload:" + id);  // and across replicas
  if (!upload_hold.ok()) return upload_hold.status();
  auto rec = LoadUpload(repo, id);
  if (!rec.ok()) return rec.status();
  auto chunk = WriteChunk(*rec, body, range, std::nullopt);
  if (!chunk.ok()) return chunk.status();
  if (chunk->bytes == 0) return UploadProgress{id, rec->offset};
  auto state = chunk->writer->Close();
  if (!state.ok()) return state.status();
  if (state->length != rec->offset + chunk->bytes) {
    return Status(ErrorCode::kInternal, "storage error",
                  "the blob store holds " + std::to_string(state->length) +
                      " bytes of the upload after a chunk that should have made " +
                      std::to_string(rec->offset + chunk->bytes));
  }
  UploadRecord next = *rec;
  next.offset = state->length;
  next.hash_state = chunk->hasher.SaveState();
  next.backend_id = state->backend_id;
  next.parts = EncodeParts(state->parts);
  next.updated_at = meta_.Clock();
  ARCA_RETURN_IF_ERROR(MetaStore::CheckHeld(upload_hold->get(), "upload " + id));
  auto moved = meta_.AdvanceUpload(id, rec->offset, next);
  if (!moved.ok()) return moved.status();
  if (!*moved) return UploadUnknown();
  if (auto before = StateOf(*rec); before.ok()) blobs_.UploadRecorded(id, *before, *state);
  return UploadProgress{id, next.offset};
}

Result<Hasher> Registry::HashUpload(const std::string& id, const UploadState& state,
                                    DigestAlgorithm alg) {
  auto src = blobs_.ReadUpload(id, state);
  if (!src.ok()) {
    if (src.status().code() != ErrorCode::kUnsupported) return src.status();
    return Status(ErrorCode::kUnsupported, "digest algorithm unsupported for chunked uploads",
                  "this blob store cannot read an unfinished upload back, and the upload was "
                  "hashed as it arrived with sha256 only; push with a sha256 digest, or send "
                  "the blob in one request");
  }
  return HashAll(**src, alg);
}

Result<uint64_t> Registry::FinishUpload(const RequestContext&, const std::string& repo,
                                        const std::string& id,
                                        const Digest& digest, ByteSource& body,
                                        std::optional<ByteRange> range) {
  KeyedMutex::Lock lock(upload_locks_, id);
  auto upload_hold = meta_.HoldKey("upload:" + id);  // and across replicas
  if (!upload_hold.ok()) return upload_hold.status();
  auto rec = LoadUpload(repo, id);
  if (!rec.ok()) return rec.status();
  auto chunk = WriteChunk(*rec, body, range, digest);
  if (!chunk.ok()) return chunk.status();
  uint64_t length = rec->offset + chunk->bytes;
  std::string hex;
  if (chunk->hasher.algorithm() == digest.algorithm()) {
    hex = chunk->hasher.HexDigest();
  } else {  // a sha512 digest for bytes that arrived over several requests
    auto state = chunk->writer->Close();
    if (!state.ok()) return state.status();
    chunk->writer.reset();  // one writer per upload (and per slot of the store's)
    auto h = HashUpload(id, *state, digest.algorithm());
    if (!h.ok()) return h.status();
    hex = h->HexDigest();
    auto reopened = blobs_.AppendUpload(id, *state);
    if (!reopened.ok()) return reopened.status();
    chunk->writer = std::move(*reopened);
  }
  if (hex != digest.hex()) {
    return Status(ErrorCode::kDigestInvalid, "digest does not match the uploaded content",
                  "the content's digest is " + std::string(AlgorithmName(digest.algorithm())) +
                      ":" + hex);
  }
  // Under the blob's lock, so that the collector cannot remove the bytes between the file
  // taking its name and the record naming it (docs/gc.md).
  KeyedMutex::Lock blob_lock(blob_locks_, digest.str());
  auto blob_hold = meta_.HoldKey("blob:" + digest.str());
  if (!blob_hold.ok()) return blob_hold.status();
  ARCA_RETURN_IF_ERROR(chunk->writer->Commit(digest));
  ARCA_RETURN_IF_ERROR(MetaStore::CheckHeld(blob_hold->get(), digest.str()));
  ARCA_RETURN_IF_ERROR(meta_.LinkBlob(repo, digest.str(), length, /*finished_upload=*/id));
  // The session is over: what the store kept for a retry (a staged tail) can go.
  if (auto state = StateOf(*rec); state.ok() && state->length > state->PartBytes()) {
    (void)blobs_.DeleteUpload(id, *state);
  }
  return length;
}

Status Registry::CancelUpload(const RequestContext&, const std::string& repo,
                              const std::string& id) {
  KeyedMutex::Lock lock(upload_locks_, id);
  auto upload_hold = meta_.HoldKey("upload:" + id);  // and across replicas
  if (!upload_hold.ok()) return upload_hold.status();
  auto rec = LoadUpload(repo, id);
  if (!rec.ok()) return rec.status();
  ARCA_RETURN_IF_ERROR(meta_.DeleteUpload(id));
  auto state = StateOf(*rec);
  return blobs_.DeleteUpload(id, state.ok() ? *state : UploadState{});
}

Result<uint64_t> Registry::PushBlob(const RequestContext&, const std::string& repo,
                                    const Digest& digest, ByteSource& body) {
  std::string id = NewUuid();
  auto created = blobs_.CreateUpload(id);
  if (!created.ok()) return created.status();
  auto result = [&]() -> Result<uint64_t> {
    auto writer = blobs_.AppendUpload(id, *created, digest);
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
    auto blob_hold = meta_.HoldKey("blob:" + digest.str());
    if (!blob_hold.ok()) return blob_hold.status();
    ARCA_RETURN_IF_ERROR((*writer)->Commit(digest));
    ARCA_RETURN_IF_ERROR(MetaStore::CheckHeld(blob_hold->get(), digest.str()));
    ARCA_RETURN_IF_ERROR(meta_.LinkBlob(repo, digest.str(), *n));
    return *n;
  }();
  if (!result.ok()) (void)blobs_.DeleteUpload(id, *created);
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
