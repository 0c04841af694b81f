#include "http/server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "http/server_impl.h"
#include "util/random_id.h"

namespace arca::http {
using boost::system::error_code;

namespace {

constexpr auto kSweepTick = std::chrono::milliseconds(250);

size_t IoThreads(const ServerOptions& o) {
  size_t n = o.io_threads ? o.io_threads : std::thread::hardware_concurrency();
  return n < 1 ? 1 : n;
}

// One per core keeps the cores busy with the fewest context switches (measured: wrk manifest
// GETs 27k/s with one per core, 26k with two, 20k with four; the Go client 15k, 12k, 10k).
// When their tasks wait on the disk, Rescue adds threads, up to four per core.
size_t QuickThreads(const ServerOptions& o) { return IoThreads(o); }
constexpr auto kQuickMaxWait = std::chrono::milliseconds(20);

// Constructed on the lane's thread, since it joins the lane's list of connections.
asio::awaitable<void> RunConnection(Server::Impl& server, Lane& lane, tcp::socket socket,
                                    std::unique_ptr<Transport> transport, std::string remote) {
  Connection c(server, lane, std::move(socket), std::move(transport), std::move(remote));
  co_await c.Run();
}

std::string AddressOf(const tcp::endpoint& ep) {
  auto a = ep.address();
  if (a.is_v6() && a.to_v6().is_v4_mapped()) {
    return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6()).to_string();
  }
  return a.to_string();
}

// Drains what the client already sent (so close() does not reset the answer away), answers,
// and closes.
void AnswerAndClose(int fd, const std::string& response) {
  char sink[4096];
  while (::recv(fd, sink, sizeof sink, MSG_DONTWAIT) > 0) {
  }
  (void)!::send(fd, response.data(), response.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  ::shutdown(fd, SHUT_WR);
  ::close(fd);
}

// UBSan's vptr check (the Debug build's) reads an object's vtable through a pipe() the first
// time it meets the object's type; with every descriptor taken, which this server must
// survive, it cannot, and reports the first error code of a category used then as an invalid
// object. Each category the connections use is met once here, at start, so its check is
// cached. Costs nothing without the sanitizer.
void MeetErrorCategories() {
  const error_code codes[] = {asio::error::eof, asio::error::operation_aborted,
                              asio::error::host_not_found, asio::error::service_not_found,
                              bhttp::error::end_of_stream, beast::error::timeout};
  for (const error_code& ec : codes) {
    volatile const char* name = ec.category().name();  // a virtual call: the check runs
    (void)name;
  }
}

}  // namespace

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
    case 409: return "Conflict";
    case 413: return "Content Too Large";
    case 416: return "Range Not Satisfiable";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    default: return "Unknown";
  }
}

std::string ErrorResponse(int status, const char* code, const char* message) {
  std::string body = std::string("{\"errors\":[{\"code\":\"") + code + "\",\"message\":\"" +
                     message + "\",\"detail\":null}]}";
  std::string extra = (status == 503 || status == 429) ? "Retry-After: 1\r\n" : "";
  return "HTTP/1.1 " + std::to_string(status) + " " + Reason(status) +
         "\r\nContent-Type: application/json\r\n" + extra +
         "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
}

// ---- lanes ---------------------------------------------------------------------------

asio::awaitable<void> Lane::SweepLoop() {
  auto last = SteadyClock::now();
  while (true) {
    sweep_timer.expires_after(kSweepTick);
    error_code ec;
    co_await sweep_timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    // The time that really passed: a late tick on a busy loop must not stretch the limits.
    auto now = SteadyClock::now();
    auto tick = std::chrono::duration_cast<std::chrono::milliseconds>(now - last);
    last = now;
    for (Connection* c : connections) c->Sweep(now, tick);
    if (this == server.lanes[0].get()) server.quick.Rescue(kQuickMaxWait);
  }
}

bool Lane::ClaimIdle() {
  size_t c = claimed.load();
  while (c < idle.load()) {
    if (claimed.compare_exchange_weak(c, c + 1)) return true;
  }
  return false;
}

void Lane::ReclaimOldestIdle() {
  Connection* oldest = nullptr;
  for (Connection* c : connections) {
    if (c->reclaimable() && (!oldest || c->idle_since() < oldest->idle_since())) oldest = c;
  }
  if (oldest) oldest->CloseIfIdle();
  claimed.fetch_sub(1);
}

void Lane::CloseIdle() {
  for (Connection* c : connections) c->CloseIfIdle();
}

void Lane::CutAll() {
  for (Connection* c : connections) c->Cut();
}

// ---- the server ----------------------------------------------------------------------

