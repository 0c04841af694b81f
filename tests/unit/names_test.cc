#include "types/names.h"

#include <gtest/gtest.h>

#include <string>

#include "types/reference.h"

namespace arca {
namespace {

TEST(NamesTest, AcceptsSpecNames) {
  for (const char* ok : {"a", "library/ubuntu", "a.b/c_d/e__f/g-h/i---j", "0/1/2", "x9"}) {
    EXPECT_TRUE(ValidateRepositoryName(ok).ok()) << ok;
  }
  EXPECT_TRUE(ValidateRepositoryName(std::string(255, 'a')).ok());
}

TEST(NamesTest, RejectsBadNames) {
  for (const char* bad : {"", "A", "a/", "/a", "a//b", "..", "a/../b", "a/./b", "a%2fb", "a b",
                          "-a", "a-", "a.", "a..b", "a___b", "a_.b", "a:b", "a\\b"}) {
    auto s = ValidateRepositoryName(bad);
    EXPECT_FALSE(s.ok()) << bad;
    EXPECT_EQ(s.code(), ErrorCode::kNameInvalid) << bad;
  }
  EXPECT_FALSE(ValidateRepositoryName(std::string(256, 'a')).ok());
}

TEST(NamesTest, Tags) {
  for (const char* ok : {"latest", "v1.0.0", "_x", "A-b.C_d", "1"}) EXPECT_TRUE(ValidateTag(ok).ok()) << ok;
  EXPECT_TRUE(ValidateTag(std::string(128, 'a')).ok());
  for (const char* bad : {"", ".x", "-x", "a/b", "a:b", "a b", "ä"}) {
    EXPECT_EQ(ValidateTag(bad).code(), ErrorCode::kTagInvalid) << bad;
  }
  EXPECT_FALSE(ValidateTag(std::string(129, 'a')).ok());
}

TEST(ReferenceTest, TagOrDigest) {
  auto tag = Reference::Parse("v1");
  ASSERT_TRUE(tag.ok());
  EXPECT_FALSE(tag->is_digest());
  EXPECT_EQ(tag->tag, "v1");
  auto dig = Reference::Parse("sha256:" + std::string(64, '0'));
  ASSERT_TRUE(dig.ok());
  EXPECT_TRUE(dig->is_digest());
  EXPECT_EQ(Reference::Parse("sha256:zz").status().code(), ErrorCode::kDigestInvalid);
  EXPECT_EQ(Reference::Parse("bad tag").status().code(), ErrorCode::kTagInvalid);
}

}  // namespace
}  // namespace arca
