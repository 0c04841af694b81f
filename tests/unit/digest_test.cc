#include "types/digest.h"

#include <gtest/gtest.h>

namespace arca {
namespace {

const char kEmpty256[] = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

TEST(DigestTest, ParsesSha256AndSha512) {
  auto d = Digest::Parse(kEmpty256);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->algorithm(), DigestAlgorithm::kSha256);
  EXPECT_EQ(d->str(), kEmpty256);
  auto d512 = Digest::Parse("sha512:" + std::string(128, 'a'));
  ASSERT_TRUE(d512.ok());
  EXPECT_EQ(d512->algorithm(), DigestAlgorithm::kSha512);
}

TEST(DigestTest, RejectsMalformed) {
  for (const char* bad : {"", "sha256", "sha256:", "sha256:abc", "md5:d41d8cd98f00b204e9800998ecf8427e",
                          "SHA256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                          "sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
                          "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85g",
                          "sha256:../../../../etc/passwd"}) {
    auto d = Digest::Parse(bad);
    EXPECT_FALSE(d.ok()) << bad;
    EXPECT_EQ(d.status().code(), ErrorCode::kDigestInvalid) << bad;
  }
  EXPECT_FALSE(Digest::Parse("sha512:" + std::string(64, 'a')).ok());
}

TEST(DigestTest, OfComputesKnownValues) {
  EXPECT_EQ(Digest::Of(DigestAlgorithm::kSha256, "").str(), kEmpty256);
  EXPECT_EQ(Digest::Of(DigestAlgorithm::kSha256, "abc").hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Digest::Of(DigestAlgorithm::kSha512, "abc").hex().substr(0, 16), "ddaf35a193617aba");
}

}  // namespace
}  // namespace arca
