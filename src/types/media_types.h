// Media types the registry itself must understand to validate and link manifests.
#pragma once

#include <string_view>

namespace arca::media {

inline constexpr std::string_view kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kDockerManifest =
    "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kDockerManifestList =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view kDockerSchema1 =
    "application/vnd.docker.distribution.manifest.v1+json";
inline constexpr std::string_view kDockerSchema1Signed =
    "application/vnd.docker.distribution.manifest.v1+prettyjws";
inline constexpr std::string_view kOciEmpty = "application/vnd.oci.empty.v1+json";

inline bool IsIndex(std::string_view t) { return t == kOciIndex || t == kDockerManifestList; }
inline bool IsImageManifest(std::string_view t) { return t == kOciManifest || t == kDockerManifest; }
inline bool IsSupportedManifest(std::string_view t) { return IsIndex(t) || IsImageManifest(t); }

// Layers that by design live outside the registry (Windows base layers, non-distributable
// OCI layers): a manifest may name them without the blob being present.
inline bool IsNonDistributable(std::string_view t) {
  return t.starts_with("application/vnd.docker.image.rootfs.foreign.") ||
         t.starts_with("application/vnd.oci.image.layer.nondistributable.");
}

}  // namespace arca::media
