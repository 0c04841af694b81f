// SigV4 against the examples AWS publishes for S3 ("Examples: Signature Calculations in AWS
// Signature Version 4" and "Authenticating Requests: Using Query Parameters").
#include "storage/s3/sigv4.h"

#include <gtest/gtest.h>

namespace arca::s3 {
namespace {

const Credentials kExample{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""};
const std::string kEmptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

std::string Get(const Pairs& p, const std::string& name) {
  for (const auto& [k, v] : p) {
    if (k == name) return v;
  }
  return "";
}

TEST(SigV4Test, GetObjectWithRangeMatchesTheAwsExample) {
  SignedRequest r{"GET", "examplebucket.s3.amazonaws.com", "/test.txt", {},
                  {{"range", "bytes=0-9"}}, kEmptyHash};
  Pairs h = SignHeaders(r, kExample, "us-east-1", "20130524T000000Z");
  EXPECT_EQ(Get(h, "authorization"),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  EXPECT_EQ(Get(h, "x-amz-date"), "20130524T000000Z");
  EXPECT_EQ(Get(h, "x-amz-content-sha256"), kEmptyHash);
}

TEST(SigV4Test, ListObjectsQueryIsSortedAndSigned) {
  SignedRequest r{"GET", "examplebucket.s3.amazonaws.com", "/", {{"prefix", "J"}, {"max-keys", "2"}},
                  {}, kEmptyHash};
  Pairs h = SignHeaders(r, kExample, "us-east-1", "20130524T000000Z");
  EXPECT_NE(Get(h, "authorization")
                .find("Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"),
            std::string::npos)
      << Get(h, "authorization");
}

TEST(SigV4Test, PresignedGetMatchesTheAwsExample) {
  SignedRequest r{"GET", "examplebucket.s3.amazonaws.com", "/test.txt", {}, {}, ""};
  std::string q = PresignQuery(r, kExample, "us-east-1", "20130524T000000Z", 86400);
  EXPECT_EQ(q,
            "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2F"
            "us-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&"
            "X-Amz-SignedHeaders=host&X-Amz-Signature="
            "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
}

TEST(SigV4Test, EncodingFollowsRfc3986) {
  EXPECT_EQ(UriEncode("a b/c~d_e.f-g", false), "a%20b%2Fc~d_e.f-g");
  EXPECT_EQ(UriEncode("a b/c", true), "a%20b/c");
  EXPECT_EQ(UriEncode("\xff+=", false), "%FF%2B%3D");
  // A name without a value keeps its '=', as S3's ?uploads does.
  EXPECT_EQ(CanonicalQuery({{"uploads", ""}}), "uploads=");
  EXPECT_EQ(CanonicalQuery({{"b", "2"}, {"a", "x y"}, {"a", "1"}}), "a=1&a=x%20y&b=2");
  EXPECT_EQ(AmzDate(1369353600), "20130524T000000Z");
}

}  // namespace
}  // namespace arca::s3
