#include "util/log_limiter.h"

#include <gtest/gtest.h>

namespace arca {
namespace {

TEST(LogLimiter, OneLinePerKeyPerWindow) {
  LogLimiter limiter(100, 60);
  uint64_t held = 99;
  ASSERT_TRUE(limiter.Allow("a", 1000, &held));
  EXPECT_EQ(held, 0u);
  EXPECT_FALSE(limiter.Allow("a", 1001, &held));
  EXPECT_FALSE(limiter.Allow("a", 1059, &held));
  // Another key is still written, and says what was held back.
  ASSERT_TRUE(limiter.Allow("b", 1059, &held));
  EXPECT_EQ(held, 2u);
  // A new window: "a" may be written again.
  ASSERT_TRUE(limiter.Allow("a", 1060, &held));
  EXPECT_EQ(held, 0u);
}

TEST(LogLimiter, BurstBoundsDistinctKeys) {
  LogLimiter limiter(3, 60);
  uint64_t held = 0;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(limiter.Allow("k" + std::to_string(i), 0, &held));
  EXPECT_FALSE(limiter.Allow("k3", 0, &held));
  EXPECT_FALSE(limiter.Allow("k4", 59, &held));
  ASSERT_TRUE(limiter.Allow("k5", 60, &held));
  EXPECT_EQ(held, 2u);
}

}  // namespace
}  // namespace arca
