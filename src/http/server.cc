#include "http/server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/beast/core/buffers_range.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <thread>

#include "http/access_log.h"
#include "util/random_id.h"

namespace arca::http {
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using boost::system::error_code;

namespace {

// A blocking socket whose reads and writes give up after the socket's timeouts
// (SO_RCVTIMEO / SO_SNDTIMEO). Satisfies Beast's SyncReadStream.
class SocketStream {
 public:
  explicit SocketStream(int fd) : fd_(fd) {}
  int fd() const { return fd_; }
  // Until cleared, reads fail with a timeout once the deadline passes, however slowly the
  // bytes trickle in (a request's headers must arrive whole in time: no slowloris).
  void SetDeadline(std::optional<std::chrono::steady_clock::time_point> d) { deadline_ = d; }

  template <class MutableBufferSequence>
  size_t read_some(const MutableBufferSequence& buffers, error_code& ec) {
    boost::asio::mutable_buffer b;
    for (auto it = boost::asio::buffer_sequence_begin(buffers);
         it != boost::asio::buffer_sequence_end(buffers); ++it) {
      if (it->size() > 0) {
        b = *it;
        break;
      }
    }
    if (b.size() == 0) return 0;
    while (true) {
      if (deadline_) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                        *deadline_ - std::chrono::steady_clock::now()).count();
        pollfd p{fd_, POLLIN, 0};
        if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) == 0) {
          ec = beast::error::timeout;
          return 0;
        }
      }
      ssize_t n = ::recv(fd_, b.data(), b.size(), 0);
      if (n > 0) {
        ec = {};
        return static_cast<size_t>(n);
      }
      if (n == 0) {
        ec = boost::asio::error::eof;
        return 0;
      }
      if (errno == EINTR) continue;
      ec = (errno == EAGAIN || errno == EWOULDBLOCK) ? error_code(beast::error::timeout)
                                                     : error_code(errno, boost::system::system_category());
      return 0;
    }
  }
  template <class MutableBufferSequence>
  size_t read_some(const MutableBufferSequence& buffers) {
    error_code ec;
    size_t n = read_some(buffers, ec);
    if (ec) throw boost::system::system_error(ec);
    return n;
  }

  bool WriteAll(const char* p, size_t len) {
    while (len > 0) {
      ssize_t n = ::send(fd_, p, len, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR) continue;
        return false;
      }
      p += n;
      len -= static_cast<size_t>(n);
    }
    return true;
  }

 private:
  int fd_;
  std::optional<std::chrono::steady_clock::time_point> deadline_;
};

using Parser = bhttp::request_parser<bhttp::buffer_body>;

// The request body as a ByteSource, read straight from the socket into the caller's buffer.
class BodyReader : public ByteSource {
 public:
  BodyReader(SocketStream& s, beast::flat_buffer& buf, Parser& p, bool expect_continue)
      : stream_(s), buf_(buf), parser_(p), expect_continue_(expect_continue) {}

  Result<size_t> Read(char* out, size_t len) override {
    if (parser_.is_done() || len == 0) return size_t{0};
    if (expect_continue_) {
      expect_continue_ = false;
      static const char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
      if (!stream_.WriteAll(kContinue, sizeof kContinue - 1)) return Broken("write failed");
    }
    while (true) {
      auto& body = parser_.get().body();
      body.data = out;
      body.size = len;
      body.more = true;
      error_code ec;
      bhttp::read(stream_, buf_, parser_, ec);
      size_t n = len - parser_.get().body().size;
      if (ec == bhttp::error::need_buffer) ec = {};
      if (ec) return Broken(ec.message());
      if (n > 0 || parser_.is_done()) return n;
    }
  }

  std::optional<uint64_t> Length() const override {
    auto cl = parser_.content_length();
    if (cl) return *cl;
    return std::nullopt;
  }

  bool failed() const { return failed_; }

 private:
  Status Broken(const std::string& why) {
    failed_ = true;
    return Status(ErrorCode::kSizeInvalid, "incomplete request body",
                  "the body ended before its announced length: " + why);
  }
  SocketStream& stream_;
  beast::flat_buffer& buf_;
  Parser& parser_;
  bool expect_continue_;
  bool failed_ = false;
};

const char* Reason(int status) {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 416: return "Range Not Satisfiable";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Unknown";
  }
}

bool SendBody(SocketStream& s, BodySource& src) {
  if (auto file = src.AsFile()) {
    off_t off = static_cast<off_t>(file->offset);
    uint64_t left = file->length;
    while (left > 0) {
      ssize_t n = ::sendfile(s.fd(), file->fd, &off, std::min<uint64_t>(left, 1u << 30));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      left -= static_cast<uint64_t>(n);
    }
    return true;
  }
  std::string buf(1 << 20, '\0');
  while (true) {
    auto n = src.Read(buf.data(), buf.size());
    if (!n.ok()) return false;
    if (*n == 0) return true;
    if (!s.WriteAll(buf.data(), *n)) return false;
  }
}

