#include "registry/manifest_facts.h"

#include <gtest/gtest.h>

#include <string>

namespace arca {
namespace {

ParsedManifest ImageManifest() {
  ParsedManifest m;
  m.media_type = "application/vnd.oci.image.manifest.v1+json";
  m.config_media_type = "application/vnd.oci.image.config.v1+json";
  return m;
}

ArtifactType IndexesOs() {
  ArtifactType t;
  t.media_type = "application/vnd.oci.image.config.v1+json";
  t.index_fields = {{"os", "/os"}, {"arch", "/architecture"}};
  return t;
}

TEST(ManifestFactsTest, IndexesPlatformAndFields) {
  ManifestRecord r;
  std::string config = R"({"os":"linux","architecture":"arm64","created":"2024-01-01T00:00:00Z"})";
  ArtifactType def = IndexesOs();
  IndexFacts(ImageManifest(), &config, &def, r);
  EXPECT_EQ(r.platforms_json, R"([{"architecture":"arm64","os":"linux"}])");
  EXPECT_EQ(r.created, "2024-01-01T00:00:00Z");
  EXPECT_EQ(r.fields_json, R"({"arch":"arm64","os":"linux"})");
}

// issue 9: "os" nested 100,000 arrays deep used to be copied by config.at() and dump()ed, both
// recursive, and the manifest PUT died with SIGSEGV. Now the config is stored unindexed.
TEST(ManifestFactsTest, AConfigPastTheDepthLimitIsNotIndexed) {
  ManifestRecord r;
  std::string config = R"({"architecture":"arm64","os":)" + std::string(100000, '[') + "\"linux\"" +
                       std::string(100000, ']') + "}";
  ArtifactType def = IndexesOs();
  IndexFacts(ImageManifest(), &config, &def, r);
  EXPECT_EQ(r.platforms_json, "");
  EXPECT_EQ(r.fields_json, "");
}

TEST(ManifestFactsTest, AConfigThatIsNotJsonIsNotIndexed) {
  ManifestRecord r;
  std::string config = "apiVersion: v2\n";
  ArtifactType def = IndexesOs();
  IndexFacts(ImageManifest(), &config, &def, r);
  EXPECT_EQ(r.fields_json, "");
}

}  // namespace
}  // namespace arca
