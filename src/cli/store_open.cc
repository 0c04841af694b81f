#include "cli/store_open.h"

#include <sys/stat.h>

#include <cstdio>

#include "meta/postgres/pg_meta_store.h"
#include "meta/sqlite/sqlite_meta_store.h"
#include "storage/fs/fs_blob_store.h"
#include "storage/s3/s3_blob_store.h"
#include "util/random_id.h"

namespace arca {
namespace {

// Names the store in a refusal: the message is the same for every root.
Status InStore(const std::string& root, const Status& s) {
  return Status(s.code(), s.message(), "store " + root + ": " + s.detail());
}

}  // namespace

Result<std::unique_ptr<BlobStore>> OpenBlobStore(const std::string& root,
                                                 const std::string& blobs) {
  if (blobs.empty()) {
    auto fs = FsBlobStore::Open(root);
    if (!fs.ok()) return fs.status();
    return std::unique_ptr<BlobStore>(std::move(*fs));
  }
  auto options = ParseS3Url(blobs);
  if (!options.ok()) return options.status();
  auto s3 = S3BlobStore::Open(std::move(*options));
  if (!s3.ok()) return s3.status();
  return std::unique_ptr<BlobStore>(std::move(*s3));
}

Result<OpenedStore> OpenStore(const std::string& root, const std::string& blob_setting,
                              const std::string& metadata, const StoreOpenOptions& o) {
  OpenedStore store;
  auto blobs = OpenBlobStore(root, blob_setting);
  if (!blobs.ok()) return blobs.status();
  store.blobs = std::move(*blobs);
  std::string db = root + "/meta.db";
  struct stat st;
  if (metadata.empty() && ::stat(db.c_str(), &st) != 0) {
    // Decide before SQLite makes an empty database that the next start would find instead.
    StoreFacts facts;
    auto marker = store.blobs->ReadStoreMarker();
    if (!marker.ok()) return marker.status();
    facts.marker = *marker;
    auto held = store.blobs->HoldsBlobs();
    if (!held.ok()) return held.status();
    facts.blobs = *held;
    auto plan = PlanStoreIdentity(facts, o.init, NewUuid());
    if (!plan.ok()) return InStore(root, plan.status());
  }
  if (metadata.empty()) {
    SqliteMetaStore::Options meta_options;
    meta_options.migrate = o.migrate;
    auto meta = SqliteMetaStore::Open(db, meta_options);
    if (!meta.ok()) return meta.status();
    store.meta = std::move(*meta);
  } else {
    // A new, empty database gets its schema and then the identity plan below, as a missing
    // meta.db would: an empty database beside blobs is refused there without --init.
    PgMetaStore::Options meta_options;
    meta_options.url = metadata;
    meta_options.migrate = o.migrate;
    auto meta = PgMetaStore::Open(meta_options);
    if (!meta.ok()) return meta.status();
    store.meta = std::move(*meta);
  }
  // Replicas starting together on a new store take turns here (PostgreSQL: an advisory lock),
  // so that one makes the store's identity and the others adopt it.
  auto turn = store.meta->HoldKey("store-identity");
  if (!turn.ok()) return turn.status();
  auto facts = GatherStoreFacts(*store.meta, *store.blobs);
  if (!facts.ok()) return facts.status();
  auto plan = PlanStoreIdentity(*facts, o.init, NewUuid());
  if (!plan.ok()) return InStore(root, plan.status());
  store.identity = *plan;
  if (o.write_identity) {
    ARCA_RETURN_IF_ERROR(ApplyStoreIdentity(*store.meta, *store.blobs, store.identity));
    if (!store.identity.note.empty()) {
      std::fprintf(stderr, "arca: %s\n", store.identity.note.c_str());
    }
  }
  return store;
}

}  // namespace arca
