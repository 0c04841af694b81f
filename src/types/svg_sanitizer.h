// Logo SVGs are served to browsers from the registry's own origin, so a logo must be inert
// drawing: nothing that runs code, navigates or fetches. CheckSvgIsInert parses the document as
// XML with libxml2 (no network, no DTD, no entities: any DOCTYPE is refused before it is read)
// and accepts it only when every element and attribute is on an allowlist of static SVG
// drawing. It refuses rather than strips, so what is stored is exactly what was written.
// Thread-safe.
#pragma once

#include <cstddef>
#include <string_view>

#include "util/status.h"

namespace arca {

inline constexpr size_t kMaxLogoBytes = 256 * 1024;
// Element nesting; real logos nest a handful of groups.
inline constexpr int kMaxSvgDepth = 64;

// Ok when svg is an inert SVG document; otherwise MANIFEST_INVALID whose detail names the
// first thing refused (an element, an attribute and its value, a parse error with its line).
Status CheckSvgIsInert(std::string_view svg);

}  // namespace arca
