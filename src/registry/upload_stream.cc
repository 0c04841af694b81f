#include "registry/upload_stream.h"

#include <memory>
#include <string>

namespace arca {

namespace {
constexpr size_t kChunk = 1 << 20;
}

Result<uint64_t> StreamInto(ByteSource& body, UploadWriter& writer, Hasher& hasher,
                            std::optional<uint64_t> expected) {
  std::unique_ptr<char[]> buf(new char[kChunk]);
  uint64_t total = 0;
  while (true) {
    size_t want = kChunk;
    if (expected) want = static_cast<size_t>(std::min<uint64_t>(kChunk, *expected - total + 1));
    auto n = body.Read(buf.get(), want);
    if (!n.ok()) return n.status();
    if (*n == 0) break;
    total += *n;
    if (expected && total > *expected) {
      return Status(ErrorCode::kSizeInvalid, "size invalid",
                    "the body is longer than its Content-Range says");
    }
    hasher.Update(buf.get(), *n);
    ARCA_RETURN_IF_ERROR(writer.Write(buf.get(), *n));
  }
  if (expected && total != *expected) {
    return Status(ErrorCode::kSizeInvalid, "size invalid",
                  "the body is shorter than its Content-Range says");
  }
  return total;
}

Result<Hasher> HashAll(ByteSource& source, DigestAlgorithm algorithm) {
  std::unique_ptr<char[]> buf(new char[kChunk]);
  Hasher h(algorithm);
  while (true) {
    auto n = source.Read(buf.get(), kChunk);
    if (!n.ok()) return n.status();
    if (*n == 0) break;
    h.Update(buf.get(), *n);
  }
  return h;
}

}  // namespace arca
