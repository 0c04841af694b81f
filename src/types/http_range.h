// Byte ranges: the Range header of blob GETs and the Content-Range of chunked upload PATCHes.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "util/status.h"

namespace arca {

struct ByteRange {
  uint64_t first = 0;
  uint64_t last = 0;  // inclusive
  uint64_t length() const { return last - first + 1; }
};

// "bytes=a-b", "bytes=a-" or "bytes=-n" against a blob of `size` bytes. nullopt means "serve
// the whole blob" (no header, or a form we ignore such as several ranges); RANGE_INVALID means
// 416 (a well-formed range that misses the blob entirely).
Result<std::optional<ByteRange>> ParseRangeHeader(std::string_view header, uint64_t size);

// A PATCH's Content-Range: "<first>-<last>" (the spec's form; "bytes " and a "/total" suffix
// are tolerated). Anything else is RANGE_INVALID.
Result<ByteRange> ParseContentRange(std::string_view header);

}  // namespace arca
