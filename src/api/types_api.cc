// /arca/v1/types: list, read, add, replace and delete artifact type definitions, and serve
// their logos.
#include <nlohmann/json.hpp>

#include "api/api.h"
#include "api/errors.h"
#include "api/read_body.h"
#include "registry/type_catalog.h"
#include "types/json_limits.h"

namespace arca::api {
namespace {

using json = nlohmann::json;
constexpr size_t kMaxDefinitionBody = 1 << 20;

json Summary(const ArtifactType& t) {
  json fields = json::object();
  for (const auto& [name, ptr] : t.index_fields) fields[name] = ptr;
  return {{"mediaType", t.media_type},   {"title", t.title},
          {"description", t.description}, {"layerMediaTypes", t.layer_media_types},
          {"version", t.version},         {"specUrl", t.spec_url},
          {"moreInfoUrl", t.more_info_url}, {"source", t.source},
          {"hasLogo", !t.logo_svg.empty()}, {"hasConfigSchema", t.config_schema.has_value()},
          {"indexFields", fields}};
}

}  // namespace

Status Api::Types(const Route& route, http::Request& req, http::Response& res) {
  if (!types_) return Status(ErrorCode::kNotFound, "artifact types are not enabled");
  if (route.kind == Route::kTypes) {
    json list = json::array();
    for (const auto& t : types_->List()) list.push_back(Summary(*t));
    res.Set("Content-Type", "application/json");
    res.body = json{{"types", list}}.dump();
    return Status::Ok();
  }
  const std::string& id = route.arg;
  bool logo = route.kind == Route::kTypeLogo;
  if (!IsMediaType(id)) {
    if (req.method == "PUT" && !logo) {
      return Status(ErrorCode::kManifestInvalid, "invalid artifact type definition",
                    "request: mediaType: \"" + id.substr(0, 256) + "\" is not a media type");
    }
    return Status(ErrorCode::kNameUnknown, "no such artifact type", id.substr(0, 256));
  }
  if (logo || req.method == "GET" || req.method == "HEAD") {
    auto t = types_->Find(id);
    if (!t) return Status(ErrorCode::kNameUnknown, "no such artifact type", id);
    if (logo) {
      if (t->logo_svg.empty()) return Status(ErrorCode::kNotFound, "this type has no logo", id);
      res.Set("Content-Type", "image/svg+xml");
      // An SVG opened on its own must not run anything even if a check above missed it.
      res.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'");
      res.Set("X-Content-Type-Options", "nosniff");
      res.body = t->logo_svg;
      return Status::Ok();
    }
    // Arca wrote this document from a bounded parse; it goes through the same gate regardless.
    auto parsed = ParseJsonBounded(t->document);
    if (!parsed.ok() || !parsed->is_object()) {
      return Status(ErrorCode::kInternal, "stored type definition unreadable", id);
    }
    json doc = std::move(*parsed);
    doc.erase("logo");
    doc["source"] = t->source;
    doc["hasLogo"] = !t->logo_svg.empty();
    res.Set("Content-Type", "application/json");
    res.body = doc.dump();
    return Status::Ok();
  }
  if (req.method == "DELETE") {
    ARCA_RETURN_IF_ERROR(types_->Delete(id));
    res.status = 202;
    return Status::Ok();
  }
  auto body = ReadBounded(*req.body, kMaxDefinitionBody, "definition");
  if (!body.ok()) return body.status();
  auto created = types_->Put(id, *body);
  if (!created.ok()) return created.status();
  res.status = *created ? 201 : 200;
  res.Set("Location", "/arca/v1/types/" + id);
  res.Set("Content-Type", "application/json");
  // Another replica may have deleted it already: the summary of what was stored is then gone.
  auto stored = types_->Find(id);
  res.body = stored ? Summary(*stored).dump() : json{{"mediaType", id}}.dump();
  return Status::Ok();
}

}  // namespace arca::api
