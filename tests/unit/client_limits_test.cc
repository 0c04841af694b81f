#include "http/client_limits.h"

#include <gtest/gtest.h>

namespace arca::http {
namespace {

using V = ClientLimits::Verdict;

TEST(ClientLimitsTest, PerAddressLimitLeavesRoomForOthers) {
  ClientLimits l(10, 3);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(l.Acquire("10.0.0.1"), V::kAdmitted);
  EXPECT_EQ(l.Acquire("10.0.0.1"), V::kClientFull);
  EXPECT_EQ(l.Acquire("10.0.0.2"), V::kAdmitted);
  EXPECT_EQ(l.open(), 4u);
  l.Release("10.0.0.1");
  EXPECT_EQ(l.Acquire("10.0.0.1"), V::kAdmitted);
  EXPECT_EQ(l.OpenFrom("10.0.0.1"), 3u);
}

TEST(ClientLimitsTest, TotalLimitAndReclaimedOverflow) {
  ClientLimits l(2, 0);
  EXPECT_EQ(l.Acquire("a"), V::kAdmitted);
  EXPECT_EQ(l.Acquire("b"), V::kAdmitted);
  EXPECT_TRUE(l.Full());
  EXPECT_EQ(l.Acquire("c"), V::kServerFull);
  EXPECT_EQ(l.Acquire("c", /*over_total=*/true), V::kAdmitted);
  EXPECT_EQ(l.open(), 3u);
  l.Release("a");
  l.Release("b");
  l.Release("c");
  EXPECT_EQ(l.open(), 0u);
  EXPECT_EQ(l.OpenFrom("a"), 0u);
}

TEST(ClientLimitsTest, ReleaseOfUnknownAddressIsHarmless) {
  ClientLimits l(2, 1);
  l.Release("nobody");
  EXPECT_EQ(l.open(), 0u);
  EXPECT_EQ(l.Acquire("x"), V::kAdmitted);
}

}  // namespace
}  // namespace arca::http
