// Unguessable identifiers for upload sessions and requests.
#pragma once

#include <string>

namespace arca {

// A random UUID (version 4) in its canonical 36-character form, from the OS's CSPRNG.
std::string NewUuid();

// True when s has the canonical form NewUuid produces (lower-case hex and dashes).
bool IsUuid(const std::string& s);

}  // namespace arca
