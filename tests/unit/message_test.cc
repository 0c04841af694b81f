#include "http/message.h"

#include <gtest/gtest.h>

namespace arca::http {
namespace {

TEST(MessageTest, QueryDecodingAndRepeats) {
  Request r;
  r.target = "/v2/a/manifests/x?tag=a&tag=b%2Bc&digest=sha256%3Aab&empty=&flag";
  EXPECT_EQ(r.QueryAll("tag"), (std::vector<std::string>{"a", "b+c"}));
  EXPECT_EQ(r.Query("digest"), "sha256:ab");
  EXPECT_EQ(r.Query("empty"), "");
  EXPECT_EQ(r.Query("flag"), "");
  EXPECT_FALSE(r.Query("missing").has_value());
}

TEST(MessageTest, HeadersAreCaseInsensitive) {
  Request r;
  r.headers = {{"content-TYPE", "x/y"}};
  EXPECT_EQ(r.HeaderValue("Content-Type"), "x/y");
  EXPECT_TRUE(r.HasHeader("CONTENT-type"));
  EXPECT_EQ(r.HeaderValue("Range"), "");
}

TEST(MessageTest, PercentCoding) {
  EXPECT_EQ(PercentDecode("a%2Fb%2f"), "a/b/");
  EXPECT_FALSE(PercentDecode("%").has_value());
  EXPECT_FALSE(PercentDecode("%4").has_value());
  EXPECT_FALSE(PercentDecode("%zz").has_value());
  EXPECT_EQ(PercentEncode("a b/c:d"), "a%20b%2Fc%3Ad");
  EXPECT_EQ(PercentDecode(PercentEncode("x&y=z")), "x&y=z");
}

TEST(MessageTest, ResponseHeaders) {
  Response res;
  res.Set("A", "1");
  res.Set("a", "2");
  res.Add("A", "3");
  ASSERT_EQ(res.headers.size(), 2u);
  EXPECT_EQ(res.headers[0].value, "2");
}

}  // namespace
}  // namespace arca::http