// Writes the response; false when the connection is no longer usable.
bool WriteResponse(SocketStream& s, Response& res, bool head, bool keep_alive, uint64_t& sent) {
  uint64_t length = res.stream ? res.stream->Length().value_or(0) : res.body.size();
  if (head && res.head_length) length = *res.head_length;
  std::string out;
  out.reserve(256 + res.body.size());
  out += "HTTP/1.1 " + std::to_string(res.status) + " " + Reason(res.status) + "\r\n";
  for (const Header& h : res.headers) out += h.name + ": " + h.value + "\r\n";
  if (res.status != 204 && res.status != 304) {
    out += "Content-Length: " + std::to_string(length) + "\r\n";
  }
  if (!keep_alive) out += "Connection: close\r\n";
  out += "\r\n";
  bool body = !head && res.status != 204 && res.status != 304;
  if (body && !res.stream) out += res.body;
  if (!s.WriteAll(out.data(), out.size())) return false;
  if (body && res.stream) {
    if (!SendBody(s, *res.stream)) return false;
    sent = length;
  } else if (body) {
    sent = res.body.size();
  }
  return true;
}

void SetTimeouts(int fd, int seconds) {
  timeval tv{seconds, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

// Closes after the response without resetting it away: unread request bytes at close() make
// the kernel send RST, which can destroy a response the client has not read yet. So stop
// writing, then discard what the client still sends for a short while.
void LingeringClose(int fd) {
  ::shutdown(fd, SHUT_WR);
  timeval tv{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char sink[65536];
  size_t total = 0;
  while (total < (64u << 20)) {
    ssize_t n = ::recv(fd, sink, sizeof sink, 0);
    if (n <= 0) break;
    total += static_cast<size_t>(n);
  }
  ::close(fd);
}

void SimpleError(SocketStream& s, int status, const char* code, const char* message) {
  std::string body = std::string("{\"errors\":[{\"code\":\"") + code + "\",\"message\":\"" +
                     message + "\",\"detail\":null}]}";
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + Reason(status) +
                    "\r\nContent-Type: application/json\r\nContent-Length: " +
                    std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
  s.WriteAll(out.data(), out.size());
}

}  // namespace

Server::Server(ServerOptions options, Handler handler)
    : options_(std::move(options)), handler_(std::move(handler)) {
  if (::pipe2(stop_pipe_, O_CLOEXEC) != 0) stop_pipe_[0] = stop_pipe_[1] = -1;
}

Server::~Server() {
  if (listen_fd_ >= 0) ::close(listen_fd_);
  // The stop pipe is left open: a connection thread that outlived the grace period may
  // still poll it while the process exits.
}

Status Server::Listen() {
  std::string host = options_.addr, port_text;
  size_t colon = host.rfind(':');
  if (colon == std::string::npos) {
    return Status(ErrorCode::kInternal, "bad listen address", options_.addr + " (want host:port)");
  }
  port_text = host.substr(colon + 1);
  host = host.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  int port = std::atoi(port_text.c_str());
  sockaddr_storage ss{};
  socklen_t len;
  int family;
  if (host.find(':') != std::string::npos) {
    auto* a6 = reinterpret_cast<sockaddr_in6*>(&ss);
    a6->sin6_family = family = AF_INET6;
    a6->sin6_port = htons(static_cast<uint16_t>(port));
    if (inet_pton(AF_INET6, host.c_str(), &a6->sin6_addr) != 1) {
      return Status(ErrorCode::kInternal, "bad listen address", options_.addr);
    }
    len = sizeof(sockaddr_in6);
  } else {
    auto* a4 = reinterpret_cast<sockaddr_in*>(&ss);
    a4->sin_family = family = AF_INET;
    a4->sin_port = htons(static_cast<uint16_t>(port));
    if (host.empty() || host == "0.0.0.0") {
      a4->sin_addr.s_addr = htonl(INADDR_ANY);
    } else if (host == "localhost") {
      a4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    } else if (inet_pton(AF_INET, host.c_str(), &a4->sin_addr) != 1) {
      return Status(ErrorCode::kInternal, "bad listen address", options_.addr);
    }
    len = sizeof(sockaddr_in);
  }
  listen_fd_ = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&ss), len) != 0 ||
      ::listen(listen_fd_, 1024) != 0) {
    return Status(ErrorCode::kInternal, "cannot listen",
                  options_.addr + ": " + std::strerror(errno));
  }
  sockaddr_storage bound{};
  socklen_t blen = sizeof bound;
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&bound), &blen);
  port_ = ntohs(family == AF_INET ? reinterpret_cast<sockaddr_in*>(&bound)->sin_port
                                  : reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
  return Status::Ok();
}

void Server::Shutdown() {
  stopping_.store(true);
  char c = 1;
  if (stop_pipe_[1] >= 0) (void)!::write(stop_pipe_[1], &c, 1);
}

