#include "storage/store_marker.h"

#include <cstdlib>
#include <sstream>

#include "util/random_id.h"

namespace arca {

std::string FormatStoreMarker(const StoreIdentity& identity) {
  return "arca-store 1\nid " + identity.id + "\nschema " +
         std::to_string(identity.schema_version) + "\n";
}

std::optional<StoreIdentity> ParseStoreMarker(const std::string& text) {
  std::istringstream in(text);
  StoreIdentity id;
  bool magic = false;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string key, value;
    words >> key >> value;
    if (key == "arca-store") magic = value == "1";
    if (key == "id") id.id = value;
    if (key == "schema") id.schema_version = std::atoll(value.c_str());
  }
  if (!magic || !IsUuid(id.id) || id.schema_version <= 0) return std::nullopt;
  return id;
}

}  // namespace arca
