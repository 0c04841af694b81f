// MetaStore: the registry's index. A blob is "in a repository" because a row says so; tags,
// manifests, their references and upload sessions live here. Implementations: sqlite/
// (embedded, default). All methods are thread-safe, and every write is durable (committed)
// before it returns ok.
#pragma once

#include <cstdint>
#include <ctime>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "types/manifest.h"
#include "types/store_identity.h"
#include "util/status.h"

namespace arca {

// A repository's link to a blob.
struct BlobLink {
  uint64_t size = 0;
  int64_t linked_at = 0;  // when the link's GC grace last (re)started: push, mount or renewal
};

struct UploadRecord {
  std::string id;
  std::string repository;
  uint64_t offset = 0;
  std::string hash_state;  // Hasher::SaveState() of sha256 over bytes [0, offset)
  int64_t started_at = 0;
  int64_t updated_at = 0;
  // Where the blob store keeps it (storage/blob_store.h UploadState): the backend's upload id
  // and its parts (EncodeParts), so that any replica can take the next chunk.
  std::string backend_id;
  std::string parts;
};

struct ManifestRecord {
  std::string digest;
  std::string media_type;
  std::string content;  // the exact bytes pushed; empty in listings
  std::string artifact_type;
  std::string config_media_type;
  std::string subject;           // subject digest, or empty
  std::string annotations_json;  // or empty
  uint64_t size = 0;
  int64_t pushed_at = 0;
  std::string type;            // identified artifact type (IdentifyArtifactType)
  std::string platforms_json;  // [{"os","architecture","variant"...}] or empty
  std::string created;         // an image config's "created", or empty
  std::string fields_json;     // {"name": value} from the type's indexFields, or empty
};

// One manifest as the artifact listings show it.
struct ArtifactSummary {
  ManifestRecord manifest;         // without content
  uint64_t total_size = 0;         // manifest + every blob and manifest it reaches, once each
  std::vector<std::string> tags;   // sorted
  uint64_t referrers = 0;
};

struct RepositorySummary {
  std::string name;
  uint64_t artifacts = 0;
  std::vector<std::string> types;  // sorted, distinct
};

struct Event {
  int64_t id = 0;
  int64_t time = 0;
  std::string kind, repository, digest, message;
  std::string principal;   // who made the change (RequestContext); "" for Arca itself
  std::string request_id;  // the request that made it; "" for Arca itself
};

struct NewManifest {
  ManifestRecord record;
  std::vector<ManifestRef> refs;  // a ref marked foreign may be absent (then recorded foreign)
  std::vector<std::string> tags;
  // Refs that would be foreign but that the policy does not allow to be absent: an absent
  // one is refused with this rule's name rather than as MANIFEST_BLOB_UNKNOWN.
  std::vector<bool> foreign_denied;  // parallel to refs, or empty
  std::string foreign_rule;          // e.g. policy rule "secure/**"
  // Seconds that the manifest, or one that loses its last tag to this push, stays in the
  // recycle bin when it ends up untagged.
  int64_t retention = 0;
  // A restore: tags that meanwhile name another manifest are left alone, and listed here
  // (decided inside the transaction; the manifest remembers them if it stays untagged).
  std::vector<std::string>* skip_taken_tags = nullptr;
};

// A manifest in the recycle bin (docs/gc.md#recycle-bin).
struct TrashEntry {
  std::string digest, media_type, type;
  std::string reason;             // "untagged" (still stored) or "deleted"
  std::vector<std::string> tags;  // the tags it had
  uint64_t size = 0;
  int64_t trashed_at = 0, expires_at = 0;
  std::string content;            // GetTrash only, for "deleted"
};

struct GcOptions {
  int64_t now = 0;
  int64_t blob_grace = 3600;  // a blob link younger than this is kept
  int64_t upload_ttl = 86400;
  bool referrers = true;      // collect referrers of subjects deleted for good
  size_t batch = 200;         // objects reviewed per transaction
  // Who asked for the pass, for the events it records ("" for the schedule and `arca gc`).
  std::string principal;
  std::string request_id;
};

struct GcAction {
  std::string action;  // delete-manifest, purge-manifest, unlink-blob, delete-blob, delete-upload
  std::string repository, digest, reason;
  uint64_t bytes = 0;
};

struct GcStep {
  std::vector<GcAction> actions;
  struct StaleUpload {
    std::string id, backend_id;
  };
  std::vector<StaleUpload> uploads;  // upload sessions whose data is to be removed
  size_t reviewed = 0;
  bool more = false;  // due work remains
};

// For fsck.
struct DanglingReference {
  std::string repository, manifest, digest;
  int kind = 0;             // 0 config, 1 layer, 2 child manifest
  bool bytes_held = false;  // a blob whose bytes are recorded, only not linked to the repository
};

template <typename T>
struct Page {
  std::vector<T> items;
  bool more = false;  // items remain after the last one returned
};

class MetaStore {
 public:
  virtual ~MetaStore() = default;

