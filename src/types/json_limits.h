// The one way Arca parses JSON that it did not write itself (manifests, config blobs, artifact
// type definitions and their schemas, request bodies): a parse that refuses documents nested
// deeper than a fixed limit while it reads them.
//
// Why: nlohmann::json parses and destroys iteratively, but copying, dump(), comparison and
// Arca's own walks (schema checks, validation) recurse once per level. A 200 KB document of
// 100,000 nested arrays exhausts a connection thread's stack in any of them. Bounding the depth
// at parse time means every later recursive walk runs on a document known to be shallow.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

#include "util/status.h"

namespace arca {

// The deepest nesting of arrays and objects Arca accepts in a JSON document: `{}` and `[]` are
// depth 1, `{"a":[1]}` is depth 2, a lone scalar 0. Real manifests, image configs, CNAB bundles
// and type definitions are under 20 deep; a configSchema roughly doubles its config's depth
// (properties/<name>/...). 100 leaves room for those while a recursive walk stays a few tens of
// KiB of stack, even under AddressSanitizer.
inline constexpr int kMaxJsonDepth = 100;

// Parses `text` as one JSON document (any JSON value at the top) nested at most `max_depth`
// deep. The limit is applied during parsing: a deeper subtree is never built. Errors are
// MANIFEST_INVALID with a detail callers can show as is, either
//   "not well-formed JSON (at byte N)" or
//   "arrays and objects nest deeper than 100 levels, the limit on JSON documents".
// Thread-safe; never throws.
Result<nlohmann::json> ParseJsonBounded(std::string_view text, int max_depth = kMaxJsonDepth);

}  // namespace arca
