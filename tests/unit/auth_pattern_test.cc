#include "auth/pattern.h"

#include <gtest/gtest.h>

namespace arca::auth {
namespace {

TEST(PatternTest, Validation) {
  for (const char* ok : {"team/app", "team/*", "team/**", "**", "*", "*/app", "a/*/b/**"}) {
    EXPECT_TRUE(ValidatePattern(ok).ok()) << ok;
  }
  for (const char* bad : {"", "team/", "/team", "team//app", "**/app", "team-*", "te*m/app",
                          "Team/app", "team/../x", "a/***", "team/app/"}) {
    EXPECT_EQ(ValidatePattern(bad).code(), ErrorCode::kNameInvalid) << bad;
  }
}

TEST(PatternTest, Matching) {
  struct Case {
    const char* pattern;
    const char* name;
    bool match;
  };
  for (const Case& c : std::initializer_list<Case>{
           {"team/app", "team/app", true},
           {"team/app", "team/app2", false},
           {"team/app", "team/app/x", false},
           {"team/app", "team", false},
           {"team/*", "team/app", true},
           {"team/*", "team/app/x", false},
           {"team/*", "team", false},
           {"team/**", "team/app", true},
           {"team/**", "team/app/x/y", true},
           {"team/**", "team", false},
           {"team/**", "teamx/app", false},
           {"**", "a", true},
           {"**", "a/b/c", true},
           {"*", "a", true},
           {"*", "a/b", false},
           {"*/app", "x/app", true},
           {"*/app", "x/y/app", false},
           {"a/*/c/**", "a/b/c/d", true},
           {"a/*/c/**", "a/b/c", false},
       }) {
    EXPECT_EQ(PatternMatches(c.pattern, c.name), c.match) << c.pattern << " ~ " << c.name;
  }
}

}  // namespace
}  // namespace arca::auth
