// Repository patterns in grants: path components separated by '/', each a literal
// component, or '*' (any one component); the last may be '**' (one or more components).
// "team/app" is one repository, "team/*" its direct children, "team/**" everything under it
// (not "team" itself), "**" every repository. Matching is linear in the name.
#pragma once

#include <string_view>

#include "util/status.h"

namespace arca::auth {

// NAME_INVALID naming what is wrong: an empty component, '**' before the end, a '*' inside
// a component ("team-*"), or a literal component outside the repository grammar.
Status ValidatePattern(std::string_view pattern);
bool PatternMatches(std::string_view pattern, std::string_view repository);

}  // namespace arca::auth
