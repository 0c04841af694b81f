// Parsing and validating the manifests a registry must understand: OCI image manifest and
// index, Docker schema2 manifest and manifest list. Pure values; no storage is consulted here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "types/digest.h"
#include "util/status.h"

namespace arca {

inline constexpr size_t kMaxManifestBytes = 4 * 1024 * 1024;

struct Descriptor {
  std::string media_type;
  Digest digest;
  uint64_t size = 0;
  std::string artifact_type;
  std::vector<std::string> urls;  // where the content may be fetched from, when it lives elsewhere
};

// What a manifest points at, as the reference graph records it.
enum class RefKind { kConfig, kLayer, kManifest };

struct ManifestRef {
  RefKind kind;
  Descriptor descriptor;
  // May be absent locally (recorded as foreign then): set by the parser for non-distributable
  // layers, and by the registry's foreign-content policy (docs/gc.md#foreign-content).
  bool foreign = false;
};

struct ParsedManifest {
  std::string media_type;         // resolved from Content-Type and the mediaType field
  std::string artifact_type;      // the manifest's own artifactType field, may be empty
  std::string config_media_type;  // empty for indexes
  std::optional<Descriptor> subject;
  std::vector<ManifestRef> refs;  // config, layers, child manifests in document order
  std::string annotations_json;   // the annotations object re-serialized, or empty
  std::string annotation_artifact_type;  // an index's legacy org.opencontainers.artifactType
  std::string child_platforms_json;      // an index's [{"digest","os","architecture",...}]

  // The type referrers listings report: artifactType, else config.mediaType.
  const std::string& EffectiveArtifactType() const {
    return artifact_type.empty() ? config_media_type : artifact_type;
  }
};

inline constexpr std::string_view kLegacyArtifactTypeAnnotation = "org.opencontainers.artifactType";

// The manifest's artifact type as Arca records it: artifactType; for an index then the legacy
// annotation, then the OCI index media type when every child is an image, else the index's
// own media type; for an image manifest its config media type.
std::string IdentifyArtifactType(const ParsedManifest& m);

// Validates bytes as a manifest of content_type (the request's Content-Type, parameters
// allowed, may be empty). MANIFEST_INVALID names the first problem found; a body nested deeper
// than kMaxJsonDepth (types/json_limits.h) is one.
Result<ParsedManifest> ParseManifest(std::string_view content_type, std::string_view bytes);

}  // namespace arca
