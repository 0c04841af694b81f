// Registry: the rules of an OCI registry over a MetaStore and a BlobStore: push, pull and
// delete semantics for blobs, upload sessions and manifests, and the listings. Callers pass
// validated repository names; everything else (digests, ranges, manifest bytes) is checked
// here. Every change takes the RequestContext of whoever asked for it (request_context.h).
// Thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "meta/meta_store.h"
#include "storage/blob_store.h"
#include "registry/request_context.h"
#include "registry/tag_index.h"
#include "types/http_range.h"
#include "types/reference.h"
#include "util/byte_source.h"
#include "util/keyed_mutex.h"

namespace arca {

struct UploadProgress {
  std::string id;
  uint64_t offset = 0;  // bytes received so far
};

struct PushedManifest {
  Digest digest;
  std::string subject;  // the subject's digest when the manifest has one
  std::vector<std::string> tags;
  std::string type;                    // the identified artifact type
  std::vector<std::string> warnings;   // policy violations that were only warned
};

struct RestoredManifest {
  std::vector<std::string> restored;  // tags set again
  std::vector<std::string> skipped;   // tags since given to another manifest
};

class TypeCatalog;
class PolicyStore;

class Registry {
 public:
  Registry(MetaStore& meta, BlobStore& blobs) : meta_(meta), blobs_(blobs) {}
  // A URL that serves a blob's bytes without Arca, for expires seconds (a presigned S3 GET),
  // or none; the caller has checked that the repository holds the blob.
  std::optional<std::string> BlobUrl(const Digest& digest, int64_t expires) {
    return blobs_.DirectUrl(digest, expires);
  }
  // The blob store's preferred chunk size for chunked uploads (0: any).
  uint64_t PreferredChunk() const { return blobs_.PreferredChunk(); }
  // GET /readyz: the metadata store takes a write and the blob store takes one (a probe
  // object written and removed).
  Status CheckMetadataWritable() { return meta_.CheckWritable(); }
  Status CheckBlobsWritable() { return blobs_.CheckWritable(); }
  // Optional: the known types (for indexing) and the type policy; both must outlive this.
  void SetTypes(const TypeCatalog* types, const PolicyStore* policy) {
    types_ = types;
    policy_ = policy;
  }

  // Size of a blob held by repo (a HEAD or GET of it). BLOB_UNKNOWN when repo does not hold
  // it, and also when its stored bytes are missing or of another size than recorded (damage,
  // logged), so that HEAD never promises what GET cannot give. Renews the link's GC grace
  // (MetaStore::RenewBlobLink) when a tenth of the grace has passed since it last started,
  // so a HEAD-heavy client costs at most one write per blob and repository per grace/10.
  Result<uint64_t> StatBlob(const std::string& repo, const Digest& digest);
  // Bytes [offset, offset + length) of a blob StatBlob found; the caller checked the range
  // against its size. BLOB_UNKNOWN when the opened file no longer holds them, so the length
  // the source announces is always there to send.
  Result<std::unique_ptr<BodySource>> ReadBlob(const Digest& digest, uint64_t offset,
                                               uint64_t length);
  // Unlinks the blob from repo (the bytes go when no repository holds them: GC's job).
  Status DeleteBlob(const RequestContext& ctx, const std::string& repo, const Digest& digest);

  Result<UploadProgress> StartUpload(const RequestContext& ctx, const std::string& repo);
  Result<UploadProgress> GetUpload(const std::string& repo, const std::string& id);
  // Appends body at the session's offset. With a Content-Range, its first byte must be the
  // offset (RANGE_INVALID otherwise: out of order or overlapping).
  Result<UploadProgress> AppendUpload(const RequestContext& ctx, const std::string& repo, const std::string& id,
                                      ByteSource& body, std::optional<ByteRange> range);
  // Appends body (possibly empty), verifies digest and makes the blob; returns its size.
  Result<uint64_t> FinishUpload(const RequestContext& ctx, const std::string& repo, const std::string& id,
                                const Digest& digest, ByteSource& body,
                                std::optional<ByteRange> range);
  Status CancelUpload(const RequestContext& ctx, const std::string& repo, const std::string& id);
  // The single-request (monolithic) upload.
  Result<uint64_t> PushBlob(const RequestContext& ctx, const std::string& repo,
                            const Digest& digest, ByteSource& body);
  // Mounts from the first repository holding the blob that `may_pull` accepts (at most
  // `max_candidates` looked at, and none once ctx's deadline has passed); nullopt when none.
  Result<std::optional<uint64_t>> MountBlobFromVisible(
      const RequestContext& ctx, const std::string& repo, const Digest& digest,
      const std::function<bool(const std::string&)>& may_pull, size_t max_candidates = 1000);
  // Links an existing blob from repository `from` (any repository when empty) into repo;
  // nullopt when there is nothing to mount.
  Result<std::optional<uint64_t>> MountBlob(const RequestContext& ctx, const std::string& repo,
                                            const Digest& digest, const std::string& from);

