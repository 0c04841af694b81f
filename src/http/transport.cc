#include "http/transport.h"

#include <sys/socket.h>

#include <cerrno>

namespace arca::http {

Transport::Step PlainTransport::Read(char* buf, size_t len) {
  while (true) {
    ssize_t r = ::recv(fd(), buf, len, MSG_DONTWAIT);
    if (r > 0) return {Io::kDone, static_cast<size_t>(r)};
    if (r == 0) return {Io::kEof};
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return {Io::kWantRead};
    return {Io::kError};
  }
}

Transport::Step PlainTransport::Write(const char* data, size_t len) {
  while (true) {
    ssize_t r = ::send(fd(), data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (r >= 0) return {Io::kDone, static_cast<size_t>(r)};
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return {Io::kWantWrite};
    return {Io::kError};
  }
}

}  // namespace arca::http
