#include "cli/store_open.h"

#include <sys/stat.h>

#include <cstdio>

#include "util/random_id.h"

namespace arca {
namespace {

// Names the store in a refusal: the message is the same for every root.
Status InStore(const std::string& root, const Status& s) {
  return Status(s.code(), s.message(), "store " + root + ": " + s.detail());
}

}  // namespace

Result<OpenedStore> OpenStore(const std::string& root, const StoreOpenOptions& o) {
  OpenedStore store;
  auto blobs = FsBlobStore::Open(root);
  if (!blobs.ok()) return blobs.status();
  store.blobs = std::move(*blobs);
  std::string db = root + "/meta.db";
  struct stat st;
  if (::stat(db.c_str(), &st) != 0) {
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
  auto meta = SqliteMetaStore::Open(db);
  if (!meta.ok()) return meta.status();
  store.meta = std::move(*meta);
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
