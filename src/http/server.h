// The HTTP/1.1 server: accepts connections on a loopback or public address and hands each
// request to one Handler. A thread per connection with blocking, time-limited socket I/O;
// request bodies stream through Request::body, responses stream from Response::stream (with
// sendfile when the bytes are a file). Boost.Beast parses; only server.cc includes it.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>

#include "http/message.h"
#include "util/status.h"

namespace arca::http {

using Handler = std::function<void(Request&, Response&)>;

struct ServerOptions {
  std::string addr = "127.0.0.1:5000";  // host:port; [v6]:port also accepted
  size_t max_connections = 1024;        // more are answered 503 and closed
  int idle_timeout_s = 60;              // keep-alive connection with no request
  int io_timeout_s = 60;                // a stalled read or write of a request in progress
  size_t max_header_bytes = 64 * 1024;  // request line + headers; over it: 431
  int shutdown_grace_s = 10;            // how long in-flight requests may finish on stop
  bool access_log = true;               // JSON lines on stdout
};

class Server {
 public:
  Server(ServerOptions options, Handler handler);
  ~Server();

  // Binds and listens; an error names the address.
  Status Listen();
  // The port actually bound (useful with port 0).
  int port() const { return port_; }
  // Accepts and serves until Shutdown; then waits for in-flight requests up to the grace
  // period. Returns the number of connections still open when it gave up waiting.
  size_t Serve();
  // Thread-safe and async-signal-safe: stop accepting, finish in-flight requests.
  void Shutdown();

 private:
  void RunConnection(int fd, std::string remote);

  ServerOptions options_;
  Handler handler_;
  int listen_fd_ = -1;
  int port_ = 0;
  int stop_pipe_[2] = {-1, -1};  // readable once Shutdown is called
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::condition_variable idle_cv_;
  size_t active_ = 0;  // GUARDED_BY(mu_)
};

}  // namespace arca::http
