#include "util/duration.h"

#include <charconv>

namespace arca {

Result<int64_t> ParseDuration(std::string_view text) {
  int64_t unit = 1;
  std::string_view digits = text;
  if (!text.empty()) {
    switch (text.back()) {
      case 's': unit = 1; break;
      case 'm': unit = 60; break;
      case 'h': unit = 3600; break;
      case 'd': unit = 86400; break;
      default: unit = 0;
    }
    if (unit) digits.remove_suffix(1); else unit = 1;
  }
  int64_t n = 0;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  constexpr int64_t kMax = 100LL * 365 * 86400;
  if (digits.empty() || ec != std::errc() || p != digits.data() + digits.size() || n < 0 ||
      n > kMax / unit) {
    return Status(ErrorCode::kInternal, "invalid duration",
                  "\"" + std::string(text) + "\": expected a number with s, m, h or d");
  }
  return n * unit;
}

std::string FormatDuration(int64_t s) {
  if (s > 0 && s % 86400 == 0) return std::to_string(s / 86400) + "d";
  if (s > 0 && s % 3600 == 0) return std::to_string(s / 3600) + "h";
  if (s > 0 && s % 60 == 0) return std::to_string(s / 60) + "m";
  return std::to_string(s) + "s";
}

}  // namespace arca
