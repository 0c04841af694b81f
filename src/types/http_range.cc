#include "types/http_range.h"

#include <charconv>

namespace arca {

static bool ParseU64(std::string_view s, uint64_t& out) {
  if (s.empty() || s.size() > 19) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

static std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

static Status Unsatisfiable(std::string detail) {
  return Status(ErrorCode::kRangeNotSatisfiable, "requested range not satisfiable",
                std::move(detail));
}

Result<std::optional<ByteRange>> ParseRangeHeader(std::string_view header, uint64_t size) {
  header = Trim(header);
  if (header.empty()) return std::optional<ByteRange>();
  if (!header.starts_with("bytes=")) return std::optional<ByteRange>();
  std::string_view spec = Trim(header.substr(6));
  if (spec.find(',') != std::string_view::npos) return std::optional<ByteRange>();
  size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return std::optional<ByteRange>();
  std::string_view a = Trim(spec.substr(0, dash)), b = Trim(spec.substr(dash + 1));
  uint64_t first = 0, last = 0;
  if (a.empty()) {  // suffix: the last n bytes
    uint64_t n;
    if (!ParseU64(b, n)) return std::optional<ByteRange>();
    if (n == 0 || size == 0) return Unsatisfiable("empty suffix range");
    first = n >= size ? 0 : size - n;
    return std::optional<ByteRange>(ByteRange{first, size - 1});
  }
  if (!ParseU64(a, first)) return std::optional<ByteRange>();
  if (b.empty()) {
    last = size == 0 ? 0 : size - 1;
  } else if (!ParseU64(b, last)) {
    return std::optional<ByteRange>();  // not a byte range at all: ignored (RFC 9110)
  } else if (last < first) {
    // RFC 9110 would ignore it; Go's servers and the OCI conformance suite answer 416.
    return Unsatisfiable("the range ends before it starts");
  }
  if (first >= size) return Unsatisfiable("the range starts past the end of the blob");
  if (last >= size) last = size - 1;
  return std::optional<ByteRange>(ByteRange{first, last});
}

Result<ByteRange> ParseContentRange(std::string_view header) {
  std::string_view s = Trim(header);
  if (s.starts_with("bytes ")) s = Trim(s.substr(6));
  if (s.starts_with("bytes=")) s = Trim(s.substr(6));
  size_t slash = s.find('/');
  if (slash != std::string_view::npos) s = s.substr(0, slash);
  size_t dash = s.find('-');
  ByteRange r;
  if (dash == std::string_view::npos || !ParseU64(s.substr(0, dash), r.first) ||
      !ParseU64(s.substr(dash + 1), r.last) || r.last < r.first) {
    return Status(ErrorCode::kRangeInvalid, "invalid Content-Range",
                  "Content-Range must be <first>-<last> with first <= last");
  }
  return r;
}

}  // namespace arca
