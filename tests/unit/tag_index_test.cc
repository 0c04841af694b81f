#include "registry/tag_index.h"

#include <gtest/gtest.h>

namespace arca {
namespace {

TEST(TagIndexTest, PagesAtTheRightGenerationOnly) {
  TagIndex idx(100);
  EXPECT_FALSE(idx.List("r", 1, "", 10).has_value());
  idx.Load("r", 1, {"a", "b", "c", "d"});
  auto p = idx.List("r", 1, "a", 2);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->items, (std::vector<std::string>{"b", "c"}));
  EXPECT_TRUE(p->more);
  p = idx.List("r", 1, "c", 2);
  EXPECT_EQ(p->items, (std::vector<std::string>{"d"}));
  EXPECT_FALSE(p->more);
  EXPECT_TRUE(idx.List("r", 1, "zz", 5)->items.empty());
  EXPECT_FALSE(idx.List("r", 2, "", 10).has_value());  // changed elsewhere
}

TEST(TagIndexTest, OwnChangesFollowOthersDrop) {
  TagIndex idx(100);
  idx.Load("r", 5, {"a", "c"});
  idx.Changed("r", 6, {"b"}, {});
  EXPECT_EQ(idx.List("r", 6, "", 10)->items, (std::vector<std::string>{"a", "b", "c"}));
  idx.Changed("r", 7, {}, {"a"});
  EXPECT_EQ(idx.List("r", 7, "", 10)->items, (std::vector<std::string>{"b", "c"}));
  idx.Changed("r", 9, {"x"}, {});  // 8 happened elsewhere: the entry cannot be trusted
  EXPECT_FALSE(idx.List("r", 9, "", 10).has_value());
  EXPECT_EQ(idx.tags_held(), 0u);
}

TEST(TagIndexTest, BoundedByTagsHeld) {
  TagIndex idx(10);
  idx.Load("a", 1, {"1", "2", "3", "4"});
  idx.Load("b", 1, {"1", "2", "3", "4"});
  ASSERT_TRUE(idx.List("a", 1, "", 1).has_value());  // a is now the most recent
  idx.Load("c", 1, {"1", "2", "3"});                   // 11 > 10: b goes
  EXPECT_TRUE(idx.List("a", 1, "", 1).has_value());
  EXPECT_FALSE(idx.List("b", 1, "", 1).has_value());
  EXPECT_TRUE(idx.List("c", 1, "", 1).has_value());
  idx.Load("big", 1, {"1", "2", "3", "4", "5", "6"});  // over half the bound: not held
  EXPECT_FALSE(idx.List("big", 1, "", 1).has_value());
  EXPECT_LE(idx.tags_held(), 10u);
}

}  // namespace
}  // namespace arca