  virtual Result<bool> RepositoryExists(const std::string& repo) = 0;
  // Repository names sorted, strictly after `after` (empty: from the start), at most limit.
  virtual Result<Page<std::string>> ListRepositories(const std::string& after, size_t limit) = 0;

  // Records that repo holds blob digest of size bytes (creating the repository if needed);
  // with finished_upload, that upload session ends in the same transaction.
  virtual Status LinkBlob(const std::string& repo, const std::string& digest, uint64_t size,
                          const std::string& finished_upload = "") = 0;
  // The blob's size if repo holds it.
  virtual Result<std::optional<uint64_t>> BlobInRepository(const std::string& repo,
                                                           const std::string& digest) = 0;
  // repo's link to a blob, when repo holds it.
  virtual Result<std::optional<BlobLink>> FindBlobLink(const std::string& repo,
                                                       const std::string& digest) = 0;
  // Restarts the GC grace of repo's link to a blob at now (never moves it back), so that a
  // client that found the blob (HEAD or GET) and skipped uploading it can still reference it.
  // Does not queue a review: the one queued at the last push or mount re-reads the time.
  // Returns whether repo still holds the blob.
  virtual Result<bool> RenewBlobLink(const std::string& repo, const std::string& digest,
                                     int64_t now) = 0;
  // Links a blob held by repository `from` (or by any repository when from is empty) into
  // repo. Returns the size, or nullopt when there is nothing to mount.
  virtual Result<std::optional<uint64_t>> MountBlob(const std::string& repo,
                                                    const std::string& digest,
                                                    const std::string& from) = 0;
  // Repositories holding a blob, by name after `after` (auto-mount under access control).
  virtual Result<Page<std::string>> ListBlobHolders(const std::string& digest,
                                                    const std::string& after, size_t limit) = 0;
  // Removes repo's link to a blob; false when it had none.
  virtual Result<bool> UnlinkBlob(const std::string& repo, const std::string& digest) = 0;

  // Starts an upload session (creating the repository if needed).
  virtual Status CreateUpload(const UploadRecord& upload) = 0;
  virtual Result<std::optional<UploadRecord>> GetUpload(const std::string& id) = 0;
  // Moves an upload from expected_offset to next's offset, hash state, backend id, parts and
  // updated_at; false when the upload is gone or was moved by someone else meanwhile.
  virtual Result<bool> AdvanceUpload(const std::string& id, uint64_t expected_offset,
                                     const UploadRecord& next) = 0;
  virtual Status DeleteUpload(const std::string& id) = 0;

