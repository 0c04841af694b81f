// The check every command runs before it uses a store: do the metadata and the blob bytes
// belong to the same store? PlanStoreIdentity decides from what each side records (pure, so
// every case is tested without disks); ApplyStoreIdentity writes what the plan says.
//
//   metadata        blobs/                 without --init            with --init
//   id A            marker A               ok                        ok
//   id A            marker B               refused (another store's database)
//   id A            no marker, blobs       marker A written          same
//   id A, records   no marker, no blobs    refused (unmounted disk?) marker A written
//   no id, records  no marker              adopted: new id to both (a store of an older arca)
//   no id, records  marker B               refused                   B adopted into the database
//   empty/missing   marker or blob files   refused                   new database with id B
//   empty/missing   empty                  a new store: new id to both
#pragma once

#include <optional>
#include <string>

#include "meta/meta_store.h"
#include "storage/blob_store.h"
#include "types/store_identity.h"
#include "util/status.h"

namespace arca {

// The message of every refusal (its detail names the problem and the remedy).
inline constexpr const char* kStoreIdentityProblem = "store identity";

// What each side holds.
struct StoreFacts {
  std::optional<StoreIdentity> recorded;  // the identity in the metadata
  bool records = false;                   // the metadata holds anything at all
  std::optional<StoreIdentity> marker;    // the blob store's marker
  bool blobs = false;                     // the blob store holds any blob
};

struct StoreIdentityPlan {
  StoreIdentity identity;  // the store's identity once the plan is applied
  bool write_metadata = false;
  bool write_marker = false;
  std::string note;  // what applying does, for the log; empty when nothing
};

// The plan, or a refusal (an error naming the problem and the remedy). init: the operator
// said --init: an empty database may be started over existing blobs, and a database without
// an id adopted by a store that has one. new_id is used when the store gets a new id.
Result<StoreIdentityPlan> PlanStoreIdentity(const StoreFacts& facts, bool init,
                                            const std::string& new_id);

// The facts as the two stores tell them.
Result<StoreFacts> GatherStoreFacts(MetaStore& meta, BlobStore& blobs);

// Writes the plan: the metadata first, then the marker, so that a crash in between leaves a
// recorded id whose marker the next open writes.
Status ApplyStoreIdentity(MetaStore& meta, BlobStore& blobs, const StoreIdentityPlan& plan);

}  // namespace arca
