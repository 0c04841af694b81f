#include "types/manifest.h"

#include <gtest/gtest.h>

#include "types/json_limits.h"
#include "types/media_types.h"

namespace arca {
namespace {

std::string D(char c) { return "sha256:" + std::string(64, c); }

std::string Image(const std::string& extra = "") {
  return R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
         R"("config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
         D('a') + R"(","size":10},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":")" +
         D('b') + R"(","size":20}])" + extra + "}";
}

TEST(ManifestTest, ParsesImageManifest) {
  auto m = ParseManifest("application/vnd.oci.image.manifest.v1+json", Image());
  ASSERT_TRUE(m.ok()) << m.status().detail();
  EXPECT_EQ(m->media_type, media::kOciManifest);
  EXPECT_EQ(m->config_media_type, "application/vnd.oci.image.config.v1+json");
  ASSERT_EQ(m->refs.size(), 2u);
  EXPECT_EQ(m->refs[0].kind, RefKind::kConfig);
  EXPECT_EQ(m->refs[1].kind, RefKind::kLayer);
  EXPECT_EQ(m->refs[1].descriptor.size, 20u);
  EXPECT_EQ(m->EffectiveArtifactType(), "application/vnd.oci.image.config.v1+json");
}

TEST(ManifestTest, ArtifactTypeSubjectAnnotations) {
  auto m = ParseManifest("", Image(R"(,"artifactType":"application/x.sig","subject":{"mediaType":)"
                                   R"("application/vnd.oci.image.manifest.v1+json","digest":")" +
                                   D('c') + R"(","size":5},"annotations":{"k":"v"})"));
  ASSERT_TRUE(m.ok()) << m.status().detail();
  EXPECT_EQ(m->EffectiveArtifactType(), "application/x.sig");
  ASSERT_TRUE(m->subject.has_value());
  EXPECT_EQ(m->subject->digest.str(), D('c'));
  EXPECT_EQ(m->annotations_json, R"({"k":"v"})");
}

TEST(ManifestTest, ContentTypeMayCarryParametersButMustAgree) {
  EXPECT_TRUE(ParseManifest("application/vnd.oci.image.manifest.v1+json; charset=utf-8", Image()).ok());
  auto m = ParseManifest(std::string(media::kDockerManifest), Image());
  EXPECT_EQ(m.status().code(), ErrorCode::kManifestInvalid);
}

TEST(ManifestTest, MediaTypeFromContentTypeWhenFieldMissing) {
  std::string body = R"({"schemaVersion":2,"manifests":[]})";
  auto m = ParseManifest(std::string(media::kOciIndex), body);
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(m->refs.empty());
  EXPECT_EQ(ParseManifest("", body).status().code(), ErrorCode::kManifestInvalid);
}

TEST(ManifestTest, IndexChildrenAndForeignLayers) {
  std::string index = R"({"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[{"mediaType":"application/vnd.docker.distribution.manifest.v2+json","digest":")" +
                      D('d') + R"(","size":7,"platform":{"os":"linux","architecture":"amd64"}}]})";
  auto m = ParseManifest("", index);
  ASSERT_TRUE(m.ok()) << m.status().detail();
  ASSERT_EQ(m->refs.size(), 1u);
  EXPECT_EQ(m->refs[0].kind, RefKind::kManifest);
  EXPECT_TRUE(m->config_media_type.empty());

  std::string win = R"({"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":")" +
                    D('a') + R"(","size":1},"layers":[{"mediaType":"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip","digest":")" +
                    D('e') + R"(","size":9,"urls":["https://example.invalid/l"]}]})";
  auto w = ParseManifest("", win);
  ASSERT_TRUE(w.ok()) << w.status().detail();
  EXPECT_TRUE(w->refs[1].foreign);
  EXPECT_FALSE(w->refs[0].foreign);
}

