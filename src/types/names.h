// The distribution-spec grammars for repository names and tags.
#pragma once

#include <string_view>

#include "util/status.h"

namespace arca {

// Longest repository name accepted (clients cap host + name at 255).
inline constexpr size_t kMaxRepositoryNameLength = 255;

// <name>: path components of [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)* joined by '/'.
Status ValidateRepositoryName(std::string_view name);
// <reference> as a tag: [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}.
Status ValidateTag(std::string_view tag);

}  // namespace arca
