// Small POSIX file helpers with Status results: durable writes and directory syncs.
#pragma once

#include <string>

#include "util/status.h"

namespace arca {

// An fd closed on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd();
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  int get() const { return fd_; }
  int release() {
    int f = fd_;
    fd_ = -1;
    return f;
  }
  explicit operator bool() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// Creates dir and its parents (mode 0755); ok when it already exists.
Status MakeDirs(const std::string& dir);
// fsyncs a directory so that a rename or create in it survives a crash.
Status SyncDir(const std::string& dir);
// Writes all of data at the fd's position; retries short writes and EINTR.
Status WriteAll(int fd, const char* data, size_t len);
// The whole of a regular file of at most max_bytes: NAME_UNKNOWN when there is no such file,
// TOO_LARGE past the bound (definitions and policies an operator hands in).
Result<std::string> ReadSmallFile(const std::string& path, size_t max_bytes);
// An internal Status carrying errno's text.
Status ErrnoStatus(const std::string& what);

}  // namespace arca
