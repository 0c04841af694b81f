#include "http/blocking_socket.h"

#include <poll.h>

#include <cerrno>
#include <chrono>

namespace arca::http {

bool BlockingSocket::Wait(short events) {
  while (true) {
    auto wait = guard_.NextWait();
    auto start = std::chrono::steady_clock::now();
    pollfd p{transport_.fd(), events, 0};
    int r = ::poll(&p, 1, static_cast<int>(wait.count()));
    auto spent = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - start);
    if (r < 0 && errno != EINTR) return false;
    if (!guard_.Waited(spent)) return false;
    if (r > 0) return true;  // ready, or hung up / in error: the next call says which
  }
}

BlockingSocket::Outcome BlockingSocket::Await(Transport::Io want) {
  if (Wait(want == Transport::Io::kWantRead ? POLLIN : POLLOUT)) return Outcome::kOk;
  return guard_.failed() ? Outcome::kTooSlow : Outcome::kError;
}

BlockingSocket::Outcome BlockingSocket::Recv(char* buf, size_t len, size_t* n) {
  while (true) {
    Transport::Step step = transport_.Read(buf, len);
    switch (step.io) {
      case Transport::Io::kDone:
        guard_.Bytes(step.n);
        *n = step.n;
        return Outcome::kOk;
      case Transport::Io::kEof: return Outcome::kEof;
      case Transport::Io::kError: return Outcome::kError;
      case Transport::Io::kWantRead:
      case Transport::Io::kWantWrite:
        if (Outcome o = Await(step.io); o != Outcome::kOk) return o;
        break;
    }
  }
}

BlockingSocket::Outcome BlockingSocket::SendAll(const char* data, size_t len) {
  while (len > 0) {
    Transport::Step step = transport_.Write(data, len);
    switch (step.io) {
      case Transport::Io::kDone:
        guard_.Bytes(step.n);
        data += step.n;
        len -= step.n;
        break;
      case Transport::Io::kEof:
      case Transport::Io::kError: return Outcome::kError;
      case Transport::Io::kWantRead:
      case Transport::Io::kWantWrite:
        if (Outcome o = Await(step.io); o != Outcome::kOk) return o;
        break;
    }
  }
  return Outcome::kOk;
}

}  // namespace arca::http
