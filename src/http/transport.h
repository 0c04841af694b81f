// How a connection's bytes cross the wire: plain TCP, or TLS over it (tls.h). Every call is
// non-blocking: it moves what it can now, or says what the connection must wait for, so the
// event loop (with async waits) and a worker thread (with poll) drive the same transport.
// Only one thread uses a transport at a time: the connection hands it between its lane and
// a worker, and the hand-off (a queue under a mutex) orders their accesses.
//
// Why not asio::ssl::stream: it is driven either by async operations or by blocking ones on a
// blocking socket, while a connection here is both, in turn (the event loop waits for
// headers and sends files; a worker reads the body with poll-bounded waits). TlsTransport
// drives the same OpenSSL that asio::ssl wraps, one non-blocking call at a time, and each
// side waits for the socket in its own way (async_wait or poll).
#pragma once

#include <cstddef>

namespace arca::http {

class Transport {
 public:
  enum class Io {
    kDone,       // n bytes moved (n > 0), or the handshake finished
    kWantRead,   // wait until the socket is readable, then call again with the same arguments
    kWantWrite,  // wait until the socket is writable, then call again with the same arguments
    kEof,        // the peer closed (reads only)
    kError,      // the connection is unusable
  };
  struct Step {
    Io io;
    size_t n = 0;
  };

  explicit Transport(int fd) : fd_(fd) {}
  virtual ~Transport() = default;
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  int fd() const { return fd_; }
  virtual bool secure() const = 0;
  // Completes the TLS handshake (plain TCP has none: kDone at once).
  virtual Step Handshake() = 0;
  virtual Step Read(char* buf, size_t len) = 0;
  virtual Step Write(const char* data, size_t len) = 0;
  // Bytes already received and decoded that a Read would return without touching the
  // socket (TLS records are read whole): the socket may look idle while a request waits.
  virtual bool Buffered() const = 0;
  // Says goodbye on the wire where the protocol has one (TLS close_notify); best effort,
  // never waits. The socket itself belongs to the caller.
  virtual void Close() = 0;

 private:
  int fd_;
};

// Plain TCP: recv and send on the non-blocking socket.
class PlainTransport : public Transport {
 public:
  using Transport::Transport;
  bool secure() const override { return false; }
  Step Handshake() override { return {Io::kDone}; }
  Step Read(char* buf, size_t len) override;
  Step Write(const char* data, size_t len) override;
  bool Buffered() const override { return false; }
  void Close() override {}
};

}  // namespace arca::http
