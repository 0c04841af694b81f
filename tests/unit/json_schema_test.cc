// JsonSchema against the official JSON-Schema-Test-Suite (Debian's json-schema-test-suite),
// for every keyword Arca supports; groups whose schema uses another keyword are not ours.
#include "types/json_schema.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

namespace arca {
namespace {

using json = nlohmann::json;
const char kSuite[] = "/usr/share/json-schema-test-suite/tests/draft7/";

const std::set<std::string> kSupported = {
    "type", "properties", "required", "additionalProperties", "items", "enum", "const",
    "minLength", "maxLength", "pattern", "minimum", "maximum", "exclusiveMinimum",
    "exclusiveMaximum", "minItems", "maxItems", "uniqueItems", "anyOf", "allOf", "oneOf", "not",
    "description", "$schema", "title", "default"};

// True when every keyword in the schema (at any depth) is one Arca implements.
bool OnlySupported(const json& s) {
  if (s.is_boolean()) return true;
  if (!s.is_object()) return false;
  for (const auto& [k, v] : s.items()) {
    if (!kSupported.count(k)) return false;
    if (k == "items" && !(v.is_object() || v.is_boolean())) return false;
    if (k == "properties") {
      for (const auto& [name, sub] : v.items()) if (!OnlySupported(sub)) return false;
    } else if (k == "allOf" || k == "anyOf" || k == "oneOf") {
      for (const auto& sub : v) if (!OnlySupported(sub)) return false;
    } else if (k == "not" || k == "items" || (k == "additionalProperties" && v.is_object())) {
      if (!OnlySupported(v)) return false;
    }
  }
  return true;
}

TEST(JsonSchemaTest, OfficialSuite) {
  ASSERT_TRUE(std::filesystem::exists(kSuite)) << "scripts/deps.sh test installs json-schema-test-suite";
  int run = 0;
  for (const char* file : {"additionalProperties", "allOf", "anyOf", "boolean_schema", "const",
                           "enum", "exclusiveMaximum", "exclusiveMinimum", "items", "maxItems",
                           "maxLength", "maximum", "minItems", "minLength", "minimum", "not",
                           "oneOf", "pattern", "properties", "required", "type", "uniqueItems"}) {
    std::ifstream in(std::string(kSuite) + file + ".json");
    json groups = json::parse(in);
    for (const auto& g : groups) {
      if (!OnlySupported(g["schema"])) continue;
      auto schema = JsonSchema::Parse(g["schema"].dump());
      ASSERT_TRUE(schema.ok()) << file << ": " << g["description"];
      for (const auto& t : g["tests"]) {
        bool valid = schema->Validate(t["data"].dump()).ok();
        EXPECT_EQ(valid, t["valid"].get<bool>())
            << file << " / " << g["description"] << " / " << t["description"];
        ++run;
      }
    }
  }
  EXPECT_GT(run, 200);  // the suite really ran
}

TEST(JsonSchemaTest, ErrorsNameThePointer) {
  auto s = JsonSchema::Parse(R"({"type":"object","properties":{"a":{"type":"array","items":{"type":"string"}}}})");
  ASSERT_TRUE(s.ok());
  Status st = s->Validate(R"({"a":["x", 3]})");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.detail().find("/a/1"), std::string::npos) << st.detail();
  EXPECT_FALSE(s->Validate("not json").ok());
  EXPECT_FALSE(JsonSchema::Parse(R"({"pattern":"("})").ok());
  // A long pattern would overflow the stack in libstdc++'s recursive regex compiler (the
  // fuzzer found one): refused before it is compiled, and the error says why.
  auto long_pattern = JsonSchema::Parse("{\"pattern\":\"" + std::string(100000, 'a') + "\"}");
  ASSERT_FALSE(long_pattern.ok());
  EXPECT_NE(long_pattern.status().detail().find("longer than 512 bytes"), std::string::npos);
  EXPECT_TRUE(JsonSchema::Parse("{\"pattern\":\"" + std::string(512, 'a') + "\"}").ok());
  EXPECT_FALSE(JsonSchema::Parse("[]").ok());
}

TEST(JsonSchemaTest, MalformedOrUnsupportedSchemasAreRefused) {
  for (const char* bad : {R"({"type":"text"})", R"({"required":"name"})", R"({"minLength":-1})",
                          R"({"properties":{"a":5}})", R"({"items":[{"type":"string"}]})",
                          R"({"enum":[]})", R"({"$ref":"#/definitions/x"})", R"({"if":{}})",
                          R"({"anyOf":[]})", R"({"not":3})", R"({"uniqueItems":"yes"})"}) {
    auto s = JsonSchema::Parse(bad);
    EXPECT_FALSE(s.ok()) << bad;
  }
  EXPECT_TRUE(JsonSchema::Parse(R"({"title":"t","description":"d","type":["string","null"]})").ok());
}

// issue 9: const and enum compare whole subtrees recursively, so a config 100,000 deep used to
// overflow the stack while being validated. The parse refuses it first, naming the limit.
TEST(JsonSchemaTest, DocumentsAndSchemasPastTheDepthLimitAreRefused) {
  std::string deep = std::string(100000, '[') + std::string(100000, ']');
  auto s = JsonSchema::Parse(R"({"enum":[1, [2]], "not": {"const": [[3]]}})");
  ASSERT_TRUE(s.ok()) << s.status().detail();
  Status st = s->Validate(deep);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), ErrorCode::kManifestInvalid);
  EXPECT_NE(st.detail().find("deeper than 100 levels"), std::string::npos) << st.detail();
  EXPECT_TRUE(s->Validate("[2]").ok());

  std::string deep_schema;
  for (int i = 0; i < 100000; ++i) deep_schema += R"({"items":)";
  deep_schema += "true" + std::string(100000, '}');
  auto bad = JsonSchema::Parse(deep_schema);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().detail().find("deeper than 100 levels"), std::string::npos)
      << bad.status().detail();
}

TEST(JsonSchemaTest, HugeStringsAreNotFedToTheRegexEngine) {
  auto s = JsonSchema::Parse(R"({"pattern":"^(a|b)*$"})");
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->Validate("\"abab\"").ok());
  EXPECT_FALSE(s->Validate("\"" + std::string(100000, 'a') + "\"").ok());  // and no crash
}

}  // namespace
}  // namespace arca
