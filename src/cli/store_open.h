// Opening a store for a command: the blob store and the metadata, after checking that they
// belong together (registry/store_identity.h). The only place besides `serve` that picks the
// concrete stores.
#pragma once

#include <memory>
#include <string>

#include "meta/meta_store.h"
#include "registry/store_identity.h"
#include "storage/blob_store.h"

namespace arca {

struct StoreOpenOptions {
  bool init = false;  // --init: see PlanStoreIdentity
  // The caller holds the store lock: the identity plan is applied (a check beside a running
  // server only reads).
  bool write_identity = true;
  // Apply pending schema steps (migrate: auto); false refuses a store that needs them.
  bool migrate = true;
};

struct OpenedStore {
  std::unique_ptr<BlobStore> blobs;
  std::unique_ptr<MetaStore> meta;
  StoreIdentityPlan identity;  // what was (or, without write_identity, would be) written
};

// The blob store that the blobs setting names: the local disk under root when empty, else an
// S3 bucket (storage/s3/s3_blob_store.h ParseS3Url).
Result<std::unique_ptr<BlobStore>> OpenBlobStore(const std::string& root, const std::string& blobs);

// The metadata store that the metadata setting names: SQLite at <root>/meta.db when empty,
// else PostgreSQL (meta/postgres/pg_meta_store.h).
// Refuses (an error naming the problem and the remedy) a store whose metadata is missing,
// empty or another store's; a missing meta.db is then not created.
Result<OpenedStore> OpenStore(const std::string& root, const std::string& blobs,
                              const std::string& metadata, const StoreOpenOptions& options);

}  // namespace arca