  // Validates and stores a manifest under reference (a tag or the digest of the bytes), plus
  // extra_tags (already validated).
  // With skip_taken_tags (a restore), tags that name another manifest are left alone and
  // listed there instead.
  Result<PushedManifest> PutManifest(const RequestContext& ctx, const std::string& repo,
                                     const Reference& reference,
                                     const std::string& content_type, std::string bytes,
                                     const std::vector<std::string>& extra_tags,
                                     std::vector<std::string>* skip_taken_tags = nullptr);
  Result<ManifestRecord> GetManifest(const std::string& repo, const Reference& reference);
  // By digest: the manifest and its tags; by tag: only the tag. What is left untagged or
  // deleted stays in the recycle bin for the repository's retention.
  Status DeleteManifest(const RequestContext& ctx, const std::string& repo,
                        const Reference& reference);

  // The recycle bin (docs/gc.md#recycle-bin).
  Result<Page<TrashEntry>> ListTrash(const std::string& repo, const std::string& after,
                                     size_t limit);
  // Puts a binned manifest back with those of its former tags that are still free.
  Result<RestoredManifest> RestoreManifest(const RequestContext& ctx, const std::string& repo,
                                           const Digest& digest);
  Status ExpireTrash(const RequestContext& ctx, const std::string& repo, const Digest& digest);
  // Seconds a manifest of repo stays in the recycle bin: its policy rule's, else the default.
  int64_t RetentionFor(const std::string& repo) const;
  void SetDefaultRetention(int64_t seconds) { default_retention_ = seconds; }
  // gc_blob_grace: how long a blob link is kept unreferenced (StatBlob renews it); 0: never.
  void SetBlobGrace(int64_t seconds) { blob_grace_ = seconds; }
  // Held while a blob's bytes take their name and get recorded; the collector holds it while
  // it removes bytes.
  KeyedMutex& blob_locks() { return blob_locks_; }

  Result<Page<std::string>> ListTags(const std::string& repo, const std::string& after,
                                     size_t limit);
  // The same page, each tag passed to fn in order (fn must not call into the registry);
  // returns whether more tags follow. Spares a large listing a copy of every name.
  Result<bool> VisitTags(const std::string& repo, const std::string& after, size_t limit,
                         const std::function<void(const std::string&)>& fn);
  Result<Page<std::string>> ListRepositories(const std::string& after, size_t limit);
  // Discovery (the Arca API): straight from the MetaStore.
  Result<Page<ArtifactSummary>> ListArtifacts(const std::string& repo, const std::string& type,
                                              const std::string& after, size_t limit) {
    return meta_.ListArtifacts(repo, type, after, limit);
  }
  Result<Page<RepositorySummary>> ListTypedRepositories(const std::string& type,
                                                        const std::string& after, size_t limit) {
    return meta_.ListTypedRepositories(type, after, limit);
  }
  Result<Page<Event>> ListEvents(int64_t after_id, size_t limit) {
    return meta_.ListEvents(after_id, limit);
  }
  Result<Page<ManifestRecord>> ListReferrers(const std::string& repo, const Digest& subject,
                                             const std::string& artifact_type,
                                             const std::string& after, size_t limit);

 private:
  // Keeps the tag index in step after this process changed repo's tags.
  void NoteTagChange(const std::string& repo, const std::vector<std::string>& added,
                     const std::vector<std::string>& removed);
  // NAME_UNKNOWN when repo does not exist, else MANIFEST_UNKNOWN.
  Status ManifestUnknown(const std::string& repo, const Reference& reference);
  Result<UploadRecord> LoadUpload(const std::string& repo, const std::string& id);
  // The blob store's state of a recorded upload.
  static Result<UploadState> StateOf(const UploadRecord& rec);
  // One request's bytes streamed into an upload: the open writer (not yet closed or
  // committed), the hasher over everything so far, and how many bytes came.
  struct Chunk {
    std::unique_ptr<UploadWriter> writer;
    Hasher hasher;
    uint64_t bytes = 0;
  };
  // Streams body into the upload after rec's state, hashing as it goes. target: the digest the
  // request names (the final PUT), which a fresh upload hashes with from the first byte.
  Result<Chunk> WriteChunk(const UploadRecord& rec, ByteSource& body,
                           std::optional<ByteRange> range, const std::optional<Digest>& target);
  Result<Hasher> HashUpload(const std::string& id, const UploadState& state, DigestAlgorithm alg);

  // The config blob of an image-like manifest, when repo holds it and it is small enough.
  std::optional<std::string> ReadConfig(const std::string& repo, const ParsedManifest& m);

  MetaStore& meta_;
  BlobStore& blobs_;
  const TypeCatalog* types_ = nullptr;
  const PolicyStore* policy_ = nullptr;
  KeyedMutex upload_locks_;  // one writer per upload session at a time
  KeyedMutex blob_locks_;    // by digest: bytes taking their name vs the collector
  int64_t default_retention_ = 7 * 86400;
  int64_t blob_grace_ = 3600;
  // Sizes the blob store confirmed, by digest, with when (steady seconds): trusted for
  // BlobStore::StatTrustSeconds (S3), so that a HEAD is not a round trip to the store each
  // time. Bounded: emptied when full.
  std::mutex stat_mu_;
  std::unordered_map<std::string, std::pair<uint64_t, int64_t>> stat_cache_;  // GUARDED_BY(stat_mu_)
  Status CheckStoredSize(const Digest& digest, uint64_t recorded);
  TagIndex tag_index_{2'000'000};
};

}  // namespace arca
