#include "registry/tag_index.h"

#include <gtest/gtest.h>

#include <random>
#include <set>

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

// Many changes over many blocks: every page, from every starting point, matches a plain
// sorted set that took the same changes.
TEST(TagIndexTest, ChangesAcrossBlocksMatchASortedSet) {
  TagIndex idx(1'000'000);
  std::set<std::string> want;
  std::vector<std::string> initial;
  for (int i = 0; i < 3000; i += 2) initial.push_back("t" + std::to_string(i));
  want.insert(initial.begin(), initial.end());
  idx.Load("r", 1, initial);
  std::mt19937 rng(7);
  int64_t gen = 1;
  for (int step = 0; step < 4000; ++step) {
    std::string tag = "t" + std::to_string(rng() % 4000);
    bool add = rng() % 3 != 0;
    if (add) want.insert(tag); else want.erase(tag);
    idx.Changed("r", ++gen, add ? std::vector<std::string>{tag} : std::vector<std::string>{},
                add ? std::vector<std::string>{} : std::vector<std::string>{tag});
  }
  EXPECT_EQ(idx.tags_held(), want.size());
  std::vector<std::string> all(want.begin(), want.end());
  auto whole = idx.List("r", gen, "", 1'000'000);
  ASSERT_TRUE(whole.has_value());
  EXPECT_EQ(whole->items, all);
  EXPECT_FALSE(whole->more);
  for (const std::string after : {"", "t1", "t2000", "t3999", "t999", "u"}) {
    for (size_t limit : {1u, 7u, 511u, 513u, 2000u}) {
      auto page = idx.List("r", gen, after, limit);
      ASSERT_TRUE(page.has_value());
      auto first = after.empty() ? want.begin() : want.upper_bound(after);
      std::vector<std::string> expect;
      for (auto it = first; it != want.end() && expect.size() < limit; ++it) expect.push_back(*it);
      EXPECT_EQ(page->items, expect) << after << " " << limit;
      EXPECT_EQ(page->more, static_cast<size_t>(std::distance(first, want.end())) > limit)
          << after << " " << limit;
    }
  }
}

}  // namespace
}  // namespace arca
