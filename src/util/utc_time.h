// Seconds since the epoch as UTC text.
#pragma once

#include <cstdint>
#include <ctime>
#include <string>

namespace arca {

// strftime's format over the UTC time t.
inline std::string FormatUtc(int64_t t, const char* format) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm utc{};
  gmtime_r(&tt, &utc);
  char buf[64];
  size_t n = std::strftime(buf, sizeof buf, format, &utc);
  return std::string(buf, n);
}

// RFC 3339, e.g. 2026-12-01T10:30:00Z.
inline std::string Rfc3339(int64_t t) { return FormatUtc(t, "%Y-%m-%dT%H:%M:%SZ"); }

}  // namespace arca
