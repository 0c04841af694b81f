#include "api/listing_cache.h"

#include <gtest/gtest.h>

namespace arca::api {
namespace {

TEST(ListingCacheTest, GenerationMustMatch) {
  ListingCache c(1 << 20);
  c.Put("r", 1, {"body1", "link"});
  ASSERT_TRUE(c.Get("r", 1).has_value());
  EXPECT_EQ(c.Get("r", 1)->body, "body1");
  EXPECT_FALSE(c.Get("r", 2).has_value());  // the tags changed since
  EXPECT_FALSE(c.Get("other", 1).has_value());
  c.Put("r", 2, {"body2", ""});
  EXPECT_EQ(c.Get("r", 2)->body, "body2");
  EXPECT_FALSE(c.Get("r", 1).has_value());
}

TEST(ListingCacheTest, BoundedLeastRecentlyUsedFirst) {
  ListingCache c(400);
  c.Put("a", 0, {std::string(90, 'a'), ""});
  c.Put("b", 0, {std::string(90, 'b'), ""});
  c.Put("c", 0, {std::string(90, 'c'), ""});
  ASSERT_TRUE(c.Get("a", 0).has_value());  // a is now the most recent
  c.Put("d", 0, {std::string(90, 'd'), ""});
  c.Put("e", 0, {std::string(90, 'e'), ""});  // over 400 bytes: b goes, then c
  EXPECT_TRUE(c.Get("a", 0).has_value());
  EXPECT_FALSE(c.Get("b", 0).has_value());
  EXPECT_TRUE(c.Get("e", 0).has_value());
  c.Put("huge", 0, {std::string(200, 'h'), ""});  // over a quarter: not kept
  EXPECT_FALSE(c.Get("huge", 0).has_value());
}

}  // namespace
}  // namespace arca::api
