#include "types/http_range.h"

#include <gtest/gtest.h>

namespace arca {
namespace {

TEST(RangeHeaderTest, Forms) {
  auto r = ParseRangeHeader("bytes=0-9", 100);
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_EQ((*r)->first, 0u);
  EXPECT_EQ((*r)->last, 9u);
  r = ParseRangeHeader("bytes=90-", 100);
  EXPECT_EQ((*r)->first, 90u);
  EXPECT_EQ((*r)->last, 99u);
  r = ParseRangeHeader("bytes=-10", 100);
  EXPECT_EQ((*r)->first, 90u);
  r = ParseRangeHeader("bytes=-1000", 100);
  EXPECT_EQ((*r)->first, 0u);
  r = ParseRangeHeader("bytes=50-1000", 100);  // clamped to the end
  EXPECT_EQ((*r)->last, 99u);
  EXPECT_EQ((*r)->length(), 50u);
}

TEST(RangeHeaderTest, IgnoredAndUnsatisfiable) {
  for (const char* ignored : {"", "items=0-1", "bytes=0-1,5-6", "bytes=a-b", "bytes=1"}) {
    auto r = ParseRangeHeader(ignored, 100);
    ASSERT_TRUE(r.ok()) << ignored;
    EXPECT_FALSE(r->has_value()) << ignored;
  }
  EXPECT_EQ(ParseRangeHeader("bytes=100-", 100).status().code(), ErrorCode::kRangeNotSatisfiable);
  EXPECT_EQ(ParseRangeHeader("bytes=500-0", 1000).status().code(), ErrorCode::kRangeNotSatisfiable);
  EXPECT_EQ(ParseRangeHeader("bytes=-0", 100).status().code(), ErrorCode::kRangeNotSatisfiable);
  EXPECT_EQ(ParseRangeHeader("bytes=0-0", 0).status().code(), ErrorCode::kRangeNotSatisfiable);
}

TEST(ContentRangeTest, Forms) {
  auto r = ParseContentRange("0-99");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->length(), 100u);
  EXPECT_EQ(ParseContentRange("bytes 5-9/*")->first, 5u);
  for (const char* bad : {"", "-", "5", "9-5", "a-b", "-1-5", "99999999999999999999-1",
                          "0-99999999999999999999", "1 - 2x"}) {
    EXPECT_EQ(ParseContentRange(bad).status().code(), ErrorCode::kRangeInvalid) << bad;
  }
}

}  // namespace
}  // namespace arca
