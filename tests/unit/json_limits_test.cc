#include "types/json_limits.h"

#include <gtest/gtest.h>

#include <string>

namespace arca {
namespace {

std::string NestedArrays(int depth, const std::string& core = "1") {
  return std::string(depth, '[') + core + std::string(depth, ']');
}

std::string NestedObjects(int depth) {
  std::string out;
  for (int i = 0; i < depth; ++i) out += "{\"k\":";
  out += "1";
  return out + std::string(depth, '}');
}

TEST(JsonLimitsTest, AcceptsDocumentsUpToTheLimit) {
  for (const std::string& text : {NestedArrays(kMaxJsonDepth), NestedObjects(kMaxJsonDepth)}) {
    auto j = ParseJsonBounded(text);
    ASSERT_TRUE(j.ok()) << j.status().detail();
    // The recursive walks the limit exists for are safe on what it lets through.
    EXPECT_EQ(j->dump(), text);
  }
  EXPECT_TRUE(ParseJsonBounded("42").ok());
  EXPECT_TRUE(ParseJsonBounded("\"[[[[[[\"").ok());  // brackets in a string are not nesting
}

TEST(JsonLimitsTest, RefusesOneLevelPastTheLimitAndNamesIt) {
  for (const std::string& text : {NestedArrays(kMaxJsonDepth + 1), NestedObjects(kMaxJsonDepth + 1),
                                  "{\"a\":[" + NestedObjects(kMaxJsonDepth - 1) + "]}"}) {
    auto j = ParseJsonBounded(text);
    ASSERT_FALSE(j.ok());
    EXPECT_EQ(j.status().code(), ErrorCode::kManifestInvalid);
    EXPECT_NE(j.status().detail().find("deeper than 100 levels"), std::string::npos)
        << j.status().detail();
  }
}

TEST(JsonLimitsTest, TheLimitIsAParameter) {
  EXPECT_TRUE(ParseJsonBounded("[[1]]", 2).ok());
  auto j = ParseJsonBounded("[[[1]]]", 2);
  ASSERT_FALSE(j.ok());
  EXPECT_NE(j.status().detail().find("deeper than 2 levels"), std::string::npos);
  EXPECT_TRUE(ParseJsonBounded("7", 0).ok());
  EXPECT_FALSE(ParseJsonBounded("[]", 0).ok());
}

// The attack from issue 9: 100,000 levels used to overflow the stack in copy and dump().
TEST(JsonLimitsTest, HundredThousandLevelsFailCleanly) {
  auto arrays = ParseJsonBounded(NestedArrays(100000));
  EXPECT_FALSE(arrays.ok());
  auto unclosed = ParseJsonBounded(std::string(4 << 20, '['));
  EXPECT_FALSE(unclosed.ok());
  EXPECT_NE(unclosed.status().detail().find("deeper than"), std::string::npos);
  auto objects = ParseJsonBounded(NestedObjects(100000));
  EXPECT_FALSE(objects.ok());
}

TEST(JsonLimitsTest, MalformedTextSaysWhere) {
  auto j = ParseJsonBounded("{\"a\": tru}");
  ASSERT_FALSE(j.ok());
  EXPECT_EQ(j.status().code(), ErrorCode::kManifestInvalid);
  EXPECT_NE(j.status().detail().find("not well-formed JSON (at byte"), std::string::npos)
      << j.status().detail();
  for (const char* bad : {"", "{", "[1,]", "{} {}", "\"\\ud800\"", "\xff", "1e999999"}) {
    EXPECT_FALSE(ParseJsonBounded(bad).ok()) << bad;
  }
}

// The bounded parser builds its own DOM: it must build the same one nlohmann does.
TEST(JsonLimitsTest, BuildsWhatNlohmannBuilds) {
  std::string many = "[";
  for (int i = 0; i < 5000; ++i) many += (i ? "," : "") + std::string(R"({"k":"v","n":[1,{"x":null}]})");
  many += "]";
  for (const std::string& text :
       {std::string(R"({"a":[1,-2,3.5,1e300,18446744073709551615,-9223372036854775808],"b":{"c":{}},)"
                    R"("d":[[],[[]],{}],"e":"\u00e9\ud83d\ude00\"\\","f":true,"g":false,"h":null})"),
        std::string("[]"), std::string("{}"), std::string("\"s\""), std::string("-0"), many}) {
    auto j = ParseJsonBounded(text);
    ASSERT_TRUE(j.ok()) << text.substr(0, 80) << ": " << j.status().detail();
    EXPECT_EQ(*j, nlohmann::json::parse(text)) << text.substr(0, 80);
  }
}

TEST(JsonLimitsTest, DuplicateKeysKeepTheLastValue) {
  auto j = ParseJsonBounded(R"({"a":1,"a":2})");
  ASSERT_TRUE(j.ok());
  EXPECT_EQ((*j)["a"], 2);
}

}  // namespace
}  // namespace arca
