#include "registry/policy.h"

#include <gtest/gtest.h>

namespace arca {
namespace {

TEST(GlobTest, ComponentsAndDeep) {
  EXPECT_TRUE(GlobMatch("**", "a/b/c"));
  EXPECT_TRUE(GlobMatch("charts/*", "charts/x"));
  EXPECT_FALSE(GlobMatch("charts/*", "charts/x/y"));
  EXPECT_TRUE(GlobMatch("charts/**", "charts/x/y"));
  EXPECT_FALSE(GlobMatch("charts/**", "other/x"));
  EXPECT_TRUE(GlobMatch("*/sig*", "team/signatures"));
  EXPECT_TRUE(GlobMatch("exact", "exact"));
  EXPECT_FALSE(GlobMatch("exact", "exactly"));
}

TEST(PolicyTest, ParseAndFirstMatchWins) {
  auto p = Policy::Parse(R"(
rules:
  - repositories: "charts/**"
    allow: ["application/vnd.cncf.helm.config.v1+json"]
    layers: enforce
  - repositories: "**"
    unknown: warn
)");
  ASSERT_TRUE(p.ok()) << p.status().detail();
  EXPECT_EQ(p->Match("charts/a")->layers, PolicyMode::kEnforce);
  EXPECT_EQ(p->Match("other")->unknown, PolicyMode::kWarn);
  auto none = Policy::Parse("");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->Match("x"), nullptr);
}

TEST(PolicyTest, ParseErrorsNameRuleAndField) {
  for (const char* bad : {"rules: 3", "rules:\n  - unknown: maybe\n", "rules:\n  - allow: [\"not a type\"]\n",
                          "rules:\n  - colour: red\n", "[unclosed"}) {
    auto p = Policy::Parse(bad);
    EXPECT_FALSE(p.ok()) << bad;
  }
  auto p = Policy::Parse("rules:\n  - repositories: a\n  - layers: sometimes\n");
  EXPECT_NE(p.status().detail().find("rules[1].layers"), std::string::npos) << p.status().detail();
}

// issue 9: yaml-cpp's parser recurses per level but stops itself at 500; the policy says so
// instead of yaml-cpp's "bad file", and nothing crashes, in flow or block style.
TEST(PolicyTest, DeepNestingIsRefusedClearly) {
  std::string flow = "rules: " + std::string(100000, '[') + std::string(100000, ']') + "\n";
  std::string block = "rules:\n";
  for (int i = 0; i < 2000; ++i) block += std::string(i + 1, ' ') + "-\n";
  std::string unclosed = "rules: " + std::string(100000, '{');
  for (const std::string& text : {flow, block}) {
    auto p = Policy::Parse(text);
    ASSERT_FALSE(p.ok());
    EXPECT_NE(p.status().detail().find("nest deeper than 500 levels"), std::string::npos)
        << p.status().detail();
  }
  EXPECT_FALSE(Policy::Parse(unclosed).ok());
  // A self-referencing alias is a cycle in yaml-cpp's node graph; nothing here walks it.
  EXPECT_FALSE(Policy::Parse("rules: &a [*a]\n").ok());
}

TEST(PolicyTest, ChecksEnforcedAndWarned) {
  auto def = ParseArtifactType(R"({"mediaType":"application/x.t","title":"T","layerMediaTypes":["application/x.l"],
      "configSchema":{"type":"object","required":["version"]}})", "t", [](const std::string&) -> Result<std::string> {
        return Status(ErrorCode::kNameUnknown, "");
      });
  ASSERT_TRUE(def.ok());
  PolicyRule rule;
  rule.repositories = "r/**";
  rule.allow = {"application/x.t"};
  rule.layers = PolicyMode::kEnforce;
  rule.config = PolicyMode::kWarn;
  std::string good = R"({"version":"1"})", bad = "{}";
  EXPECT_TRUE(CheckPolicy(rule, "application/x.t", &*def, {"application/x.l"}, &good).empty());
  auto v = CheckPolicy(rule, "application/x.t", &*def, {"application/x.other"}, &bad);
  ASSERT_EQ(v.size(), 2u);
  EXPECT_TRUE(v[0].enforced);
  EXPECT_NE(v[0].message.find("r/**"), std::string::npos);
  EXPECT_FALSE(v[1].enforced);
  EXPECT_NE(v[1].message.find("version"), std::string::npos);
  auto other = CheckPolicy(rule, "application/x.u", nullptr, {}, nullptr);
  ASSERT_EQ(other.size(), 1u);  // not allowed; unknown is off
  EXPECT_NE(other[0].message.find("allowed types: application/x.t"), std::string::npos);
  rule.allow.clear();
  rule.unknown = PolicyMode::kEnforce;
  auto unknown = CheckPolicy(rule, "application/x.u", nullptr, {}, nullptr);
  ASSERT_EQ(unknown.size(), 1u);
  EXPECT_TRUE(unknown[0].enforced);
}

TEST(PolicyTest, ForeignSparseAndRetention) {
  auto p = Policy::Parse(R"(
rules:
  - repositories: "bundles/**"
    foreign: allow
    sparse: true
    retention: 30d
  - repositories: "secure/**"
    foreign: deny
    retention: 0
  - repositories: "**"
    foreign: ["https://mcr.microsoft.com/", "https://r.example/"]
)");
  ASSERT_TRUE(p.ok()) << p.status().detail();
  const PolicyRule* b = p->Match("bundles/x");
  EXPECT_EQ(b->foreign, ForeignMode::kAllow);
  EXPECT_TRUE(b->sparse);
  EXPECT_EQ(b->retention, 30 * 86400);
  EXPECT_EQ(p->Match("secure/y")->foreign, ForeignMode::kDeny);
  EXPECT_EQ(p->Match("secure/y")->retention, 0);
  EXPECT_FALSE(p->Match("secure/y")->sparse);
  const PolicyRule* any = p->Match("z");
  EXPECT_EQ(any->foreign, ForeignMode::kUrlPrefixes);
  EXPECT_EQ(any->foreign_urls.size(), 2u);
  EXPECT_FALSE(any->retention.has_value());
  for (const char* bad : {"foreign: maybe", "foreign: []", "sparse: yes", "retention: 3w",
                          "retention: -1d"}) {
    auto q = Policy::Parse(std::string("rules:\n  - repositories: \"a\"\n    ") + bad + "\n");
    ASSERT_FALSE(q.ok()) << bad;
    EXPECT_NE(q.status().detail().find("rules[0]."), std::string::npos) << q.status().detail();
  }
}

}  // namespace
}  // namespace arca
