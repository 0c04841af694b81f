#include "util/sha.h"

#include <gtest/gtest.h>

namespace arca {
namespace {

TEST(HasherTest, SavedStateResumesToTheSameDigest) {
  for (auto alg : {DigestAlgorithm::kSha256, DigestAlgorithm::kSha512}) {
    std::string data(100003, 'x');
    for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 31);
    Hasher whole(alg);
    whole.Update(data.data(), data.size());
    Hasher first(alg);
    first.Update(data.data(), 777);  // not a block boundary
    auto resumed = Hasher::Restore(alg, first.SaveState());
    ASSERT_TRUE(resumed.has_value());
    resumed->Update(data.data() + 777, data.size() - 777);
    EXPECT_EQ(resumed->HexDigest(), whole.HexDigest());
  }
}

TEST(HasherTest, HexDigestDoesNotDisturbTheRunningState) {
  Hasher h(DigestAlgorithm::kSha256);
  h.Update("ab", 2);
  (void)h.HexDigest();
  h.Update("c", 1);
  EXPECT_EQ(h.HexDigest(), HexDigestOf(DigestAlgorithm::kSha256, "abc"));
}

TEST(HasherTest, RestoreRejectsForeignState) {
  EXPECT_FALSE(Hasher::Restore(DigestAlgorithm::kSha256, "garbage").has_value());
  std::string state = Hasher(DigestAlgorithm::kSha512).SaveState();
  EXPECT_FALSE(Hasher::Restore(DigestAlgorithm::kSha256, state).has_value());
  std::string corrupt = Hasher(DigestAlgorithm::kSha256).SaveState();
  corrupt[corrupt.size() - 8] = '\x7f';  // `num` (before md_len) past a block
  EXPECT_FALSE(Hasher::Restore(DigestAlgorithm::kSha256, corrupt).has_value());
}

}  // namespace
}  // namespace arca
