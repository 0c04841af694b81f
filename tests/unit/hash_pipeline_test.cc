#include "util/hash_pipeline.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

namespace arca {
namespace {

TEST(HashPipelineTest, SameDigestAsHashingInline) {
  std::string data(5 * 1000 * 1000 + 17, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7 + i / 1000);
  Hasher piped(DigestAlgorithm::kSha256);
  {
    HashPipeline pipe(piped, 3, 65536);
    for (size_t off = 0; off < data.size(); off += pipe.buffer_size()) {
      size_t n = std::min(pipe.buffer_size(), data.size() - off);
      char* buf = pipe.NextBuffer();
      std::memcpy(buf, data.data() + off, n);
      pipe.Submit(n);
    }
    pipe.Finish();
  }
  EXPECT_EQ(piped.HexDigest(), HexDigestOf(DigestAlgorithm::kSha256, data));
}

TEST(HashPipelineTest, DestroyingMidStreamDoesNotHang) {
  Hasher h(DigestAlgorithm::kSha256);
  HashPipeline pipe(h, 2, 16);
  std::memcpy(pipe.NextBuffer(), "abc", 3);
  pipe.Submit(3);
  // No Finish: an upload that failed half-way just drops its pipeline.
}

}  // namespace
}  // namespace arca
