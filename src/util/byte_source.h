// Pull-based byte streams: how request bodies reach the registry and how stored bytes reach
// the HTTP layer, without either side knowing where the bytes live.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "util/status.h"

namespace arca {

// A stream read front to back. Read returns 0 only at the end of the stream; a stream that
// ends before the length it announced (a truncated request body) reports an error instead.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  virtual Result<size_t> Read(char* buf, size_t len) = 0;
  // The total length when known in advance (Content-Length), else nullopt (chunked).
  virtual std::optional<uint64_t> Length() const = 0;
};

// A span of an open file, for zero-copy sends (sendfile). The fd stays owned by its source.
struct FileSpan {
  int fd = -1;
  uint64_t offset = 0;
  uint64_t length = 0;
};

// A stored blob (or part of one) on its way out.
class BodySource : public ByteSource {
 public:
  // When the bytes are a span of a local file, the HTTP layer sends them with sendfile.
  virtual std::optional<FileSpan> AsFile() const { return std::nullopt; }
};

}  // namespace arca
