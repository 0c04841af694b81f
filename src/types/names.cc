#include "types/names.h"

#include <string>

namespace arca {

static bool IsAlnumLower(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

static bool ValidComponent(std::string_view c) {
  if (c.empty() || !IsAlnumLower(c.front()) || !IsAlnumLower(c.back())) return false;
  size_t i = 0;
  while (i < c.size()) {
    if (IsAlnumLower(c[i])) {
      ++i;
      continue;
    }
    // A separator run: ".", "_", "__" or one or more "-", always followed by alnum.
    size_t start = i;
    if (c[i] == '.') {
      ++i;
    } else if (c[i] == '_') {
      ++i;
      if (i < c.size() && c[i] == '_') ++i;
    } else if (c[i] == '-') {
      while (i < c.size() && c[i] == '-') ++i;
    } else {
      return false;
    }
    if (i == start || i >= c.size() || !IsAlnumLower(c[i])) return false;
  }
  return true;
}

Status ValidateRepositoryName(std::string_view name) {
  if (name.empty() || name.size() > kMaxRepositoryNameLength) {
    return Status(ErrorCode::kNameInvalid, "invalid repository name",
                  "a name has 1 to " + std::to_string(kMaxRepositoryNameLength) + " characters");
  }
  size_t start = 0;
  while (true) {
    size_t slash = name.find('/', start);
    std::string_view comp = name.substr(start, slash == std::string_view::npos
                                                   ? std::string_view::npos
                                                   : slash - start);
    if (!ValidComponent(comp)) {
      return Status(ErrorCode::kNameInvalid, "invalid repository name",
                    "each path component must match [a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*");
    }
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return Status::Ok();
}

Status ValidateTag(std::string_view tag) {
  auto bad = [] {
    return Status(ErrorCode::kTagInvalid, "invalid tag",
                  "a tag must match [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}");
  };
  if (tag.empty() || tag.size() > 128) return bad();
  for (size_t i = 0; i < tag.size(); ++i) {
    char c = tag[i];
    bool word = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '_';
    if (!word && (i == 0 || (c != '.' && c != '-'))) return bad();
  }
  return Status::Ok();
}

}  // namespace arca
