#include "types/artifact_type.h"

#include <gtest/gtest.h>

#include "types/json_limits.h"
#include "types/manifest.h"

namespace arca {
namespace {

const char kLogo[] = "<svg xmlns='http://www.w3.org/2000/svg'/>";

Result<std::string> NoFiles(const std::string& name) {
  return Status(ErrorCode::kNameUnknown, "no such file", name);
}

TEST(ArtifactTypeTest, ParsesAFullDefinition) {
  auto t = ParseArtifactType(R"({
    "mediaType": "application/vnd.example.thing.config.v1+json", "title": "Thing",
    "layerMediaTypes": ["application/vnd.example.thing.layer.v1+tar", "application/vnd.example.extra.*"],
    "logo": "<svg xmlns='http://www.w3.org/2000/svg'/>",
    "configSchema": {"type": "object", "required": ["name"]},
    "indexFields": {"name": "/name", "v": "/meta/version"}, "version": "1",
    "specUrl": "https://example.org/spec"})", "thing.json", NoFiles);
  ASSERT_TRUE(t.ok()) << t.status().detail();
  EXPECT_EQ(t->title, "Thing");
  EXPECT_TRUE(t->AllowsLayer("application/vnd.example.thing.layer.v1+tar"));
  EXPECT_TRUE(t->AllowsLayer("application/vnd.example.extra.anything"));
  EXPECT_FALSE(t->AllowsLayer("application/vnd.oci.image.layer.v1.tar"));
  ASSERT_TRUE(t->config_schema.has_value());
  EXPECT_FALSE(t->config_schema->Validate("{}").ok());
  ASSERT_EQ(t->index_fields.size(), 2u);
}

TEST(ArtifactTypeTest, LogoFilesAreReadBesideTheDefinition) {
  std::string asked;
  auto t = ParseArtifactType(R"({"mediaType":"a/b","title":"T","logo":"t.svg"})", "t.json",
                             [&](const std::string& name) -> Result<std::string> {
                               asked = name;
                               return std::string(kLogo);
                             });
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(asked, "t.svg");
  EXPECT_EQ(t->logo_svg, kLogo);
}

TEST(ArtifactTypeTest, ErrorsNameOriginAndField) {
  struct Case {
    const char* json;
    const char* field;
  };
  for (const Case& c : std::initializer_list<Case>{
           {R"({"title":"T"})", "mediaType"},
           {R"({"mediaType":"nota mediatype","title":"T"})", "mediaType"},
           {R"({"mediaType":"a/b"})", "title"},
           {R"({"mediaType":"a/b","title":"T","layerMediaTypes":"x"})", "layerMediaTypes"},
           {R"({"mediaType":"a/b","title":"T","logo":"../../etc/passwd.svg"})", "logo"},
           {R"({"mediaType":"a/b","title":"T","logo":"missing.svg"})", "logo"},
           {R"({"mediaType":"a/b","title":"T","logo":"<svg onload='alert(1)'/>"})", "logo"},
           {R"({"mediaType":"a/b","title":"T","logo":"<svg><script>x</script></svg>"})", "logo"},
           {R"({"mediaType":"a/b","title":"T","indexFields":{"n":"name"}})", "indexFields.n"},
           {R"({"mediaType":"a/b","title":"T","configSchema":{"pattern":"("}})", "configSchema"},
           {R"({"mediaType":"a/b","title":"T","specUrl":"javascript:x"})", "specUrl"},
           {R"({"mediaType":"a/b","title":"T","colour":"red"})", "colour"},
           {R"([1])", "(document)"},
       }) {
    auto t = ParseArtifactType(c.json, "bad.json", NoFiles);
    ASSERT_FALSE(t.ok()) << c.json;
    EXPECT_EQ(t.status().code(), ErrorCode::kManifestInvalid);
    EXPECT_NE(t.status().detail().find(std::string("bad.json: ") + c.field), std::string::npos)
        << c.json << " -> " << t.status().detail();
  }
}

// issue 9: a configSchema nested 100,000 deep used to crash in dump() and the schema walk.
TEST(ArtifactTypeTest, NestingPastTheJsonDepthLimitIsRefused) {
  std::string deep;
  for (int i = 0; i < 100000; ++i) deep += R"({"not":)";
  deep += "{}" + std::string(100000, '}');
  auto t = ParseArtifactType(R"({"mediaType":"a/b","title":"T","configSchema":)" + deep + "}",
                             "deep.json", NoFiles);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), ErrorCode::kManifestInvalid);
  EXPECT_NE(t.status().detail().find("deep.json: (document): arrays and objects nest deeper than " +
                                     std::to_string(kMaxJsonDepth)),
            std::string::npos)
      << t.status().detail();
  // A schema as deep as the limit leaves room for is accepted and can validate.
  std::string ok;
  int levels = (kMaxJsonDepth - 2);  // the definition and configSchema's own object
  for (int i = 0; i < levels; ++i) ok += R"({"not":)";
  ok += "{}" + std::string(levels, '}');
  auto fine = ParseArtifactType(R"({"mediaType":"a/b","title":"T","configSchema":)" + ok + "}",
                                "ok.json", NoFiles);
  ASSERT_TRUE(fine.ok()) << fine.status().detail();
  EXPECT_TRUE(fine->config_schema->Validate("{}").ok());
}

TEST(IdentifyTest, ArtifactTypeConfigAndIndexes) {
  auto id = [](const std::string& body) {
    auto m = ParseManifest("", body);
    EXPECT_TRUE(m.ok()) << m.status().detail();
    return m.ok() ? IdentifyArtifactType(*m) : "";
  };
  std::string d = "sha256:" + std::string(64, 'a');
  std::string cfg = R"("config":{"mediaType":"application/vnd.cncf.helm.config.v1+json","digest":")" + d + R"(","size":1},"layers":[])";
  EXPECT_EQ(id(R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)" + cfg + "}"),
            "application/vnd.cncf.helm.config.v1+json");
  EXPECT_EQ(id(R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/x.sig",)" + cfg + "}"),
            "application/x.sig");
  std::string child = R"({"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" + d + R"(","size":1})";
  std::string other = R"({"mediaType":"application/x.other","digest":")" + d + R"(","size":1})";
  EXPECT_EQ(id(R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[)" + child + "]}"),
            "application/vnd.oci.image.index.v1+json");
  EXPECT_EQ(id(R"({"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[)" + other + "]}"),
            "application/vnd.docker.distribution.manifest.list.v2+json");
  EXPECT_EQ(id(R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[)" + child +
               R"(],"annotations":{"org.opencontainers.artifactType":"application/vnd.cnab.manifest.v1"}})"),
            "application/vnd.cnab.manifest.v1");
  auto bad = ParseManifest("", R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"not a type",)" + cfg + "}");
  EXPECT_EQ(bad.status().code(), ErrorCode::kManifestInvalid);
}

}  // namespace
}  // namespace arca
