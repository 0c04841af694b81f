#include "registry/upload_stream.h"

#include "util/hash_pipeline.h"

#include <memory>
#include <optional>
#include <string>

namespace arca {

namespace {

constexpr size_t kChunk = 1 << 20;
// Bodies larger than this (or of unknown length) are hashed on a helper thread.
constexpr uint64_t kPipelineMin = 4 << 20;
constexpr size_t kPipelineDepth = 4;

// Reads until buf holds cap bytes or the body ends.
Result<size_t> Fill(ByteSource& body, char* buf, size_t cap) {
  size_t filled = 0;
  while (filled < cap) {
    auto n = body.Read(buf + filled, cap - filled);
    if (!n.ok()) return n.status();
    if (*n == 0) break;
    filled += *n;
  }
  return filled;
}

}  // namespace

Result<uint64_t> StreamInto(ByteSource& body, UploadWriter& writer, Hasher& hasher,
                            std::optional<uint64_t> expected) {
  auto length = body.Length();
  std::optional<HashPipeline> pipeline;
  std::unique_ptr<char[]> own;
  size_t buf_size = kChunk;
  if (!length || *length > kPipelineMin) {
    pipeline.emplace(hasher, kPipelineDepth, kChunk);
  } else {
    buf_size = static_cast<size_t>(std::min<uint64_t>(kChunk, *length + 1));
    own.reset(new char[buf_size]);
  }
  uint64_t total = 0;
  while (true) {
    char* buf = pipeline ? pipeline->NextBuffer() : own.get();
    size_t cap = buf_size;
    if (expected) cap = static_cast<size_t>(std::min<uint64_t>(cap, *expected - total + 1));
    auto n = Fill(body, buf, cap);
    if (!n.ok()) return n.status();
    if (*n == 0) break;
    total += *n;
    if (expected && total > *expected) {
      return Status(ErrorCode::kSizeInvalid, "size invalid",
                    "the body is longer than its Content-Range says");
    }
    ARCA_RETURN_IF_ERROR(writer.Write(buf, *n));
    if (pipeline) {
      pipeline->Submit(*n);
    } else {
      hasher.Update(buf, *n);
    }
  }
  if (pipeline) pipeline->Finish();
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
