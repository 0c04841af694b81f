// A ByteSource over a string, handing out at most `step` bytes a read; optionally it fails
// after `fail_after` bytes, like a client that hangs up mid-body.
#pragma once

#include <algorithm>
#include <cstring>
#include <string>

#include "util/byte_source.h"

namespace arca::testing {

class StringSource : public ByteSource {
 public:
  explicit StringSource(std::string data, size_t step = 7, bool announce_length = true,
                        size_t fail_after = std::string::npos)
      : data_(std::move(data)), step_(step), announce_(announce_length), fail_after_(fail_after) {}
  Result<size_t> Read(char* buf, size_t len) override {
    if (pos_ >= fail_after_) return Status(ErrorCode::kSizeInvalid, "incomplete request body");
    size_t n = std::min({len, step_, data_.size() - pos_, fail_after_ - pos_});
    std::memcpy(buf, data_.data() + pos_, n);
    pos_ += n;
    return n;
  }
  std::optional<uint64_t> Length() const override {
    if (!announce_) return std::nullopt;
    return data_.size();
  }

 private:
  std::string data_;
  size_t step_;
  bool announce_;
  size_t fail_after_;
  size_t pos_ = 0;
};

}  // namespace arca::testing