  // Stores a manifest in repo, its references and tags, in one transaction that first checks
  // that every non-foreign blob is linked to repo and every child manifest is in repo
  // (MANIFEST_BLOB_UNKNOWN otherwise) with the size its descriptor states.
  virtual Status PutManifest(const std::string& repo, const NewManifest& manifest) = 0;
  virtual Result<std::optional<ManifestRecord>> GetManifest(const std::string& repo,
                                                            const std::string& digest) = 0;
  virtual Result<std::optional<ManifestRecord>> GetTaggedManifest(const std::string& repo,
                                                                  const std::string& tag) = 0;
  // Removes a manifest and the tags pointing at it into the recycle bin for retention
  // seconds; false when repo does not hold it.
  virtual Result<bool> DeleteManifest(const std::string& repo, const std::string& digest,
                                      int64_t retention) = 0;
  // Removes a tag; its manifest, if left untagged, enters the recycle bin for retention.
  virtual Result<bool> DeleteTag(const std::string& repo, const std::string& tag,
                                 int64_t retention) = 0;
  // A number that changes whenever repo's tags change (a tag set, moved or removed, its
  // manifest deleted); nullopt when the repository does not exist. For caching listings.
  virtual Result<std::optional<int64_t>> TagsGeneration(const std::string& repo) = 0;
  // Tags sorted, strictly after `after`, at most limit.
  virtual Result<Page<std::string>> ListTags(const std::string& repo, const std::string& after,
                                             size_t limit) = 0;
  // Manifests of repo sorted by digest (strictly after `after`), optionally of one type, with
  // tags, total sizes and referrer counts, in a fixed number of queries.
  virtual Result<Page<ArtifactSummary>> ListArtifacts(const std::string& repo,
                                                      const std::string& type,
                                                      const std::string& after,
                                                      size_t limit) = 0;
  // Repositories (sorted, strictly after `after`) holding a manifest (of type, when set).
  virtual Result<Page<RepositorySummary>> ListTypedRepositories(const std::string& type,
                                                                const std::string& after,
                                                                size_t limit) = 0;
  virtual Status RecordEvent(const Event& event) = 0;
  // Events with ids greater than after_id, oldest first.
  virtual Result<Page<Event>> ListEvents(int64_t after_id, size_t limit) = 0;

  // The recycle bin: entries not yet expired at now, sorted by digest (untagged manifests an
  // index references are left out: they are not going anywhere).
  virtual Result<Page<TrashEntry>> ListTrash(const std::string& repo, const std::string& after,
                                             size_t limit, int64_t now) = 0;
  virtual Result<std::optional<TrashEntry>> GetTrash(const std::string& repo,
                                                     const std::string& digest, int64_t now) = 0;
  // Makes an entry expire now; false when there is no such live entry.
  virtual Result<bool> ExpireTrash(const std::string& repo, const std::string& digest,
                                   int64_t now) = 0;

  // Garbage collection. One batch of due work, decided and applied in one transaction.
  virtual Result<GcStep> CollectStep(const GcOptions& options) = 0;
  // Everything a pass would do (up to max_actions), without changing anything.
  virtual Result<GcStep> CollectDryRun(const GcOptions& options, size_t max_actions) = 0;
  // Blobs whose records are gone and whose bytes may be removed (at most limit).
  virtual Result<std::vector<std::string>> PendingBlobDeletions(size_t limit) = 0;
  // Whether a blob is recorded (held by some repository or referenced).
  virtual Result<bool> BlobRecorded(const std::string& digest) = 0;
  // The bytes of digest are gone (or were found recorded again): forget the pending deletion.
  virtual Status BlobBytesDeleted(const std::string& digest) = 0;

