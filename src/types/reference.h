// The <reference> of a manifest URL: a tag or a digest.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "types/digest.h"
#include "util/status.h"

namespace arca {

struct Reference {
  std::optional<Digest> digest;  // set when the reference is a digest
  std::string tag;               // set when it is a tag

  // A reference containing ':' must be a valid digest, anything else a valid tag; otherwise
  // DIGEST_INVALID or TAG_INVALID.
  static Result<Reference> Parse(std::string_view text);
  bool is_digest() const { return digest.has_value(); }
};

}  // namespace arca
