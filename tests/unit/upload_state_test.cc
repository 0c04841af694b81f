#include <gtest/gtest.h>

#include "storage/blob_store.h"

namespace arca {
namespace {

TEST(UploadStateTest, PartsRoundTripAsText) {
  std::vector<UploadPart> parts = {{1, 5 << 20, "\"abc\""}, {2, 7, "\"d\\\"e\""}};
  auto back = DecodeParts(EncodeParts(parts));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, parts);
  EXPECT_EQ(EncodeParts({}), "");
  EXPECT_TRUE(DecodeParts("")->empty());
  UploadState s{100, "k id", parts};
  EXPECT_EQ(s.PartBytes(), (5u << 20) + 7);
}

TEST(UploadStateTest, ForeignTextIsRefused) {
  for (const char* bad : {"{", "{}", "[1]", "[[0,1,\"e\"]]", "[[10001,1,\"e\"]]", "[[1,-1,\"e\"]]",
                          "[[1,1,2]]", "[[1,1]]"}) {
    EXPECT_FALSE(DecodeParts(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace arca
