// BlobStore: where blob bytes and in-progress uploads live. Content-addressed and shared by
// every repository; which repository holds a blob is the MetaStore's business, not this one's.
// Implementations: fs/ (local disk, the default) and s3/ (S3-compatible object stores). All
// methods are thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "types/digest.h"
#include "types/store_identity.h"
#include "util/byte_source.h"
#include "util/status.h"

namespace arca {

// One part of an upload as the backend stored it (an S3 multipart part; the filesystem keeps
// an upload in one file and records no parts).
struct UploadPart {
  uint32_t number = 0;
  uint64_t size = 0;
  std::string etag;
  bool operator==(const UploadPart&) const = default;
};

// Where an upload stands in the backend: what the metadata store records after each
// acknowledged chunk, so that any replica can take the next one. Bytes past the parts (up to
// length) are staged by the backend (S3: a staging object named for length) until they fill a
// part.
struct UploadState {
  uint64_t length = 0;      // bytes acknowledged
  std::string backend_id;   // the backend's own id for the upload (S3's UploadId), or empty
  std::vector<UploadPart> parts;
  uint64_t PartBytes() const;
  bool operator==(const UploadState&) const = default;
};

// The parts as text for the metadata store, and back (nullopt for text that is not ours).
std::string EncodeParts(const std::vector<UploadPart>& parts);
std::optional<std::vector<UploadPart>> DecodeParts(const std::string& text);

// Appends to one upload from a recorded state. Not thread-safe: one writer per upload at a
// time (the registry holds the upload's lock). Nothing it writes is visible to a reader of
// the recorded state until Close's result is recorded; a writer dropped without Close or
// Commit leaves the recorded state valid.
class UploadWriter {
 public:
  virtual ~UploadWriter() = default;
  virtual Status Write(const char* data, size_t len) = 0;
  // Makes everything written durable and returns the upload's new state, to be recorded.
  virtual Result<UploadState> Close() = 0;
  // Makes everything written the blob digest (the caller has verified the digest) and ends
  // the upload. Durable when it returns ok. An existing blob of that digest is kept.
  virtual Status Commit(const Digest& digest) = 0;
};

class BlobStore {
 public:
  virtual ~BlobStore() = default;

  // Size of a stored blob; BLOB_UNKNOWN when absent.
  virtual Result<uint64_t> BlobSize(const Digest& digest) = 0;
  // length bytes from offset of a stored blob; BLOB_UNKNOWN when absent or when the opened
  // object holds fewer than offset + length bytes (checked on the object opened, so the
  // source's Length() is there to send unless the object is cut short while it is read, and
  // then Read fails and a sendfile comes up short).
  virtual Result<std::unique_ptr<BodySource>> OpenBlob(const Digest& digest, uint64_t offset,
                                                       uint64_t length) = 0;
  // Removes a blob's bytes; ok when already absent.
  virtual Status DeleteBlob(const Digest& digest) = 0;

  // Uploads are temporary objects named by a session id (a UUID), never visible as blobs
  // before a writer's Commit. CreateUpload returns the state of an empty upload.
  virtual Result<UploadState> CreateUpload(const std::string& id) = 0;
  // Opens an upload for appending after the recorded state at. Bytes stored past it (a write
  // a crash cut short, never acknowledged) are discarded; an upload holding less than at is
  // BLOB_UPLOAD_INVALID, an unknown one BLOB_UPLOAD_UNKNOWN. target is the digest the caller
  // means to Commit as, when it knows it before the bytes arrive (a monolithic push): the
  // backend may then write them straight to the blob's place (still invisible until Commit).
  virtual Result<std::unique_ptr<UploadWriter>> AppendUpload(
      const std::string& id, const UploadState& at,
      const std::optional<Digest>& target = std::nullopt) = 0;
  // A URL that serves the blob's bytes (ranges too) to whoever holds it, for expires seconds,
  // without credentials (S3: a presigned GET), for a 307; none where the store has no such
  // thing (the filesystem). The caller has checked that the blob is there.
  virtual std::optional<std::string> DirectUrl(const Digest& digest, int64_t expires) {
    (void)digest, (void)expires;
    return std::nullopt;
  }
  // Whether an upload of no bytes yet has something ListUploads shows (the filesystem: its
  // empty file; S3: nothing until the first chunk), for fsck's "session without data".
  virtual bool ListsEmptyUploads() const { return true; }
  // The chunk size the store works best with (S3: its part size), advertised to clients as
  // OCI-Chunk-Min-Length; 0 when any size suits. Smaller chunks work too (they are staged).
  virtual uint64_t PreferredChunk() const { return 0; }
  // How long the registry may trust a size BlobSize confirmed before asking again, for blobs
  // the metadata still records (0: ask every time). Where a stat is a network round trip (S3)
  // a few seconds spare most of them; damage done behind the registry's back is then noticed
  // that much later (the GET that meets it says so).
  virtual int64_t StatTrustSeconds() const { return 0; }
  // Whether the store takes writes now (GET /readyz): writes a small object of its own, away
  // from blobs and uploads, and removes it.
  virtual Status CheckWritable() = 0;
  // The metadata now records `now` for the upload, where it recorded `before`: the backend
  // may drop what only `before` needed (S3: the previous staging object). Best effort.
  virtual void UploadRecorded(const std::string& id, const UploadState& before,
                              const UploadState& now) {
    (void)id, (void)before, (void)now;
  }
  // The bytes of an upload at state, to hash them again (a digest algorithm the saved hash
  // state does not cover). UNSUPPORTED where the backend cannot read an unfinished upload.
  virtual Result<std::unique_ptr<ByteSource>> ReadUpload(const std::string& id,
                                                         const UploadState& state) = 0;
  // Removes an upload and everything staged for it; ok when already absent. state may be
  // empty when it is not known (an upload the metadata no longer records).
  virtual Status DeleteUpload(const std::string& id, const UploadState& state) = 0;

  // The store's marker (registry/store_identity.h): the identity written beside the bytes,
  // or none. WriteStoreMarker replaces it atomically and returns once it is durable.
  virtual Result<std::optional<StoreIdentity>> ReadStoreMarker() = 0;
  virtual Status WriteStoreMarker(const StoreIdentity& identity) = 0;
  // Whether any blob is stored (the marker is not one).
  virtual Result<bool> HoldsBlobs() = 0;

  // For fsck: every stored object, with its size and modification time (seconds since the
  // epoch). Names that are not a blob's or an upload's are passed with an empty digest or id
  // and their path, so they can be reported.
  struct Listed {
    std::string name;  // a digest's text, an upload id, or empty for a stray name
    std::string path;
    uint64_t size = 0;
    int64_t mtime = 0;
  };
  virtual Status ListBlobs(const std::function<void(const Listed&)>& fn) = 0;
  virtual Status ListUploads(const std::function<void(const Listed&)>& fn) = 0;
  // Removes a stray file found by a listing (a path under this store only).
  virtual Status RemoveListed(const Listed& item) = 0;
};

}  // namespace arca
