#include "http/blocking_socket.h"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>

namespace arca::http {

bool BlockingSocket::Wait(short events) {
  while (true) {
    auto wait = guard_.NextWait();
    auto start = std::chrono::steady_clock::now();
    pollfd p{fd_, events, 0};
    int r = ::poll(&p, 1, static_cast<int>(wait.count()));
    auto spent = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - start);
    if (r < 0 && errno != EINTR) return false;
    if (!guard_.Waited(spent)) return false;
    if (r > 0) return true;  // ready, or hung up / in error: the next call says which
  }
}

BlockingSocket::Outcome BlockingSocket::Recv(char* buf, size_t len, size_t* n) {
  while (true) {
    ssize_t r = ::recv(fd_, buf, len, 0);
    if (r > 0) {
      guard_.Bytes(static_cast<uint64_t>(r));
      *n = static_cast<size_t>(r);
      return Outcome::kOk;
    }
    if (r == 0) return Outcome::kEof;
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return Outcome::kError;
    if (!Wait(POLLIN)) return guard_.failed() ? Outcome::kTooSlow : Outcome::kError;
  }
}

BlockingSocket::Outcome BlockingSocket::SendAll(const char* data, size_t len) {
  while (len > 0) {
    ssize_t r = ::send(fd_, data, len, MSG_NOSIGNAL);
    if (r > 0) {
      guard_.Bytes(static_cast<uint64_t>(r));
      data += r;
      len -= static_cast<size_t>(r);
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return Outcome::kError;
    if (!Wait(POLLOUT)) return guard_.failed() ? Outcome::kTooSlow : Outcome::kError;
  }
  return Outcome::kOk;
}

}  // namespace arca::http
