#include "types/manifest.h"

#include <nlohmann/json.hpp>

#include "types/artifact_type.h"
#include "types/json_limits.h"
#include "types/media_types.h"

namespace arca {
namespace {

using json = nlohmann::json;

Status Invalid(std::string detail) {
  return Status(ErrorCode::kManifestInvalid, "manifest invalid", std::move(detail));
}

std::string_view StripParams(std::string_view ct) {
  size_t semi = ct.find(';');
  if (semi != std::string_view::npos) ct = ct.substr(0, semi);
  while (!ct.empty() && (ct.back() == ' ' || ct.back() == '\t')) ct.remove_suffix(1);
  while (!ct.empty() && (ct.front() == ' ' || ct.front() == '\t')) ct.remove_prefix(1);
  return ct;
}

Result<std::string> OptionalString(const json& obj, const char* key, const std::string& where) {
  auto it = obj.find(key);
  if (it == obj.end()) return std::string();
  if (!it->is_string()) return Invalid(where + key + " must be a string");
  return it->get<std::string>();
}

Status CheckAnnotations(const json& obj, const std::string& where) {
  auto it = obj.find("annotations");
  if (it == obj.end()) return Status::Ok();
  if (!it->is_object()) return Invalid(where + "annotations must be an object");
  for (const auto& [k, v] : it->items()) {
    if (!v.is_string()) return Invalid(where + "annotations." + k + " must be a string");
  }
  return Status::Ok();
}

Result<Descriptor> ParseDescriptor(const json& j, const std::string& where) {
  if (!j.is_object()) return Invalid(where + " must be an object");
  Descriptor d{"", Digest::Of(DigestAlgorithm::kSha256, ""), 0, "", {}};
  auto mt = j.find("mediaType");
  if (mt == j.end() || !mt->is_string() || mt->get_ref<const std::string&>().empty()) {
    return Invalid(where + ".mediaType is required");
  }
  d.media_type = mt->get<std::string>();
  auto dg = j.find("digest");
  if (dg == j.end() || !dg->is_string()) return Invalid(where + ".digest is required");
  auto digest = Digest::Parse(dg->get_ref<const std::string&>());
  if (!digest.ok()) return Invalid(where + ".digest: " + digest.status().detail());
  d.digest = *digest;
  auto sz = j.find("size");
  if (sz == j.end() || !sz->is_number_integer() || (sz->is_number_integer() && !sz->is_number_unsigned() && sz->get<int64_t>() < 0)) {
    return Invalid(where + ".size must be a non-negative integer");
  }
  d.size = sz->get<uint64_t>();
  auto at = OptionalString(j, "artifactType", where + ".");
  if (!at.ok()) return at.status();
  d.artifact_type = *at;
  auto urls = j.find("urls");
  if (urls != j.end()) {
    if (!urls->is_array()) return Invalid(where + ".urls must be an array");
    for (const auto& u : *urls) {
      if (!u.is_string() || u.get_ref<const std::string&>().empty() || u.get_ref<const std::string&>().size() > 2048) {
        return Invalid(where + ".urls must hold non-empty strings of at most 2048 characters");
      }
      d.urls.push_back(u.get<std::string>());
    }
  }
  ARCA_RETURN_IF_ERROR(CheckAnnotations(j, where + "."));
  return d;
}

Result<std::string> ResolveMediaType(std::string_view content_type, const json& doc) {
  auto field = OptionalString(doc, "mediaType", "");
  if (!field.ok()) return field.status();
  std::string ct(StripParams(content_type));
  for (std::string_view t : {std::string_view(ct), std::string_view(*field)}) {
    if (t == media::kDockerSchema1 || t == media::kDockerSchema1Signed) {
      return Status(ErrorCode::kManifestInvalid, "schema1 manifests are not supported",
                    "Docker schema1 is deprecated; push a Docker schema2 or OCI manifest");
    }
  }
  if (!ct.empty() && !field->empty() && ct != *field) {
    return Invalid("mediaType \"" + *field + "\" does not match Content-Type \"" + ct + "\"");
  }
  std::string type = ct.empty() ? *field : ct;
  if (type.empty()) return Invalid("no media type: send Content-Type or set mediaType");
  if (!media::IsSupportedManifest(type)) {
    return Status(ErrorCode::kManifestInvalid, "unsupported manifest media type",
                  "\"" + type + "\" is not one of: " + std::string(media::kOciManifest) + ", " +
                      std::string(media::kOciIndex) + ", " + std::string(media::kDockerManifest) +
                      ", " + std::string(media::kDockerManifestList));
  }
  return type;
}

Status ParseImageParts(const json& doc, ParsedManifest& m) {
  if (doc.contains("manifests")) return Invalid("an image manifest has no manifests field");
  auto cfg = doc.find("config");
  if (cfg == doc.end()) return Invalid("config is required");
  auto config = ParseDescriptor(*cfg, "config");
  if (!config.ok()) return config.status();
  m.config_media_type = config->media_type;
  m.refs.push_back({RefKind::kConfig, *config, false});
  // A missing or null `layers` is no layers: Go's image-spec type has no omitempty, so
  // cnab-to-oci (and anything built on that type) sends "layers": null for a config-only
  // manifest. CNCF Distribution accepts it; the bytes are stored as sent either way.
  auto layers = doc.find("layers");
  if (layers == doc.end() || layers->is_null()) return Status::Ok();
  if (!layers->is_array()) return Invalid("layers must be an array");
  for (size_t i = 0; i < layers->size(); ++i) {
    auto d = ParseDescriptor((*layers)[i], "layers[" + std::to_string(i) + "]");
    if (!d.ok()) return d.status();
    bool foreign = media::IsNonDistributable(d->media_type);
    m.refs.push_back({RefKind::kLayer, *d, foreign});
  }
  return Status::Ok();
}

// The platform objects of an index's children, for listings.
std::string ChildPlatforms(const json& children) {
  json out = json::array();
  for (const auto& c : children) {
    auto p = c.find("platform");
    if (p == c.end() || !p->is_object()) continue;
    json entry = {{"digest", c.value("digest", "")}};
    for (const char* k : {"os", "architecture", "variant", "os.version"}) {
      if (auto v = p->find(k); v != p->end() && v->is_string()) entry[k] = *v;
    }
    out.push_back(std::move(entry));
  }
  return out.empty() ? "" : out.dump();
}

Status ParseIndexParts(const json& doc, ParsedManifest& m) {
  if (doc.contains("config") || doc.contains("layers")) {
    return Invalid("an index has no config or layers field");
  }
  auto children = doc.find("manifests");
  if (children == doc.end() || !children->is_array()) return Invalid("manifests must be an array");
  for (size_t i = 0; i < children->size(); ++i) {
    auto d = ParseDescriptor((*children)[i], "manifests[" + std::to_string(i) + "]");
    if (!d.ok()) return d.status();
    m.refs.push_back({RefKind::kManifest, *d, false});
  }
  m.child_platforms_json = ChildPlatforms(*children);
  return Status::Ok();
}

}  // namespace

Result<ParsedManifest> ParseManifest(std::string_view content_type, std::string_view bytes) {
  if (bytes.size() > kMaxManifestBytes) {
    return Status(ErrorCode::kTooLarge, "manifest too large", "the limit is 4 MiB");
  }
  auto parsed = ParseJsonBounded(bytes);
  if (!parsed.ok()) return Invalid("the body: " + parsed.status().detail());
  const json& doc = *parsed;
  if (!doc.is_object()) return Invalid("a manifest is a JSON object");
  auto sv = doc.find("schemaVersion");
  if (sv != doc.end() && sv->is_number_integer() && sv->get<int64_t>() == 1) {
    return Status(ErrorCode::kManifestInvalid, "schema1 manifests are not supported",
                  "Docker schema1 is deprecated; push a Docker schema2 or OCI manifest");
  }
  if (sv == doc.end() || !sv->is_number_integer() || sv->get<int64_t>() != 2) {
    return Invalid("schemaVersion must be 2");
  }
  auto type = ResolveMediaType(content_type, doc);
  if (!type.ok()) return type.status();
  ParsedManifest m;
  m.media_type = *type;
  auto at = OptionalString(doc, "artifactType", "");
  if (!at.ok()) return at.status();
  m.artifact_type = *at;
  if (!m.artifact_type.empty() && !IsMediaType(m.artifact_type)) {
    return Invalid("artifactType \"" + m.artifact_type.substr(0, 256) + "\" is not a media type (RFC 6838)");
  }
  ARCA_RETURN_IF_ERROR(media::IsIndex(m.media_type) ? ParseIndexParts(doc, m)
                                                    : ParseImageParts(doc, m));
  auto subject = doc.find("subject");
  if (subject != doc.end()) {
    auto d = ParseDescriptor(*subject, "subject");
    if (!d.ok()) return d.status();
    m.subject = *d;
  }
  ARCA_RETURN_IF_ERROR(CheckAnnotations(doc, ""));
  auto ann = doc.find("annotations");
  if (ann != doc.end() && !ann->empty()) {
    m.annotations_json = ann->dump();
    auto legacy = ann->find(std::string(kLegacyArtifactTypeAnnotation));
    if (legacy != ann->end() && legacy->is_string()) m.annotation_artifact_type = *legacy;
  }
  return m;
}

std::string IdentifyArtifactType(const ParsedManifest& m) {
  if (!m.artifact_type.empty()) return m.artifact_type;
  if (!media::IsIndex(m.media_type)) return m.config_media_type;
  if (!m.annotation_artifact_type.empty()) return m.annotation_artifact_type;
  bool all_images = !m.refs.empty();
  for (const ManifestRef& r : m.refs) {
    all_images = all_images && media::IsImageManifest(r.descriptor.media_type);
  }
  return all_images ? std::string(media::kOciIndex) : m.media_type;
}

}  // namespace arca
