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
  Hasher h(DigestAlgorithm::kSha256);
  h.Update("abc", 3);
  std::string good = h.SaveState();
  ASSERT_TRUE(Hasher::Restore(DigestAlgorithm::kSha256, good).has_value());
  // The count of bytes must agree with the partial block, the words must be 8 of them, and
  // the version must be ours.
  std::string wrong_count = good;
  wrong_count.replace(wrong_count.find(" 3 "), 3, " 4 ");
  EXPECT_FALSE(Hasher::Restore(DigestAlgorithm::kSha256, wrong_count).has_value());
  EXPECT_FALSE(Hasher::Restore(DigestAlgorithm::kSha256, good.substr(0, good.size() - 2)).has_value());
  std::string v2 = good;
  v2.replace(0, 11, "arca-sha-v2");
  EXPECT_FALSE(Hasher::Restore(DigestAlgorithm::kSha256, v2).has_value());
  std::string upper = good;
  upper[upper.size() - 1] = 'F';
  EXPECT_FALSE(Hasher::Restore(DigestAlgorithm::kSha256, upper).has_value());
  // A raw OpenSSL struct, as builds before the portable form saved, is not taken as a state.
  EXPECT_FALSE(Hasher::Restore(DigestAlgorithm::kSha256, std::string(112, '\0')).has_value());
}

// The saved form is the algorithm's own state, spelled out: a fresh SHA-256 holds the
// standard's initial hash values (FIPS 180-4, 5.3.3), and the partial block is the bytes
// since the last 64-byte boundary. Another build or machine reads the same text.
TEST(HasherTest, SavedStateIsPortableText) {
  EXPECT_EQ(Hasher(DigestAlgorithm::kSha256).SaveState(),
            "arca-sha-v1 sha256 0 6a09e667bb67ae853c6ef372a54ff53a510e527f9b05688c1f83d9ab5be0cd19 ");
  EXPECT_EQ(Hasher(DigestAlgorithm::kSha512).SaveState().substr(0, 40),
            "arca-sha-v1 sha512 0 6a09e667f3bcc908bb6");
  Hasher h(DigestAlgorithm::kSha256);
  std::string data(66, 'a');
  data[64] = 'x';
  data[65] = 'y';
  h.Update(data.data(), data.size());
  std::string s = h.SaveState();
  EXPECT_EQ(s.substr(0, 22), "arca-sha-v1 sha256 66 ");
  EXPECT_EQ(s.substr(s.size() - 5), " 7879");  // "xy", after one whole block
  // A state written by hand from those parts resumes to the right digest.
  auto resumed = Hasher::Restore(DigestAlgorithm::kSha256, s);
  ASSERT_TRUE(resumed.has_value());
  resumed->Update("z", 1);
  EXPECT_EQ(resumed->HexDigest(), HexDigestOf(DigestAlgorithm::kSha256, data + "z"));
  // Past 2^32 bits the count's high word matters: a big count survives the round trip.
  std::string big = "arca-sha-v1 sha256 5000000000 " + s.substr(22, 64) + " ";
  auto far = Hasher::Restore(DigestAlgorithm::kSha256, big);
  ASSERT_TRUE(far.has_value());
  EXPECT_EQ(far->SaveState(), big);
}

}  // namespace
}  // namespace arca