  // Coordination of the processes that share this metadata (many replicas on PostgreSQL; one
  // process on SQLite, which the store lock guarantees).
  //
  // The time in whole seconds since the epoch on the clock every process shares: records are
  // stamped and grace periods judged on it, so a replica whose own clock is off cannot
  // shorten them. PostgreSQL's clock there; this machine's on SQLite.
  virtual int64_t Clock() { return static_cast<int64_t>(std::time(nullptr)); }
  // A lock on key held by one process at a time while the returned handle lives
  // (PostgreSQL: an advisory lock); null where one process serves the store and its own
  // locks suffice. Callers take their in-process lock on the key first.
  class Hold {
   public:
    virtual ~Hold() = default;
    // Whether the lock is still held: false once the session that held it was lost (the
    // database restarted), when another process may have taken it meanwhile. Checked just
    // before the step the lock protects; a round trip to the database.
    virtual bool Valid() { return true; }
  };
  virtual Result<std::unique_ptr<Hold>> HoldKey(const std::string& key) {
    (void)key;
    return std::unique_ptr<Hold>();
  }
  // UNAVAILABLE when hold (null: no cross-process lock needed) was lost.
  static Status CheckHeld(Hold* hold, const std::string& key) {
    if (hold == nullptr || hold->Valid()) return Status::Ok();
    return Status(ErrorCode::kUnavailable, "metadata database unavailable",
                  "the lock on " + key + " was lost with the database connection; try again");
  }
  // A lease on name for holder: taken (true) when free, expired, or already holder's, and
  // then valid for ttl seconds of Clock(); false while another holder's is valid. Renewed by
  // taking it again; a holder that dies loses it when it expires.
  virtual Result<bool> TakeLease(const std::string& name, const std::string& holder,
                                 int64_t ttl) = 0;
  virtual Status ReleaseLease(const std::string& name, const std::string& holder) = 0;

  // Settings that every process sharing this metadata agrees on: artifact type definitions
  // written through the API (registry/type_catalog.h) and named documents such as the type
  // policy (registry/policy.h). SettingsVersion changes with every change of either, by any
  // process; it is cheap, and replicas poll it to see each other's changes within a second.
  struct TypeDefinitionRecord {
    std::string id;          // the type's media type
    std::string definition;  // the JSON as given (its logo file name unresolved)
    std::string logo;        // the SVG that the definition's logo names; "" when none
    int64_t updated_at = 0;  // Clock() when written
  };
  virtual Result<int64_t> SettingsVersion() = 0;
  // Whether the store takes a write now (GET /readyz): one durable write transaction that
  // changes no value (the settings counter written with itself).
  virtual Status CheckWritable() = 0;
  virtual Result<std::vector<TypeDefinitionRecord>> ListTypeDefinitions() = 0;  // by id
  // Adds or replaces the definition of d.id; true when it added. updated_at is set here.
  virtual Result<bool> PutTypeDefinition(const TypeDefinitionRecord& d) = 0;
  virtual Result<bool> DeleteTypeDefinition(const std::string& id) = 0;  // false: none was
  virtual Result<std::optional<std::string>> GetSetting(const std::string& name) = 0;
  // Sets the named setting to value, or removes it (nullopt).
  virtual Status PutSetting(const std::string& name, const std::optional<std::string>& value) = 0;

  // The store's identity as recorded here (registry/store_identity.h): none in an empty
  // database or one made before store ids. SetStoreIdentity replaces it.
  virtual Result<std::optional<StoreIdentity>> GetStoreIdentity() = 0;
  virtual Status SetStoreIdentity(const StoreIdentity& identity) = 0;
  // Whether anything at all is recorded: a repository, blob, manifest or event.
  virtual Result<bool> HoldsRecords() = 0;

  // For fsck: every recorded blob with its size; dangling references; every upload session
  // id; every manifest's repository, digest and bytes; and repairs. The walks go in pages
  // (blobs by digest, manifests by row id); what changes during one may or may not be seen.
  virtual Status ForEachBlob(const std::function<void(const std::string&, uint64_t)>& fn) = 0;
  virtual Result<std::vector<DanglingReference>> FindDanglingReferences() = 0;
  virtual Result<std::vector<std::string>> ListUploadIds() = 0;
  virtual Status ForEachManifest(
      const std::function<void(const std::string&, const std::string&, const std::string&)>& fn) = 0;
  virtual Status ForgetBlob(const std::string& digest) = 0;  // drops its links and record
  virtual Status RelinkBlob(const std::string& repo, const std::string& digest) = 0;

  // Manifests in repo whose subject is `subject`, sorted by digest, strictly after `after`,
  // optionally only those of one artifact type (as identified at push).
  virtual Result<Page<ManifestRecord>> ListReferrers(const std::string& repo,
                                                     const std::string& subject,
                                                     const std::string& artifact_type,
                                                     const std::string& after,
                                                     size_t limit) = 0;
};

}  // namespace arca
