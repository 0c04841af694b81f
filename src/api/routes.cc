#include "api/routes.h"

#include <vector>

#include "http/message.h"
#include "types/names.h"

namespace arca::api {

static std::vector<std::string_view> Split(std::string_view s) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t slash = s.find('/', start);
    out.push_back(s.substr(start, slash == std::string_view::npos ? slash : slash - start));
    if (slash == std::string_view::npos) return out;
    start = slash + 1;
  }
}

Result<Route> ParseRoute(std::string_view path) {
  Status not_found(ErrorCode::kNotFound, "no such endpoint", std::string(path.substr(0, 256)));
  if (path == "/v2" || path == "/v2/") return Route{Route::kBase, "", ""};
  if (!path.starts_with("/v2/")) return not_found;
  std::string_view rest = path.substr(4);
  if (rest == "_catalog") return Route{Route::kCatalog, "", ""};
  auto segs = Split(rest);
  size_t n = segs.size();
  Route route;
  size_t name_segments = 0;
  if (n >= 3 && segs[n - 2] == "tags" && segs[n - 1] == "list") {
    route.kind = Route::kTags;
    name_segments = n - 2;
  } else if (n >= 3 && segs[n - 2] == "manifests") {
    route.kind = Route::kManifest;
    name_segments = n - 2;
  } else if (n >= 4 && segs[n - 3] == "blobs" && segs[n - 2] == "uploads") {
    route.kind = segs[n - 1].empty() ? Route::kUploads : Route::kUpload;
    name_segments = n - 3;
  } else if (n >= 3 && segs[n - 2] == "blobs" && segs[n - 1] == "uploads") {
    route.kind = Route::kUploads;
    name_segments = n - 2;
  } else if (n >= 3 && segs[n - 2] == "blobs") {
    route.kind = Route::kBlob;
    name_segments = n - 2;
  } else if (n >= 3 && segs[n - 2] == "referrers") {
    route.kind = Route::kReferrers;
    name_segments = n - 2;
  } else {
    return not_found;
  }
  size_t name_len = 0;
  for (size_t i = 0; i < name_segments; ++i) name_len += segs[i].size() + 1;
  route.name = std::string(rest.substr(0, name_len - 1));
  ARCA_RETURN_IF_ERROR(ValidateRepositoryName(route.name));
  if (route.kind != Route::kTags && route.kind != Route::kUploads) {
    auto arg = http::PercentDecode(segs[n - 1]);
    if (!arg || arg->empty()) return not_found;
    route.arg = std::move(*arg);
  }
  return route;
}

}  // namespace arca::api
