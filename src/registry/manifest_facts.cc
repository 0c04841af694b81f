#include "registry/manifest_facts.h"

#include <nlohmann/json.hpp>

#include "types/json_limits.h"

namespace arca {

using json = nlohmann::json;

static bool IsImageConfig(const std::string& media_type) {
  return media_type == "application/vnd.oci.image.config.v1+json" ||
         media_type == "application/vnd.docker.container.image.v1+json";
}

void IndexFacts(const ParsedManifest& m, const std::string* config_json,
                const ArtifactType* def, ManifestRecord& record) {
  record.platforms_json = m.child_platforms_json;
  if (!config_json) return;
  // A config nested past the limit is stored but not indexed, like one over
  // kMaxIndexedConfigBytes: image-spec asks registries not to refuse configs they do not
  // understand, so the push stands (as in CNCF Distribution) and only the facts are missing.
  // Bounding it here is what keeps the copy and dump() below off a deep tree.
  auto parsed = ParseJsonBounded(*config_json);
  if (!parsed.ok() || !parsed->is_object()) return;
  const json& config = *parsed;
  if (IsImageConfig(m.config_media_type)) {
    json platform = json::object();
    for (const char* k : {"os", "architecture", "variant", "os.version"}) {
      if (auto v = config.find(k); v != config.end() && v->is_string()) platform[k] = *v;
    }
    if (!platform.empty()) record.platforms_json = json::array({platform}).dump();
    if (auto c = config.find("created"); c != config.end() && c->is_string()) record.created = *c;
  }
  if (!def || def->index_fields.empty()) return;
  json fields = json::object();
  for (const auto& [name, pointer] : def->index_fields) {
    try {
      json::json_pointer ptr(pointer);
      if (config.contains(ptr)) fields[name] = config.at(ptr);
    } catch (const json::exception&) {
      // A pointer that does not fit this config (an array index into an object...): skip.
    }
  }
  if (!fields.empty()) record.fields_json = fields.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace arca
