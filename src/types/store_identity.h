// Which store a root holds: a random id and the schema version, recorded when the store is
// made, both in the metadata and in a marker beside the blob bytes, so that a database that
// is missing, empty or another store's is refused instead of served (README "Store identity").
#pragma once

#include <cstdint>
#include <string>

namespace arca {

struct StoreIdentity {
  std::string id;  // a UUID (util/random_id.h)
  int64_t schema_version = 0;
  bool operator==(const StoreIdentity&) const = default;
};

// The metadata schema this build writes. 2: the first with a store identity.
inline constexpr int64_t kStoreSchemaVersion = 2;

}  // namespace arca
