// BlobStore: where blob bytes and in-progress uploads live. Content-addressed and shared by
// every repository; which repository holds a blob is the MetaStore's business, not this one's.
// Implementations: fs/ (local disk, the default). All methods are thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "types/digest.h"
#include "types/store_identity.h"
#include "util/byte_source.h"
#include "util/status.h"

namespace arca {

// Appends to one upload. Not thread-safe: one writer per upload at a time (the registry holds
// the upload's lock).
class UploadWriter {
 public:
  virtual ~UploadWriter() = default;
  virtual Status Write(const char* data, size_t len) = 0;
  // Returns once everything written is durable.
  virtual Status Sync() = 0;
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
  // before CommitUpload.
  virtual Status CreateUpload(const std::string& id) = 0;
  // Opens an upload for appending at offset. Bytes stored past offset (a write a crash cut
  // short, never acknowledged) are discarded; an upload shorter than offset is
  // BLOB_UPLOAD_INVALID.
  virtual Result<std::unique_ptr<UploadWriter>> AppendUpload(const std::string& id,
                                                             uint64_t offset) = 0;
  // The first length bytes of an upload, to hash it again.
  virtual Result<std::unique_ptr<ByteSource>> ReadUpload(const std::string& id,
                                                         uint64_t length) = 0;
  // Makes the first length bytes of the upload the blob digest (the caller has verified the
  // digest) and removes the upload. Durable when it returns ok. An existing blob is kept.
  virtual Status CommitUpload(const std::string& id, uint64_t length, const Digest& digest) = 0;
  // Removes an upload; ok when already absent.
  virtual Status DeleteUpload(const std::string& id) = 0;

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
