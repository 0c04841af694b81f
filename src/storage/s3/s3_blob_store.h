// The S3 BlobStore: blobs and uploads as objects in one bucket of an S3-compatible store
// (AWS S3, Ceph RGW, SeaweedFS), under an optional key prefix:
//   <prefix>blobs/<alg>/<2 hex>/<hex>    a blob (the filesystem store's layout)
//   <prefix>blobs/.arca-store            the store marker
//   <prefix>uploads/<uuid>/data          an upload's multipart upload, while it has parts
//   <prefix>uploads/<uuid>/tail-<n>-<t>  the bytes of an upload of n bytes past its parts,
//                                        written by the chunk with token t
// An upload is one S3 multipart upload, started when its first part fills. Bytes that do not
// fill a part wait in the tail object, which the next chunk reads back (at most one part's
// worth, never the whole upload). A monolithic push whose digest is known writes its parts
// straight to the blob's key; a chunked one completes under uploads/ and is copied into
// place on the server. Nothing here is kept in memory between requests: any replica can take
// any chunk from the recorded UploadState.
#pragma once

#include <memory>
#include <mutex>
#include <vector>
#include <string>

#include "storage/blob_store.h"
#include "storage/s3/s3_client.h"

namespace arca {

struct S3StoreOptions {
  s3::ClientOptions client;
  std::string prefix;                 // "" or ending in '/'
  uint64_t part_size = 8 << 20;       // S3 parts but the last must be at least 5 MiB
  int read_after_write_retries = 3;   // a blob the metadata records but a GET misses
  bool create_bucket = false;         // create the bucket when it does not exist
  // Upload writers open at once, each holding up to a part in memory; more are refused with
  // TOOMANYREQUESTS (429) until one ends.
  size_t max_writers = 64;
  int64_t stat_cache = 10;  // seconds a confirmed blob size is trusted (StatTrustSeconds)
};

// Parses s3://bucket[/prefix]?endpoint=...&region=...&addressing=path|virtual&part_size=...
// &ca_file=...&create_bucket=true; credentials come from the environment
// (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN).
Result<S3StoreOptions> ParseS3Url(const std::string& url);

class S3BlobStore : public BlobStore {
 public:
  // Checks that the bucket answers (and creates it when asked).
  static Result<std::unique_ptr<S3BlobStore>> Open(S3StoreOptions options);

  Result<uint64_t> BlobSize(const Digest& digest) override;
  Result<std::unique_ptr<BodySource>> OpenBlob(const Digest& digest, uint64_t offset,
                                               uint64_t length) override;
  Status DeleteBlob(const Digest& digest) override;
  Result<UploadState> CreateUpload(const std::string& id) override;
  Result<std::unique_ptr<UploadWriter>> AppendUpload(
      const std::string& id, const UploadState& at,
      const std::optional<Digest>& target = std::nullopt) override;
  void UploadRecorded(const std::string& id, const UploadState& before,
                      const UploadState& now) override;
  Result<std::unique_ptr<ByteSource>> ReadUpload(const std::string& id,
                                                 const UploadState& state) override;
  Status DeleteUpload(const std::string& id, const UploadState& state) override;
  Result<std::optional<StoreIdentity>> ReadStoreMarker() override;
  Status WriteStoreMarker(const StoreIdentity& identity) override;
  Result<bool> HoldsBlobs() override;
  Status ListBlobs(const std::function<void(const Listed&)>& fn) override;
  Status ListUploads(const std::function<void(const Listed&)>& fn) override;
  Status RemoveListed(const Listed& item) override;

  std::optional<std::string> DirectUrl(const Digest& digest, int64_t expires) override;
  s3::Client& client() { return *client_; }
  uint64_t PreferredChunk() const override { return o_.part_size; }
  int64_t StatTrustSeconds() const override { return o_.stat_cache; }
  Status CheckWritable() override;
  bool ListsEmptyUploads() const override { return false; }

 private:
  class Writer;  // s3_upload_writer.cc
  std::unique_ptr<UploadWriter> NewWriter(const std::string& id, const UploadState& at,
                                          const std::optional<Digest>& target, std::string tail,
                                          std::string buffer);
  explicit S3BlobStore(S3StoreOptions o);
  std::string BlobKey(const Digest& digest) const;
  std::string UploadDir(const std::string& id) const;
  // The staging object of an upload of length bytes, named also by its chunk's token.
  std::string TailKey(const std::string& id, uint64_t length, const std::string& token) const;
  // Every object under prefix (relative to the bucket), page by page.
  Status ListObjects(const std::string& prefix,
                     const std::function<void(const std::string& key, uint64_t size,
                                              int64_t mtime)>& fn);
  Status DeleteKey(const std::string& key);
  // The bytes staged past the parts of the upload at state at (checked against it).
  Result<std::string> ReadTail(const std::string& id, const UploadState& at);
  // The multipart uploads whose keys start with area; ids taken from keys under top.
  Status ListMultipart(const std::string& area, const std::string& top,
                       const std::function<void(const Listed&)>& fn);
  Status AbortMultipart(const std::string& key, const std::string& upload_id);

  // Part buffers, kept for the next writer instead of freed: a part is megabytes, and a
  // busy registry would otherwise allocate and free one per request.
  // A writer's part buffer, or TOOMANYREQUESTS when max_writers hold one; every buffer
  // taken is returned when its writer ends.
  Result<std::string> TakeBuffer();
  void ReturnBuffer(std::string buf);

  S3StoreOptions o_;
  std::unique_ptr<s3::Client> client_;
  std::mutex buffers_mu_;
  std::vector<std::string> buffers_;  // guarded by buffers_mu_
  size_t writers_ = 0;                // guarded by buffers_mu_
};

}  // namespace arca
