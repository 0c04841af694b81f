#include "types/reference.h"

#include "types/names.h"

namespace arca {

Result<Reference> Reference::Parse(std::string_view text) {
  Reference r;
  if (text.find(':') != std::string_view::npos) {
    auto d = Digest::Parse(text);
    if (!d.ok()) return d.status();
    r.digest = *d;
    return r;
  }
  ARCA_RETURN_IF_ERROR(ValidateTag(text));
  r.tag = std::string(text);
  return r;
}

}  // namespace arca