TEST(ManifestTest, RejectsInvalid) {
  struct Case {
    const char* why;
    std::string body;
  };
  std::vector<Case> cases = {
      {"not json", "{"},
      {"not an object", "[]"},
      {"no schemaVersion", R"({"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]})"},
      {"schemaVersion 3", R"({"schemaVersion":3,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]})"},
      {"unknown type", R"({"schemaVersion":2,"mediaType":"application/json","manifests":[]})"},
      {"no config", R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[]})"},
      {"bad digest", R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"a/b","digest":"sha256:xyz","size":1}]})"},
      {"negative size", R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"a/b","digest":")" + D('a') + R"(","size":-1}]})"},
      {"size as string", R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"a/b","digest":")" + D('a') + R"(","size":"1"}]})"},
      {"annotation not a string", Image(R"(,"annotations":{"k":1})")},
      {"index with layers", R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[],"layers":[]})"},
  };
  for (const auto& c : cases) {
    auto m = ParseManifest("", c.body);
    EXPECT_EQ(m.status().code(), ErrorCode::kManifestInvalid) << c.why;
  }
}

TEST(ManifestTest, Schema1IsRefusedClearly) {
  auto m = ParseManifest(std::string(media::kDockerSchema1Signed), R"({"schemaVersion":1,"name":"x"})");
  EXPECT_EQ(m.status().code(), ErrorCode::kManifestInvalid);
  EXPECT_NE(m.status().message().find("schema1"), std::string::npos);
}

// issue 9: an extension field nested 100,000 deep is refused while parsing, naming the limit.
TEST(ManifestTest, NestingPastTheJsonDepthLimitIsInvalid) {
  std::string deep = std::string(100000, '[') + std::string(100000, ']');
  auto m = ParseManifest("", Image(",\"x-extra\":" + deep));
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), ErrorCode::kManifestInvalid);
  EXPECT_NE(m.status().detail().find("deeper than " + std::to_string(kMaxJsonDepth) + " levels"),
            std::string::npos)
      << m.status().detail();
  // Extension fields as deep as the limit allows are fine.
  std::string ok = std::string(kMaxJsonDepth - 1, '[') + std::string(kMaxJsonDepth - 1, ']');
  EXPECT_TRUE(ParseManifest("", Image(",\"x-extra\":" + ok)).ok());
}

// cnab-to-oci sends its bundle config manifest with "layers": null (Go's image-spec type has
// no omitempty); a manifest without layers at all means the same: no layers.
TEST(ManifestTest, NullOrMissingLayersAreNoLayers) {
  std::string head = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
                     R"("config":{"mediaType":"application/vnd.cnab.config.v1+json","digest":")" +
                     D('a') + R"(","size":10})";
  for (const std::string& body : {head + R"(,"layers":null})", head + "}"}) {
    auto m = ParseManifest("application/vnd.oci.image.manifest.v1+json", body);
    ASSERT_TRUE(m.ok()) << body << " -> " << m.status().detail();
    ASSERT_EQ(m->refs.size(), 1u);
    EXPECT_EQ(m->refs[0].kind, RefKind::kConfig);
    EXPECT_EQ(IdentifyArtifactType(*m), "application/vnd.cnab.config.v1+json");
  }
  std::string docker = R"({"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",)"
                       R"("config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":")" +
                       D('a') + R"(","size":10},"layers":null})";
  EXPECT_TRUE(ParseManifest("", docker).ok());
  // Any other non-array is still refused.
  for (const char* layers : {R"("")", "{}", "0", "false"}) {
    auto m = ParseManifest("", head + ",\"layers\":" + layers + "}");
    EXPECT_EQ(m.status().code(), ErrorCode::kManifestInvalid) << layers;
  }
}

TEST(ManifestTest, TooLarge) {
  std::string big = Image(",\"annotations\":{\"pad\":\"" + std::string(kMaxManifestBytes, 'x') + "\"}");
  EXPECT_EQ(ParseManifest("", big).status().code(), ErrorCode::kTooLarge);
}

}  // namespace
}  // namespace arca
