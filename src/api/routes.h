// Mapping a /v2/ request path to the resource it names. Pure: no registry access.
#pragma once

#include <string>
#include <string_view>

#include "util/status.h"

namespace arca::api {

struct Route {
  enum Kind { kBase, kCatalog, kBlob, kUploads, kUpload, kManifest, kTags, kReferrers };
  Kind kind = kBase;
  std::string name;  // repository, validated against the spec's grammar
  std::string arg;   // digest, upload id or manifest reference (percent-decoded)
};

// NOT_FOUND for paths outside the API; NAME_INVALID for a repository name that breaks the
// grammar (this is where "..", "%2f" and friends are stopped).
Result<Route> ParseRoute(std::string_view path);

}  // namespace arca::api
