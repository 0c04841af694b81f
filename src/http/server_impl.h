// Inside http/ only: the pieces of the server that carry Asio types. See server.h for the
// thread model.
#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <condition_variable>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "http/access_log.h"
#include "http/client_limits.h"
#include "http/request_body.h"
#include "http/server.h"
#include "http/tls.h"
#include "http/transfer_guard.h"
#include "http/transport.h"
#include "http/worker_pool.h"

namespace arca::http {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;

class Connection;

// One event loop and the connections it owns. Its list is touched only on its own thread.
struct Lane {
  explicit Lane(Server::Impl& server) : server(server), ctx(1), sweep_timer(ctx) {}
  Server::Impl& server;
  asio::io_context ctx;
  asio::steady_timer sweep_timer;
  std::list<Connection*> connections;
  std::atomic<size_t> idle{0};  // connections waiting for a request, readable from any thread
  std::atomic<size_t> claimed{0};  // of those, already promised to make room (ReclaimIdle)
  std::thread thread;

  // Checks every connection's deadline, every tick (on the lane's thread).
  asio::awaitable<void> SweepLoop();
  // Claims an idle connection to close (from any thread); false when none is left unclaimed.
  bool ClaimIdle();
  // Closes the connection that has been idle longest, and settles one claim.
  void ReclaimOldestIdle();
  void CloseIdle();  // at shutdown
  void CutAll();     // after the grace period
};

struct Server::Impl {
  Impl(ServerOptions o, Handler h);

  TransferLimits transfer_limits() const;
  // A connection has closed: frees its slot and wakes Serve when stopping.
  void ConnectionClosed(const std::string& remote);
  // Asks some lane to close an idle connection; false when no lane has one.
  bool ReclaimIdle();
  asio::awaitable<void> AcceptLoop();
  void Admit(tcp::socket socket, Lane& lane);
  // Answers a refused client on a raw fd and closes it.
  void Refuse(int fd, int status, const char* message);
  void RefuseWithReserveFd();

  ServerOptions options;
  Handler handler;
  // Requests that may wait on their client (a body to read, a stream to pump) each get a
  // thread of their own from `pool`; the rest (GET, HEAD, DELETE: database and disk only)
  // share a few threads in `quick`, where fewer threads mean fewer context switches.
  WorkerPool pool;
  WorkerPool quick;
  ClientLimits limits;
  std::vector<std::unique_ptr<Lane>> lanes;
  std::unique_ptr<tcp::acceptor> acceptor;
  int reserve_fd = -1;  // kept open to answer one client when descriptors run out
  int port = 0;
  size_t next_lane = 0;
  std::atomic<bool> stopping{false};
  std::atomic<uint64_t> request_counter{0};
  std::string request_prefix;
  std::unique_ptr<AccessLog> access_log;  // null when access_log is off
  std::unique_ptr<TlsContext> tls;        // null when serving plain HTTP

  std::mutex mu;
  std::condition_variable closed_cv;  // a connection closed
};

// One client connection: a coroutine on its lane, handing each request to the worker pool.
class Connection {
 public:
  enum class Phase { kIdle, kHeaders, kHandler, kWriting, kClosing };

  Connection(Server::Impl& server, Lane& lane, tcp::socket socket,
             std::unique_ptr<Transport> transport, std::string remote);
  ~Connection();
  asio::awaitable<void> Run();

  // The sweeper's check; ends the connection when its phase is past its deadline.
  void Sweep(SteadyClock::time_point now, std::chrono::milliseconds tick);
  // Ends an idle connection now (reclaim, shutdown). False when it is not idle.
  bool CloseIfIdle();
  // Idle, not already ending, and with no request bytes waiting unread.
  bool reclaimable() const;
  void Cut();  // ends it whatever it is doing (after the shutdown grace)

  Phase phase() const { return phase_; }
  SteadyClock::time_point idle_since() const { return idle_since_; }

 private:
  void EnterPhase(Phase p, SteadyClock::time_point deadline);
  void Expire(const char* why);
  // Waits for what the transport asked for (kWantRead or kWantWrite); false when the wait
  // failed or the connection expired meanwhile.
  asio::awaitable<bool> WaitFor(Transport::Io want);
  // The TLS handshake, within header_timeout; a client speaking plain HTTP gets a 400.
  asio::awaitable<bool> Handshake();
  // Reads until `parser` has a request's whole header; the error says why not.
  asio::awaitable<error_code> ReadHeader(beast::flat_buffer& buf, Parser& parser);
  asio::awaitable<bool> WriteAll(const char* data, size_t len);
  asio::awaitable<bool> SendFile(int fd, uint64_t offset, uint64_t length, uint64_t& sent);
  asio::awaitable<void> LingeringClose();
  void SendErrorNow(int status, const char* code, const char* message);

  Server::Impl& server_;
  Lane& lane_;
  tcp::socket socket_;
  std::unique_ptr<Transport> transport_;  // over socket_, which it does not own
  std::string remote_;
  std::list<Connection*>::iterator self_;
  Phase phase_ = Phase::kIdle;
  SteadyClock::time_point deadline_;
  SteadyClock::time_point idle_deadline_;  // when the current idle spell ends
  SteadyClock::time_point idle_since_;
  TransferGuard guard_;
  const char* expired_ = nullptr;  // why the sweeper ended the current phase
};

// The reason phrase of a status code.
const char* Reason(int status);
// A complete small error response (OCI error JSON) with Connection: close.
std::string ErrorResponse(int status, const char* code, const char* message);

}  // namespace arca::http