Server::Impl::Impl(ServerOptions o, Handler h)
    : options(std::move(o)),
      handler(std::move(h)),
      pool(4, options.max_connections + 16),
      quick(QuickThreads(options), 4 * QuickThreads(options), std::chrono::seconds(30),
            QuickThreads(options)),
      limits(options.max_connections, options.max_connections_per_client),
      request_prefix(NewUuid().substr(0, 8)),
      access_log(options.access_log ? std::make_unique<AccessLog>() : nullptr) {
  for (size_t i = 0; i < IoThreads(options); ++i) lanes.push_back(std::make_unique<Lane>(*this));
}

TransferLimits Server::Impl::transfer_limits() const {
  return TransferLimits{.stall = std::chrono::seconds(options.io_timeout_s),
                        .window = std::chrono::seconds(options.rate_window_s),
                        .min_rate = options.min_rate};
}

void Server::Impl::ConnectionClosed(const std::string& remote) {
  limits.Release(remote);
  if (stopping.load()) {
    std::lock_guard<std::mutex> lock(mu);
    closed_cv.notify_all();
  }
}

bool Server::Impl::ReclaimIdle() {
  // Some lane with an idle connection not yet promised to another newcomer gives up its
  // oldest one.
  for (size_t i = 0; i < lanes.size(); ++i) {
    Lane* l = lanes[(next_lane + i) % lanes.size()].get();
    if (l->ClaimIdle()) {
      asio::post(l->ctx, [l] { l->ReclaimOldestIdle(); });
      return true;
    }
  }
  return false;
}

void Server::Impl::Refuse(int fd, int status, const char* message) {
  if (tls) {
    // No plain-text answer on a TLS port, and no handshake spent on a refused client.
    ::close(fd);
    return;
  }
  AnswerAndClose(fd, ErrorResponse(status, "TOOMANYREQUESTS", message));
}

void Server::Impl::RefuseWithReserveFd() {
  // Out of descriptors: give back the spare one, take the waiting client, tell it to come
  // back, and keep the spare again for next time.
  if (reserve_fd >= 0) ::close(reserve_fd);
  reserve_fd = -1;
  int fd = ::accept4(acceptor->native_handle(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (fd >= 0) Refuse(fd, 503, "server out of file descriptors");
  reserve_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
}

void Server::Impl::Admit(tcp::socket socket, Lane& lane) {
  error_code ec;
  auto peer = socket.remote_endpoint(ec);
  if (ec) return;  // already gone
  std::string remote = AddressOf(peer);
  auto verdict = limits.Acquire(remote);
  if (verdict == ClientLimits::Verdict::kServerFull && ReclaimIdle()) {
    // An idle connection is closing to make room for this one.
    verdict = limits.Acquire(remote, /*over_total=*/true);
  }
  if (verdict != ClientLimits::Verdict::kAdmitted) {
    bool client = verdict == ClientLimits::Verdict::kClientFull;
    Refuse(socket.release(ec), client ? 429 : 503,
           client ? "too many connections from this address" : "too many connections");
    return;
  }
  socket.set_option(tcp::no_delay(true), ec);
  int fd = socket.native_handle();
  std::unique_ptr<Transport> transport =
      tls ? tls->Accept(fd) : std::make_unique<PlainTransport>(fd);
  if (!transport) {
    limits.Release(remote);
    return;  // the socket closes here
  }
  asio::co_spawn(lane.ctx,
                 RunConnection(*this, lane, std::move(socket), std::move(transport),
                               std::move(remote)),
                 asio::detached);
}

asio::awaitable<void> Server::Impl::AcceptLoop() {
  asio::steady_timer pause(lanes[0]->ctx);
  while (!stopping.load()) {
    Lane& lane = *lanes[next_lane++ % lanes.size()];
    error_code ec;
    tcp::socket socket =
        co_await acceptor->async_accept(lane.ctx, asio::redirect_error(asio::use_awaitable, ec));
    if (stopping.load() || ec == asio::error::operation_aborted) break;
    if (ec) {
      if (ec.value() == EMFILE || ec.value() == ENFILE || ec.value() == ENOBUFS ||
          ec.value() == ENOMEM) {
        // Back-pressure: make room from idle connections, answer the waiting client, and
        // pause rather than spin on a failing accept.
        ReclaimIdle();
        RefuseWithReserveFd();
        pause.expires_after(std::chrono::milliseconds(50));
        co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      }
      continue;  // ECONNABORTED and the like concern one client only
    }
    try {
      Admit(std::move(socket), lane);
    } catch (const std::exception& e) {  // out of memory, say: refuse this one, keep accepting
      std::fprintf(stderr, "arca: could not admit a connection: %s\n", e.what());
    }
  }
}

Server::Server(ServerOptions options, Handler handler)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler))) {}

