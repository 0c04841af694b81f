// Artifact type definitions: what an operator writes to teach Arca a type (format in
// docs/artifact-types.md), parsed and validated into a value. Pure: files are read by the
// caller through the logo reader.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "types/json_schema.h"
#include "util/status.h"

namespace arca {

struct ArtifactType {
  std::string media_type;  // the identifier
  std::string title;
  std::string description;
  std::vector<std::string> layer_media_types;  // patterns; "*" at the end is a wildcard
  std::string logo_svg;                        // the SVG itself, or empty
  std::optional<JsonSchema> config_schema;
  std::vector<std::pair<std::string, std::string>> index_fields;  // name -> JSON Pointer
  std::string version, spec_url, more_info_url;
  std::string source;    // "builtin", "file" or "api"
  std::string document;  // the definition as written (logo file names unresolved)

  // True when layer media type t is allowed (an empty list allows every layer).
  bool AllowsLayer(std::string_view t) const;
};

// Reads the logo file a definition names (a plain file name, already checked).
using LogoReader = std::function<Result<std::string>(const std::string& file_name)>;

// Parses and validates a definition. Errors are MANIFEST_INVALID and their detail names
// `origin` (a file name, or "request") and the field at fault.
Result<ArtifactType> ParseArtifactType(std::string_view json_text, const std::string& origin,
                                       const LogoReader& read_logo);

// True when s looks like a media type: type "/" subtype, printable, no spaces.
bool IsMediaType(std::string_view s);

}  // namespace arca
