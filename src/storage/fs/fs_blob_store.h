// The local-filesystem BlobStore: blobs at <root>/blobs/<alg>/<2 hex>/<hex>, uploads at
// <root>/uploads/<uuid>. Uploads become blobs by fsync + rename + directory fsync. The store's
// marker is <root>/blobs/.arca-store.
#pragma once

#include <string>

#include "storage/blob_store.h"

namespace arca {

class FsBlobStore : public BlobStore {
 public:
  // Creates the folders under root if needed.
  static Result<std::unique_ptr<FsBlobStore>> Open(const std::string& root);

  Result<uint64_t> BlobSize(const Digest& digest) override;
  Status CheckWritable() override;
  Result<std::unique_ptr<BodySource>> OpenBlob(const Digest& digest, uint64_t offset,
                                               uint64_t length) override;
  Status DeleteBlob(const Digest& digest) override;
  Result<UploadState> CreateUpload(const std::string& id) override;
  Result<std::unique_ptr<UploadWriter>> AppendUpload(
      const std::string& id, const UploadState& at,
      const std::optional<Digest>& target = std::nullopt) override;
  Result<std::unique_ptr<ByteSource>> ReadUpload(const std::string& id,
                                                 const UploadState& state) override;
  Status DeleteUpload(const std::string& id, const UploadState& state) override;
  Result<std::optional<StoreIdentity>> ReadStoreMarker() override;
  Status WriteStoreMarker(const StoreIdentity& identity) override;
  Result<bool> HoldsBlobs() override;
  Status ListBlobs(const std::function<void(const Listed&)>& fn) override;
  Status ListUploads(const std::function<void(const Listed&)>& fn) override;
  Status RemoveListed(const Listed& item) override;

 private:
  static constexpr const char* kMarkerName = ".arca-store";
  // The marker and its temporary name: not blobs, nor strays.
  static bool IsMarkerName(const std::string& name);
  explicit FsBlobStore(std::string root) : root_(std::move(root)) {}
  std::string BlobDir(const Digest& digest) const;
  std::string BlobPath(const Digest& digest) const;
  Result<std::string> UploadPath(const std::string& id) const;
  // Gives the upload file (open as fd, length bytes) the blob's name, durably.
  Status CommitFile(const std::string& id, int fd, uint64_t length, const Digest& digest);

  class Writer;

  std::string root_;
};

}  // namespace arca