Server::~Server() {
  if (impl_->reserve_fd >= 0) ::close(impl_->reserve_fd);
}

int Server::port() const { return impl_->port; }

size_t Server::open_connections() const { return impl_->limits.open(); }

Status Server::Listen() {
  MeetErrorCategories();
  if (!impl_->options.tls_cert.empty() || !impl_->options.tls_key.empty()) {
    if (impl_->options.tls_cert.empty() || impl_->options.tls_key.empty()) {
      return Status(ErrorCode::kInternal, "TLS needs both a certificate and a key",
                    "set tls_cert and tls_key");
    }
    auto tls = std::make_unique<TlsContext>(impl_->options.tls_cert, impl_->options.tls_key);
    Status s = tls->Load();
    if (!s.ok()) return s;
    impl_->tls = std::move(tls);
  }
  const std::string& addr = impl_->options.addr;
  std::string host = addr;
  size_t colon = host.rfind(':');
  if (colon == std::string::npos) {
    return Status(ErrorCode::kInternal, "bad listen address", addr + " (want host:port)");
  }
  std::string port_text = host.substr(colon + 1);
  host = host.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty()) host = "0.0.0.0";
  if (host == "localhost") host = "127.0.0.1";
  char* end = nullptr;
  long port = std::strtol(port_text.c_str(), &end, 10);
  if (port_text.empty() || *end != '\0' || port < 0 || port > 65535) {
    return Status(ErrorCode::kInternal, "bad listen address", addr + " (bad port)");
  }
  error_code ec;
  auto ip = asio::ip::make_address(host, ec);
  if (ec) return Status(ErrorCode::kInternal, "bad listen address", addr);
  tcp::endpoint ep(ip, static_cast<uint16_t>(port));
  auto acceptor = std::make_unique<tcp::acceptor>(impl_->lanes[0]->ctx);
  acceptor->open(ep.protocol(), ec);
  if (!ec) acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor->bind(ep, ec);
  if (!ec) acceptor->listen(4096, ec);
  if (ec) return Status(ErrorCode::kInternal, "cannot listen", addr + ": " + ec.message());
  impl_->port = acceptor->local_endpoint(ec).port();
  impl_->acceptor = std::move(acceptor);
  impl_->reserve_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  return Status::Ok();
}

void Server::Shutdown() {
  Impl& s = *impl_;
  if (s.stopping.exchange(true)) return;
  asio::post(s.lanes[0]->ctx, [&s] {
    error_code ignored;
    if (s.acceptor) s.acceptor->close(ignored);
  });
  for (auto& lane : s.lanes) {
    Lane* l = lane.get();
    asio::post(l->ctx, [l] { l->CloseIdle(); });
  }
  std::lock_guard<std::mutex> lock(s.mu);
  s.closed_cv.notify_all();
}

bool Server::tls() const { return impl_->tls != nullptr; }

std::string Server::TlsDescription() const { return impl_->tls ? impl_->tls->Describe() : ""; }

size_t Server::Serve() {
  Impl& s = *impl_;
  if (s.tls && s.options.tls_reload_ms > 0) s.tls->Watch(s.options.tls_reload_ms);
  asio::co_spawn(s.lanes[0]->ctx, s.AcceptLoop(), asio::detached);
  for (auto& lane : s.lanes) {
    Lane* l = lane.get();
    asio::co_spawn(l->ctx, l->SweepLoop(), asio::detached);
    l->thread = std::thread([l] {
      auto guard = asio::make_work_guard(l->ctx);
      l->ctx.run();
    });
  }
  std::unique_lock<std::mutex> lock(s.mu);
  s.closed_cv.wait(lock, [&s] { return s.stopping.load(); });
  bool drained = s.closed_cv.wait_for(lock, std::chrono::seconds(s.options.shutdown_grace_s),
                                      [&s] { return s.limits.open() == 0; });
  size_t cut = s.limits.open();
  if (!drained) {
    // Past the grace: end what is left. Workers blocked on those sockets wake at once;
    // a handler busy with the disk or the database finishes its step first.
    for (auto& lane : s.lanes) {
      Lane* l = lane.get();
      asio::post(l->ctx, [l] { l->CutAll(); });
    }
    s.closed_cv.wait(lock, [&s] { return s.limits.open() == 0; });
  }
  lock.unlock();
  s.quick.Stop();
  s.pool.Stop();
  for (auto& lane : s.lanes) {
    Lane* l = lane.get();
    asio::post(l->ctx, [l] {
      error_code ignored;
      l->sweep_timer.cancel();
      l->ctx.stop();
    });
  }
  for (auto& lane : s.lanes) {
    if (lane->thread.joinable()) lane->thread.join();
  }
  return cut;
}

}  // namespace arca::http
