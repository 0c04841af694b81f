// Reading a small request body whole (manifests, type definitions), refusing more than a
// limit without reading it all.
#pragma once

#include <cstddef>
#include <string>

#include "util/byte_source.h"
#include "util/status.h"

namespace arca::api {

// The body, or TOO_LARGE (413) naming `what` and the limit.
Result<std::string> ReadBounded(ByteSource& body, size_t limit, const std::string& what);

}  // namespace arca::api
