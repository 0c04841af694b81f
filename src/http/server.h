// The HTTP/1.1 server: accepts connections on a loopback or public address, over plain TCP
// or TLS, and hands each request to one Handler.
//
// Thread model. `io_threads` threads (one per core by default) each run an event loop over
// their share of the connections: accepting, waiting for and parsing request headers, idle
// keep-alive, and sending responses (files with sendfile) happen there without blocking:
// a file section not found in the page cache is read in (readahead) on a worker first.
// A parsed request is handed to the worker pool (worker_pool.h), where the Handler runs and
// may block: SQLite, fsync, hashing, and reading the request body from the socket. When it
// returns, the connection goes back to its event loop to send the response. So a connection
// holds a thread only while one of its requests is being handled, and idle or slow-header
// connections cost a few KiB each.
//
// Every phase has a deadline: an idle keep-alive connection lives idle_timeout; a request's
// headers must arrive whole within header_timeout of their first byte; bodies and responses
// must keep moving (TransferLimits: no stall longer than io_timeout, and at least min_rate
// bytes/s averaged over rate_window). Connections are limited in total and per client
// address; near the total, idle connections are closed first to make room. When file
// descriptors run out, accepting pauses and the waiting client gets a 503.
//
// Boost.Beast parses; Beast and Asio stay inside http/'s .cc files.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "http/message.h"
#include "util/status.h"

namespace arca::http {

using Handler = std::function<void(Request&, Response&)>;

struct ServerOptions {
  std::string addr = "127.0.0.1:5000";  // host:port; [v6]:port also accepted
  size_t max_connections = 1024;        // open connections at most; beyond, 503
  size_t max_connections_per_client = 256;  // per client address; beyond, 429; 0: no limit
  int idle_timeout_s = 60;              // keep-alive connection with no request
  int header_timeout_s = 20;            // a request's headers, whole, from their first byte
  int io_timeout_s = 60;                // a body or response that moves no byte at all
  size_t min_rate = 1024;               // bytes/s a body or response must average; 0: off
  int rate_window_s = 30;               // ... over this much time spent waiting on the client
  size_t max_header_bytes = 64 * 1024;  // request line + headers; over it: 431
  int shutdown_grace_s = 10;            // how long in-flight requests may finish on stop
  size_t io_threads = 0;                // event-loop threads; 0: one per core
  bool access_log = true;               // JSON lines on stdout
  // HTTPS when both are set (PEM files; tls.h): TLS 1.2 and 1.3, the files checked for a new
  // version every tls_reload_ms (0: never).
  std::string tls_cert;
  std::string tls_key;
  int tls_reload_ms = 1000;
  // Called once per request answered (metrics): the request, its response, the body bytes
  // read and sent, and the time from the request's first byte to the response's last.
  std::function<void(const Request&, const Response&, uint64_t received, uint64_t sent,
                     int64_t micros)>
      observe;
};

class Server {
 public:
  Server(ServerOptions options, Handler handler);
  ~Server();

  // Binds and listens; an error names the address.
  Status Listen();
  // Connections open now.
  size_t open_connections() const;
  // The port actually bound (useful with port 0).
  int port() const;
  // Serving HTTPS (after a successful Listen), and the certificate's subject and expiry.
  bool tls() const;
  std::string TlsDescription() const;
  // Serves until Shutdown; then lets in-flight requests finish for up to the grace period,
  // cuts what is left, and joins every thread it started. Returns the number of connections
  // that were cut.
  size_t Serve();
  // Thread-safe: stop accepting, close idle connections, finish in-flight requests.
  void Shutdown();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace arca::http
