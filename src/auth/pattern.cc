#include "auth/pattern.h"

#include <string>

#include "types/names.h"

namespace arca::auth {
namespace {

// The next component of s from pos (advancing pos past it and its '/').
std::string_view Next(std::string_view s, size_t& pos) {
  size_t slash = s.find('/', pos);
  std::string_view c = s.substr(pos, slash == std::string_view::npos ? s.npos : slash - pos);
  pos = slash == std::string_view::npos ? s.size() + 1 : slash + 1;
  return c;
}

}  // namespace

Status ValidatePattern(std::string_view pattern) {
  auto bad = [&](const std::string& why) {
    return Status(ErrorCode::kNameInvalid, "invalid repository pattern",
                  "\"" + std::string(pattern.substr(0, 256)) + "\": " + why);
  };
  if (pattern.empty() || pattern.size() > 256) return bad("length must be 1 to 256");
  size_t pos = 0;
  std::string literal;  // the pattern with '*' components replaced, checked as a name
  while (pos <= pattern.size()) {
    std::string_view c = Next(pattern, pos);
    if (c.empty()) return bad("empty path component");
    if (c == "**") {
      if (pos <= pattern.size()) return bad("'**' may only be the last component");
      c = "x";
    } else if (c == "*") {
      c = "x";
    } else if (c.find('*') != std::string_view::npos) {
      return bad("'*' must be a whole component");
    }
    if (!literal.empty()) literal += '/';
    literal += c;
  }
  if (!ValidateRepositoryName(literal).ok()) {
    return bad("components must follow the repository name grammar");
  }
  return Status::Ok();
}

bool PatternMatches(std::string_view pattern, std::string_view name) {
  size_t p = 0, n = 0;
  while (p <= pattern.size()) {
    std::string_view pc = Next(pattern, p);
    if (pc == "**") return n <= name.size();  // one or more components remain
    if (n > name.size()) return false;
    std::string_view nc = Next(name, n);
    if (pc != "*" && pc != nc) return false;
  }
  return n > name.size();
}

}  // namespace arca::auth
