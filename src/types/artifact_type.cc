#include "types/artifact_type.h"

#include <nlohmann/json.hpp>

#include "types/json_limits.h"
#include "types/svg_sanitizer.h"

namespace arca {
namespace {

using json = nlohmann::json;

bool IsTokenChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$&^_.+-").find(c) != std::string_view::npos;
}

bool IsHttpUrl(const std::string& s) {
  return (s.starts_with("https://") || s.starts_with("http://")) && s.size() < 2048 &&
         s.find_first_of(" \t\r\n\"<>") == std::string::npos;
}

// Markup rather than a file name; whether it is an acceptable SVG is CheckSvgIsInert's call
// (a leading DOCTYPE or comment included, so that its refusal says why).
bool LooksLikeSvg(std::string_view s) {
  size_t i = s.find_first_not_of(" \t\r\n");
  if (i == std::string_view::npos) return false;
  s = s.substr(i);
  return s.starts_with("<svg") || s.starts_with("<?xml") || s.starts_with("<!");
}

bool IsPointer(const std::string& p) {
  if (p.empty()) return true;
  if (p[0] != '/') return false;
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] == '~' && (i + 1 >= p.size() || (p[i + 1] != '0' && p[i + 1] != '1'))) return false;
  }
  return true;
}

bool IsFieldName(const std::string& n) {
  if (n.empty() || n.size() > 64) return false;
  for (char c : n) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-')) return false;
  }
  return true;
}

}  // namespace

bool IsMediaType(std::string_view s) {
  size_t slash = s.find('/');
  if (s.size() > 255 || slash == std::string_view::npos || slash == 0 || slash + 1 >= s.size()) {
    return false;
  }
  for (size_t i = 0; i < s.size(); ++i) {
    if (i != slash && !IsTokenChar(s[i])) return false;
  }
  return true;
}

bool ArtifactType::AllowsLayer(std::string_view t) const {
  if (layer_media_types.empty()) return true;
  for (const std::string& p : layer_media_types) {
    if (!p.empty() && p.back() == '*') {
      if (t.starts_with(std::string_view(p).substr(0, p.size() - 1))) return true;
    } else if (t == p) {
      return true;
    }
  }
  return false;
}

Result<ArtifactType> ParseArtifactType(std::string_view json_text, const std::string& origin,
                                       const LogoReader& read_logo) {
  auto bad = [&](const std::string& field, const std::string& why) {
    return Status(ErrorCode::kManifestInvalid, "invalid artifact type definition",
                  origin + ": " + field + ": " + why);
  };
  auto parsed = ParseJsonBounded(json_text);
  if (!parsed.ok()) return bad("(document)", parsed.status().detail());
  const json& doc = *parsed;
  if (!doc.is_object()) return bad("(document)", "not a JSON object");
  static const char* kKnown[] = {"mediaType", "title", "description", "layerMediaTypes", "logo",
                                 "configSchema", "indexFields", "version", "specUrl",
                                 "moreInfoUrl", "$schema"};
  for (const auto& [k, v] : doc.items()) {
    bool known = false;
    for (const char* n : kKnown) known = known || k == n;
    if (!known) return bad(k, "unknown field");
  }
  ArtifactType t;
  auto str = [&](const char* k, std::string& out, bool required) -> Status {
    auto it = doc.find(k);
    if (it == doc.end()) return required ? bad(k, "is required") : Status::Ok();
    if (!it->is_string()) return bad(k, "must be a string");
    out = it->get<std::string>();
    if (required && out.empty()) return bad(k, "must not be empty");
    return Status::Ok();
  };
  ARCA_RETURN_IF_ERROR(str("mediaType", t.media_type, true));
  if (!IsMediaType(t.media_type)) return bad("mediaType", "\"" + t.media_type + "\" is not a media type");
  ARCA_RETURN_IF_ERROR(str("title", t.title, true));
  if (t.title.size() > 200) return bad("title", "longer than 200 characters");
  ARCA_RETURN_IF_ERROR(str("description", t.description, false));
  ARCA_RETURN_IF_ERROR(str("version", t.version, false));
  ARCA_RETURN_IF_ERROR(str("specUrl", t.spec_url, false));
  ARCA_RETURN_IF_ERROR(str("moreInfoUrl", t.more_info_url, false));
  if (!t.spec_url.empty() && !IsHttpUrl(t.spec_url)) return bad("specUrl", "not an http(s) URL");
  if (!t.more_info_url.empty() && !IsHttpUrl(t.more_info_url)) return bad("moreInfoUrl", "not an http(s) URL");
  if (auto it = doc.find("layerMediaTypes"); it != doc.end()) {
    if (!it->is_array()) return bad("layerMediaTypes", "must be an array of media types");
    for (const auto& v : *it) {
      std::string p = v.is_string() ? v.get<std::string>() : "";
      std::string stem = !p.empty() && p.back() == '*' ? p.substr(0, p.size() - 1) : p;
      bool ok = p == "*" || IsMediaType(stem) || (stem.find('/') != std::string::npos && !stem.empty() && stem.back() == '/');
      if (!v.is_string() || !ok) return bad("layerMediaTypes", "\"" + v.dump() + "\" is not a media type or prefix*");
      t.layer_media_types.push_back(p);
    }
  }
  std::string logo;
  ARCA_RETURN_IF_ERROR(str("logo", logo, false));
  if (LooksLikeSvg(logo)) {
    t.logo_svg = logo;
  } else if (!logo.empty()) {
    if (logo.find('/') != std::string::npos || logo.find('\\') != std::string::npos ||
        logo.starts_with(".") || !logo.ends_with(".svg") || logo.size() > 128) {
      return bad("logo", "must be inline SVG or a plain .svg file name beside the definition");
    }
    auto content = read_logo(logo);
    if (!content.ok()) return bad("logo", "cannot read " + logo + ": " + content.status().detail());
    if (!LooksLikeSvg(*content)) return bad("logo", logo + " is not an SVG document");
    t.logo_svg = std::move(*content);
  }
  if (!t.logo_svg.empty()) {
    Status inert = CheckSvgIsInert(t.logo_svg);
    if (!inert.ok()) return bad("logo", inert.detail());
  }
  if (auto it = doc.find("configSchema"); it != doc.end()) {
    if (!it->is_object()) return bad("configSchema", "must be a JSON Schema object");
    auto schema = JsonSchema::Parse(it->dump());
    if (!schema.ok()) return bad("configSchema", schema.status().detail());
    t.config_schema = std::move(*schema);
  }
  if (auto it = doc.find("indexFields"); it != doc.end()) {
    if (!it->is_object()) return bad("indexFields", "must map field names to JSON Pointers");
    for (const auto& [name, ptr] : it->items()) {
      if (!IsFieldName(name)) return bad("indexFields." + name, "field names are [A-Za-z0-9_.-]{1,64}");
      if (!ptr.is_string() || !IsPointer(ptr.get<std::string>()) || ptr.get<std::string>().empty()) {
        return bad("indexFields." + name, "must be a JSON Pointer starting with \"/\"");
      }
      t.index_fields.emplace_back(name, ptr.get<std::string>());
    }
  }
  t.document = doc.dump();
  return t;
}

}  // namespace arca
