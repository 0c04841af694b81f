// One connection's life: wait for a request, parse its headers, run the handler on the
// worker pool (which also reads the body), send the response, and again while kept alive.
#include <sys/socket.h>

#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>

#include "http/access_log.h"
#include "http/blocking_socket.h"
#include "http/on_pool.h"
#include "http/request_body.h"
#include "http/server_impl.h"

namespace arca::http {

namespace {

// GET and HEAD touch only the database and the disk; every other method may wait on a
// client (its body, or an upload lock another client's slow PATCH holds).
bool Quick(const std::string& method, const std::string& path) {
  return (method == "GET" || method == "HEAD") && path.find("/blobs/uploads/") == std::string::npos;
}

bool HasBody(const Response& res, bool head) {
  return !head && res.status != 204 && res.status != 304;
}

// A stream of unknown length has no Content-Length: its end is the connection's close
// (RFC 9112 6.3), so such a response is never kept alive (see Run).
std::optional<uint64_t> ResponseLength(const Response& res, bool head) {
  if (head && res.head_length) return *res.head_length;
  if (res.stream) return res.stream->Length();
  return res.body.size();
}

std::string ResponseHead(const Response& res, bool head, bool keep_alive) {
  std::optional<uint64_t> length = ResponseLength(res, head);
  std::string out;
  out.reserve(256 + (res.stream ? 0 : res.body.size()));
  out += "HTTP/1.1 ";
  out += std::to_string(res.status);
  out += ' ';
  out += Reason(res.status);
  out += "\r\n";
  for (const Header& h : res.headers) {
    out += h.name;
    out += ": ";
    out += h.value;
    out += "\r\n";
  }
  if (res.status != 204 && res.status != 304 && length) {
    out += "Content-Length: " + std::to_string(*length) + "\r\n";
  }
  if (!keep_alive) out += "Connection: close\r\n";
  out += "\r\n";
  return out;
}

// What a request's transfer codings allow: RFC 9112 6.1 (a coding the server does not
// know is 501, and so is anything but a lone, final "chunked"; chunked with Content-Length
// is already refused by the parser as a conflict).
bool TransferCodingSupported(const Parser::value_type& msg) {
  bool seen = false;
  for (const auto& f : msg) {
    if (f.name() != bhttp::field::transfer_encoding) continue;
    if (seen) return false;
    seen = true;
    std::string_view v = f.value();
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    if (!beast::iequals(v, "chunked")) return false;
  }
  return true;
}

// A streamed body that is not a file is pumped by the worker: its reads may block.
Status PumpStream(BlockingSocket& s, BodySource& src, uint64_t& sent) {
  std::string buf(1 << 20, '\0');
  while (true) {
    auto n = src.Read(buf.data(), buf.size());
    if (!n.ok()) return n.status();
    if (*n == 0) return Status::Ok();
    if (s.SendAll(buf.data(), *n) != BlockingSocket::Outcome::kOk) {
      return Status(ErrorCode::kInternal, "send failed");
    }
    sent += *n;
  }
}

}  // namespace

Connection::Connection(Server::Impl& server, Lane& lane, tcp::socket socket,
                       std::unique_ptr<Transport> transport, std::string remote)
    : server_(server),
      lane_(lane),
      socket_(std::move(socket)),
      transport_(std::move(transport)),
      remote_(std::move(remote)),
      guard_(server.transfer_limits()) {
  self_ = lane_.connections.insert(lane_.connections.end(), this);
}

Connection::~Connection() {
  lane_.connections.erase(self_);
  if (phase_ == Phase::kIdle) lane_.idle.fetch_sub(1);
  transport_->Close();
  error_code ignored;
  socket_.close(ignored);
  server_.ConnectionClosed(remote_);
}

void Connection::EnterPhase(Phase p, SteadyClock::time_point deadline) {
  if (phase_ == Phase::kIdle && p != Phase::kIdle) lane_.idle.fetch_sub(1);
  if (p == Phase::kIdle && phase_ != Phase::kIdle) lane_.idle.fetch_add(1);
  phase_ = p;
  deadline_ = deadline;
  expired_ = nullptr;
  if (p == Phase::kIdle) idle_since_ = SteadyClock::now();
  if (p == Phase::kHandler || p == Phase::kWriting) guard_.Start();
}

void Connection::Expire(const char* why) {
  expired_ = why;
  error_code ignored;
  socket_.cancel(ignored);
}

void Connection::Sweep(SteadyClock::time_point now, std::chrono::milliseconds tick) {
  if (expired_) {  // a cancel can miss an operation that was completing: repeat it
    if (phase_ != Phase::kHandler) Expire(expired_);
    return;
  }
  switch (phase_) {
    case Phase::kIdle:
    case Phase::kHeaders:
    case Phase::kClosing:
      if (now >= deadline_) Expire("deadline passed");
      break;
    case Phase::kWriting:
      if (!guard_.Waited(tick)) {
        // Reset rather than close: what the socket still holds for this client would
        // otherwise trickle out of the kernel's buffers at its pace.
        error_code ignored;
        socket_.set_option(asio::socket_base::linger(true, 0), ignored);
        Expire(guard_.why());
      }
      break;
    case Phase::kHandler:  // the worker holds the socket and keeps its own time
      break;
  }
}

bool Connection::reclaimable() const {
  if (phase_ != Phase::kIdle || expired_) return false;
  // A request that already arrived would be lost by closing: such a connection is busy.
  if (transport_->Buffered()) return false;
  char c;
  return ::recv(const_cast<tcp::socket&>(socket_).native_handle(), &c, 1,
                MSG_PEEK | MSG_DONTWAIT) < 0;
}

bool Connection::CloseIfIdle() {
  if (!reclaimable()) return false;
  Expire("closed to make room");
  return true;
}

void Connection::Cut() {
  // Wakes a worker blocked in poll() on this socket as well as the coroutine; reset, so
  // nothing left in the socket trickles out to a slow client afterwards.
  error_code ignored;
  socket_.set_option(asio::socket_base::linger(true, 0), ignored);
  ::shutdown(socket_.native_handle(), SHUT_RDWR);
  Expire("server stopping");
}

void Connection::SendErrorNow(int status, const char* code, const char* message) {
  std::string out = ErrorResponse(status, code, message);
  // Best effort on a fresh or idle socket: its send buffer has room for a small answer.
  (void)transport_->Write(out.data(), out.size());
}

asio::awaitable<void> Connection::Run() {
  const ServerOptions& opt = server_.options;
  // Bounded: Beast limits the header block, but not a chunk-size line or trailers, which a
  // client could otherwise send without end.
  beast::flat_buffer buf(opt.max_header_bytes + 256 * 1024);
  bool linger = false;
  error_code ec;
  socket_.non_blocking(true, ec);
  lane_.idle.fetch_add(1);  // a new connection starts idle
  idle_since_ = SteadyClock::now();
  deadline_ = idle_since_ + std::chrono::seconds(opt.idle_timeout_s);
  idle_deadline_ = deadline_;
  if (transport_->secure() && !co_await Handshake()) co_return;
  while (!server_.stopping.load(std::memory_order_relaxed)) {
    if (buf.size() == 0) {
      if (buf.capacity() > 16384) buf.shrink_to_fit();  // idle connections stay small
      if (phase_ != Phase::kIdle) {
        idle_deadline_ = SteadyClock::now() + std::chrono::seconds(opt.idle_timeout_s);
        EnterPhase(Phase::kIdle, idle_deadline_);
      }
      if (!transport_->Buffered()) {
        co_await socket_.async_wait(tcp::socket::wait_read,
                                    asio::redirect_error(asio::use_awaitable, ec));
        if (ec || expired_ || server_.stopping.load()) break;
      }
    }
    Parser parser;
    parser.header_limit(static_cast<std::uint32_t>(opt.max_header_bytes));
    parser.body_limit(boost::none);
    EnterPhase(Phase::kHeaders, SteadyClock::now() + std::chrono::seconds(opt.header_timeout_s));
    ec = co_await ReadHeader(buf, parser);
    if (ec) {
      if (expired_ && phase_ != Phase::kIdle && !server_.stopping.load()) {
        SendErrorNow(408, "UNSUPPORTED", "request headers not received in time");
      } else if (ec == bhttp::error::header_limit || ec == bhttp::error::buffer_overflow) {
        SendErrorNow(431, "SIZE_INVALID", "request header fields too large");
        linger = true;
      } else if (ec == bhttp::error::bad_transfer_encoding) {
        SendErrorNow(400, "UNSUPPORTED", "conflicting Transfer-Encoding and Content-Length");
        linger = true;
      } else if (ec != bhttp::error::end_of_stream && ec != asio::error::connection_reset &&
                 ec != asio::error::operation_aborted && !expired_) {
        // (ReadHeader reports an end of stream as end_of_stream, never as asio's eof.)
        SendErrorNow(400, "UNSUPPORTED", "malformed HTTP request");
        linger = true;
      }
      break;
    }
    auto start = SteadyClock::now();
    auto& msg = parser.get();
    if (msg.version() >= 11 && msg.find(bhttp::field::host) == msg.end()) {
      SendErrorNow(400, "UNSUPPORTED", "HTTP/1.1 requests need a Host header");
      linger = true;
      break;
    }
    if (!TransferCodingSupported(msg)) {
      SendErrorNow(501, "UNSUPPORTED", "transfer coding not implemented (only chunked)");
      linger = true;
      break;
    }
    Request req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    // absolute-form ("http://host/v2/..."), which servers must accept (RFC 9112 3.2.2).
    for (const char* scheme : {"http://", "https://"}) {
      size_t sl = std::strlen(scheme);
      if (req.target.size() >= sl && beast::iequals(req.target.substr(0, sl), scheme)) {
        size_t slash = req.target.find('/', sl);
        req.target = slash == std::string::npos ? "/" : req.target.substr(slash);
      }
    }
    req.path = req.target.substr(0, req.target.find('?'));
    req.remote = remote_;
    req.request_id = server_.request_prefix + "-" +
                     std::to_string(server_.request_counter.fetch_add(1) + 1);
    req.headers.reserve(8);
    for (const auto& f : msg) {
      req.headers.push_back({std::string(f.name_string()), std::string(f.value())});
    }
    const bool head = req.method == "HEAD";
    // RFC 9110 10.1.1: never a 100 to an HTTP/1.0 client.
    const bool expect_continue =
        msg.version() >= 11 && beast::iequals(msg[bhttp::field::expect], "100-continue");
    Response res;
    bool keep_alive = false, sent_by_worker = false, worker_send_ok = false;
    uint64_t sent = 0;

    // Everything that may block runs on a worker: the handler, its body reads, the drain of
    // a body it left unread, and a streamed response that is not a file.
    const bool has_body = parser.chunked() || parser.content_length().value_or(0) > 0;
    bool body_complete = !has_body;
    uint64_t received = 0;
    EnterPhase(Phase::kHandler, {});
    BlockingSocket blocking(*transport_, guard_);
    auto work = [&] {
      SyncStream stream(blocking);
      BodyReader body(stream, buf, parser, expect_continue);
      req.body = &body;
      try {
        server_.handler(req, res);
      } catch (const std::exception& e) {
        res = Response();
        res.status = 500;
        res.Set("Content-Type", "application/json");
        res.body = R"({"errors":[{"code":"UNKNOWN","message":"internal error","detail":null}]})";
        std::fprintf(stderr, "arca: handler failed on %s %s: %s\n", req.method.c_str(),
                     req.path.c_str(), e.what());
      }
      res.Set("X-Request-Id", req.request_id);
      keep_alive = parser.keep_alive() && !server_.stopping.load() && !body.failed();
      if (keep_alive && !body.complete()) {
        // The handler did not read the body (an early error): drain a small rest, else close.
        // Not when the client still waits for a 100: it sends nothing, and closing is cheaper.
        auto announced = body.left();
        if (announced && *announced <= 65536 && !body.awaiting_continue()) {
          char sink[16384];
          while (!body.complete()) {
            auto n = body.Read(sink, sizeof sink);
            if (!n.ok() || *n == 0) break;
          }
        }
        keep_alive = body.complete() && !body.failed();
      }
      body_complete = body.complete();
      received = body.received();
      if (!ResponseLength(res, head) && HasBody(res, head)) keep_alive = false;
    };
    co_await OnPool(has_body || !Quick(req.method, req.path) ? server_.pool : server_.quick, work);
    if (res.stream && !res.stream->AsFile() && HasBody(res, head)) {
      // Reading such a stream may block, and so may a slow client: a thread of its own.
      sent_by_worker = true;
      auto pump = [&] {
        std::string head_text = ResponseHead(res, head, keep_alive);
        guard_.Start();
        worker_send_ok =
            blocking.SendAll(head_text.data(), head_text.size()) == BlockingSocket::Outcome::kOk &&
            PumpStream(blocking, *res.stream, sent).ok();
      };
      co_await OnPool(server_.pool, pump);
    }

    bool ok = worker_send_ok;
    if (!sent_by_worker) {
      EnterPhase(Phase::kWriting, {});
      std::string out = ResponseHead(res, head, keep_alive);
      bool body = HasBody(res, head);
      if (body && !res.stream) out += res.body;
      ok = co_await WriteAll(out.data(), out.size());
      if (ok && body && res.stream) {
        auto file = res.stream->AsFile();
        ok = co_await SendFile(file->fd, file->offset, file->length, sent);
      } else if (ok && body) {
        sent = res.body.size();
      }
    }
    if (server_.access_log || server_.options.observe) {
      auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                        SteadyClock::now() - start).count();
      if (server_.access_log) server_.access_log->Log(req, res.status, sent, micros);
      if (server_.options.observe) server_.options.observe(req, res, received, sent, micros);
    }
    if (!ok || !keep_alive) {
      linger = ok && !body_complete;
      break;
    }
  }
  if (linger && !server_.stopping.load()) co_await LingeringClose();
}

}  // namespace arca::http
