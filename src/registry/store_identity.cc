#include "registry/store_identity.h"

namespace arca {
namespace {

Status Refuse(const std::string& problem, const std::string& remedy) {
  return Status(ErrorCode::kInternal, kStoreIdentityProblem, problem + ". " + remedy);
}

constexpr const char* kRestore =
    "Restore meta.db from a backup (with the registry stopped) and start again";

}  // namespace

Result<StoreIdentityPlan> PlanStoreIdentity(const StoreFacts& f, bool init,
                                            const std::string& new_id) {
  StoreIdentityPlan plan;
  plan.identity = {new_id, kStoreSchemaVersion};
  if (f.recorded) {
    const StoreIdentity& r = *f.recorded;
    if (r.schema_version > kStoreSchemaVersion) {
      return Refuse("meta.db has schema version " + std::to_string(r.schema_version) +
                        ", newer than this arca's " + std::to_string(kStoreSchemaVersion),
                    "Run the newer arca that wrote it");
    }
    if (f.marker && f.marker->id != r.id) {
      return Refuse("meta.db belongs to store " + r.id + " but blobs/ to store " + f.marker->id +
                        ": the database is another store's",
                    "Put back this store's own meta.db, or point --root at the store the "
                    "database belongs to; --init does not override this");
    }
    if (!f.marker && !f.blobs && f.records && !init) {
      return Refuse("meta.db (store " + r.id + ") holds records, but blobs/ is empty and has "
                        "no marker: the blob storage is missing (an unmounted disk?)",
                    "Mount or restore blobs/ and start again; if the blobs are lost for good, "
                    "start once with --init (fsck then reports every missing blob)");
    }
    plan.identity = {r.id, kStoreSchemaVersion};
    plan.write_metadata = r.schema_version != kStoreSchemaVersion;
    plan.write_marker = !f.marker || !(*f.marker == plan.identity);
    if (!f.marker) {
      plan.note = "blobs/.arca-store was missing: written again from meta.db (store " + r.id + ")";
    } else if (plan.write_metadata || plan.write_marker) {
      plan.note = "store " + r.id + ": schema version " + std::to_string(r.schema_version) +
                  " -> " + std::to_string(kStoreSchemaVersion);
    }
    return plan;
  }
  if (f.records) {
    if (!f.marker) {  // a store of an arca from before store ids
      plan.write_metadata = plan.write_marker = true;
      plan.note = "adopted a store made before store ids: id " + new_id +
                  " written to meta.db and blobs/.arca-store";
      return plan;
    }
    if (!init) {
      return Refuse("meta.db holds records but no store id, while blobs/ belongs to store " +
                        f.marker->id +
                        ": it may be another store's database, or a backup taken before "
                        "store ids",
                    "If it is this store's, start once with --init to adopt it; otherwise " +
                        std::string(kRestore));
    }
    plan.identity.id = f.marker->id;
    plan.write_metadata = plan.write_marker = true;
    plan.note = "--init: meta.db adopted by store " + f.marker->id;
    return plan;
  }
  // The database is empty (or was missing).
  if (!f.marker && !f.blobs) {
    plan.write_metadata = plan.write_marker = true;
    plan.note = "new store " + new_id;
    return plan;
  }
  if (!init) {
    std::string held = f.marker ? "blobs/ belongs to store " + f.marker->id +
                                      (f.blobs ? " and holds blobs" : "")
                                : "blobs/ holds blobs";
    return Refuse("meta.db is missing or empty, but " + held +
                      ": serving it would show an empty registry, and a repair would delete "
                      "every blob",
                  std::string(kRestore) +
                      ". To start an empty registry over these blobs instead (fsck then "
                      "reports them as orphans), start once with --init");
  }
  if (f.marker) plan.identity.id = f.marker->id;
  plan.write_metadata = plan.write_marker = true;
  plan.note = "--init: new, empty meta.db for store " + plan.identity.id + " over existing blobs";
  return plan;
}

Result<StoreFacts> GatherStoreFacts(MetaStore& meta, BlobStore& blobs) {
  StoreFacts f;
  auto recorded = meta.GetStoreIdentity();
  if (!recorded.ok()) return recorded.status();
  f.recorded = *recorded;
  auto records = meta.HoldsRecords();
  if (!records.ok()) return records.status();
  f.records = *records;
  auto marker = blobs.ReadStoreMarker();
  if (!marker.ok()) return marker.status();
  f.marker = *marker;
  auto held = blobs.HoldsBlobs();
  if (!held.ok()) return held.status();
  f.blobs = *held;
  return f;
}

Status ApplyStoreIdentity(MetaStore& meta, BlobStore& blobs, const StoreIdentityPlan& plan) {
  if (plan.write_metadata) ARCA_RETURN_IF_ERROR(meta.SetStoreIdentity(plan.identity));
  if (plan.write_marker) ARCA_RETURN_IF_ERROR(blobs.WriteStoreMarker(plan.identity));
  return Status::Ok();
}

}  // namespace arca
