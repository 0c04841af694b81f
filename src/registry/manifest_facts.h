// What Arca indexes about a manifest at push: the platform(s) and creation time of images,
// and the fields a type's definition names, read from the config blob.
#pragma once

#include <string>

#include "meta/meta_store.h"
#include "types/artifact_type.h"
#include "types/manifest.h"

namespace arca {

// Configs larger than this are stored but not read for indexing or schema checks.
inline constexpr uint64_t kMaxIndexedConfigBytes = 1 << 20;

// Fills record.platforms_json, record.created and record.fields_json from the parsed
// manifest and its config (null when there is none or it was not read). A config that is not
// JSON, or nests deeper than kMaxJsonDepth, adds nothing: the manifest is stored unindexed.
void IndexFacts(const ParsedManifest& manifest, const std::string* config_json,
                const ArtifactType* definition, ManifestRecord& record);

}  // namespace arca
