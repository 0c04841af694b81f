// The store marker's text, the same in every blob store: a few "key value" lines
//   arca-store 1
//   id <uuid>
//   schema <version>
#pragma once

#include <optional>
#include <string>

#include "types/store_identity.h"

namespace arca {

std::string FormatStoreMarker(const StoreIdentity& identity);
// nullopt when text is not a marker of ours.
std::optional<StoreIdentity> ParseStoreMarker(const std::string& text);

}  // namespace arca
