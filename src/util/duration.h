// Durations as operators write them: a whole number with s, m, h or d (a bare number is
// seconds), e.g. "90s", "10m", "7d", "0".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "util/status.h"

namespace arca {

// Seconds; an error for anything else, or more than 100 years.
Result<int64_t> ParseDuration(std::string_view text);
// The shortest exact form: 604800 -> "7d", 90 -> "90s".
std::string FormatDuration(int64_t seconds);

}  // namespace arca
