#include "http/transfer_guard.h"

#include <gtest/gtest.h>

namespace arca::http {
namespace {

using std::chrono::milliseconds;

TransferGuard Guard() {
  return TransferGuard(TransferLimits{.stall = milliseconds(10'000), .window = milliseconds(2'000),
                                      .min_rate = 1000});
}

TEST(TransferGuardTest, ATrickleBelowTheFloorFailsAtTheEndOfTheWindow) {
  auto g = Guard();
  g.Start();
  for (int i = 0; i < 19; ++i) {
    g.Bytes(1);
    ASSERT_TRUE(g.Waited(milliseconds(100))) << i;
  }
  g.Bytes(1);
  EXPECT_FALSE(g.Waited(milliseconds(100)));  // 20 bytes in 2 s < 2000
  EXPECT_TRUE(g.failed());
  EXPECT_STREQ(g.why(), "transfer slower than the minimum rate");
}

TEST(TransferGuardTest, EnoughBytesPerWindowGoOnForever) {
  auto g = Guard();
  g.Start();
  for (int i = 0; i < 1000; ++i) {
    g.Bytes(250);
    ASSERT_TRUE(g.Waited(milliseconds(200))) << i;  // 1250 B/s
  }
}

TEST(TransferGuardTest, TimeNotSpentWaitingDoesNotCount) {
  // Only waits are fed to the guard: a handler busy for minutes between reads is not the
  // client's fault, so a fast client that waits 1 ms per read never fails.
  auto g = Guard();
  g.Start();
  for (int i = 0; i < 5000; ++i) {
    g.Bytes(1);
    ASSERT_TRUE(g.Waited(milliseconds(1)));
  }
}

TEST(TransferGuardTest, AStallFailsEvenWithoutARateFloor) {
  TransferGuard g(TransferLimits{.stall = milliseconds(1'000), .window = milliseconds(30'000),
                                 .min_rate = 0});
  g.Start();
  EXPECT_TRUE(g.Waited(milliseconds(999)));
  EXPECT_FALSE(g.Waited(milliseconds(1)));
  EXPECT_STREQ(g.why(), "no data moved within the stall timeout");
}

TEST(TransferGuardTest, ProgressResetsTheStallButNotTheWindow) {
  TransferGuard g(TransferLimits{.stall = milliseconds(1'000), .window = milliseconds(3'000),
                                 .min_rate = 0});
  g.Start();
  for (int i = 0; i < 10; ++i) {
    g.Bytes(1);
    ASSERT_TRUE(g.Waited(milliseconds(900)));
  }
}

TEST(TransferGuardTest, NextWaitIsBoundedByTheNearestVerdict) {
  auto g = Guard();
  g.Start();
  EXPECT_EQ(g.NextWait(), milliseconds(2'000));
  g.Bytes(5000);
  ASSERT_TRUE(g.Waited(milliseconds(1'500)));
  EXPECT_EQ(g.NextWait(), milliseconds(500));
}

TEST(TransferGuardTest, StartClearsAFailure) {
  auto g = Guard();
  g.Start();
  EXPECT_FALSE(g.Waited(milliseconds(2'000)));
  g.Start();
  EXPECT_FALSE(g.failed());
  EXPECT_TRUE(g.Waited(milliseconds(1)));
}

}  // namespace
}  // namespace arca::http
