#include "api/read_body.h"

namespace arca::api {

Result<std::string> ReadBounded(ByteSource& body, size_t limit, const std::string& what) {
  auto too_large = [&] {
    return Status(ErrorCode::kTooLarge, what + " too large",
                  "the limit is " + std::to_string(limit) + " bytes");
  };
  if (auto len = body.Length(); len && *len > limit) return too_large();
  std::string out;
  char buf[65536];
  while (true) {
    auto n = body.Read(buf, sizeof buf);
    if (!n.ok()) return n.status();
    if (*n == 0) return out;
    if (out.size() + *n > limit) return too_large();
    out.append(buf, *n);
  }
}

}  // namespace arca::api