size_t Server::Serve() {
  while (!stopping_.load()) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) continue;
    if (fds[1].revents) break;
    if (!(fds[0].revents & POLLIN)) continue;
    sockaddr_storage peer{};
    socklen_t plen = sizeof peer;
    int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&peer), &plen, SOCK_CLOEXEC);
    if (fd < 0) continue;
    char ip[INET6_ADDRSTRLEN] = "";
    if (peer.ss_family == AF_INET) {
      inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&peer)->sin_addr, ip, sizeof ip);
    } else {
      inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(&peer)->sin6_addr, ip, sizeof ip);
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    SetTimeouts(fd, options_.io_timeout_s);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (active_ >= options_.max_connections) {
        SocketStream s(fd);
        SimpleError(s, 503, "TOOMANYREQUESTS", "too many connections");
        ::close(fd);
        continue;
      }
      ++active_;
    }
    std::thread([this, fd, remote = std::string(ip)] {
      RunConnection(fd, remote);
      std::lock_guard<std::mutex> lock(mu_);
      if (--active_ == 0) idle_cv_.notify_all();
    }).detach();
  }
  ::close(listen_fd_);
  listen_fd_ = -1;
  std::unique_lock<std::mutex> lock(mu_);
  idle_cv_.wait_for(lock, std::chrono::seconds(options_.shutdown_grace_s),
                    [this] { return active_ == 0; });
  return active_;
}

void Server::RunConnection(int fd, std::string remote) {
  SocketStream stream(fd);
  beast::flat_buffer buf;
  static std::atomic<uint64_t> counter{0};
  static const std::string prefix = NewUuid().substr(0, 8);
  bool unread_body = false;
  while (!stopping_.load()) {
    if (buf.size() == 0) {  // idle: wait for the next request, or for shutdown
      pollfd fds[2] = {{fd, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
      int r = ::poll(fds, 2, options_.idle_timeout_s * 1000);
      if (r <= 0 || fds[1].revents || !(fds[0].revents & (POLLIN | POLLHUP))) break;
    }
    Parser parser;
    parser.header_limit(static_cast<std::uint32_t>(options_.max_header_bytes));
    parser.body_limit(boost::none);
    error_code ec;
    stream.SetDeadline(std::chrono::steady_clock::now() +
                       std::chrono::seconds(options_.io_timeout_s));
    bhttp::read_header(stream, buf, parser, ec);
    stream.SetDeadline(std::nullopt);
    if (ec) {
      if (ec == bhttp::error::header_limit || ec == bhttp::error::buffer_overflow) {
        SimpleError(stream, 431, "SIZE_INVALID", "request header fields too large");
      } else if (ec == beast::error::timeout) {
        SimpleError(stream, 408, "UNSUPPORTED", "request headers not received in time");
      } else if (ec != bhttp::error::end_of_stream &&
                 ec != boost::asio::error::eof && ec != boost::asio::error::connection_reset) {
        SimpleError(stream, 400, "UNSUPPORTED", "malformed HTTP request");
      }
      break;
    }
    auto start = std::chrono::steady_clock::now();
    auto& msg = parser.get();
    if (msg.version() >= 11 && msg.find(bhttp::field::host) == msg.end()) {
      SimpleError(stream, 400, "UNSUPPORTED", "HTTP/1.1 requests need a Host header");
      unread_body = !parser.is_done();
      break;
    }
    Request req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    // absolute-form ("http://host/v2/..."), which servers must accept (RFC 9112 3.2.2).
    for (const char* scheme : {"http://", "https://"}) {
      if (beast::iequals(req.target.substr(0, std::strlen(scheme)), scheme)) {
        size_t slash = req.target.find('/', std::strlen(scheme));
        req.target = slash == std::string::npos ? "/" : req.target.substr(slash);
      }
    }
    req.path = req.target.substr(0, req.target.find('?'));
    req.remote = remote;
    req.request_id = prefix + "-" + std::to_string(++counter);
    for (const auto& f : msg) {
      req.headers.push_back({std::string(f.name_string()), std::string(f.value())});
    }
    bool expect_continue = beast::iequals(msg[bhttp::field::expect], "100-continue");
    BodyReader body(stream, buf, parser, expect_continue);
    req.body = &body;
    Response res;
    handler_(req, res);
    res.Set("X-Request-Id", req.request_id);
    bool keep_alive = parser.keep_alive() && !stopping_.load() && !body.failed();
    if (keep_alive && !parser.is_done()) {
      // The handler did not read the body (an early error): drain a little, else close.
      char sink[16384];
      size_t drained = 0;
      while (!parser.is_done() && drained < (1u << 20)) {
        auto n = body.Read(sink, sizeof sink);
        if (!n.ok() || *n == 0) break;
        drained += *n;
      }
      keep_alive = parser.is_done() && !body.failed();
    }
    uint64_t sent = 0;
    bool ok = WriteResponse(stream, res, req.method == "HEAD", keep_alive, sent);
    if (options_.access_log) {
      auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                        std::chrono::steady_clock::now() - start).count();
      LogAccess(req, res.status, sent, micros);
    }
    if (!ok || !keep_alive) {
      unread_body = ok && !parser.is_done();
      break;
    }
  }
  if (unread_body) {
    LingeringClose(fd);
    return;
  }
  ::shutdown(fd, SHUT_WR);
  ::close(fd);
}

}  // namespace arca::http
