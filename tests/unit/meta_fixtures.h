// Small builders shared by the MetaStore and garbage-collection tests.
#pragma once

#include <string>
#include <vector>

#include "meta/meta_store.h"

namespace arca {

// A valid digest named by one character.
inline std::string D(char c) { return Digest::Of(DigestAlgorithm::kSha256, std::string(1, c)).str(); }

inline Descriptor Desc(const std::string& digest, uint64_t size, const std::string& type = "a/b") {
  return Descriptor{type, *Digest::Parse(digest), size, "", {}};
}

inline NewManifest Manifest(const std::string& digest, std::vector<ManifestRef> refs,
                     std::vector<std::string> tags = {}, const std::string& subject = "",
                     const std::string& artifact_type = "") {
  NewManifest m;
  m.record.digest = digest;
  m.record.media_type = "application/vnd.oci.image.manifest.v1+json";
  m.record.content = "{\"x\":\"" + digest + "\"}";
  m.record.size = m.record.content.size();
  m.record.subject = subject;
  m.record.artifact_type = artifact_type;
  m.record.config_media_type = "application/vnd.oci.image.config.v1+json";
  m.refs = std::move(refs);
  m.tags = std::move(tags);
  return m;
}

}  // namespace arca
