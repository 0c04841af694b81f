// How a connection's bytes move over its transport (transport.h): waiting for the socket,
// writing, the TLS handshake, reading a request's headers, sending a file (sendfile, or
// pread and encrypt under TLS) and the lingering close. The connection's life is in
// connection.cc.
#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cerrno>
#include <memory>

#include "http/on_pool.h"
#include "http/server_impl.h"

namespace arca::http {

namespace {

// sendfile's unit of fairness: after this many bytes to one client, the loop serves others.
constexpr uint64_t kSendSection = 8u << 20;
constexpr uint64_t kSendChunk = 1u << 20;  // bytes per sendfile call
// Under TLS a file is read into memory to be encrypted: this much at a time per connection.
constexpr uint64_t kTlsChunk = 256u << 10;
// The first byte of a TLS connection: a handshake record.
constexpr unsigned char kTlsHandshakeRecord = 0x16;

// Whether the first and the last byte of a range of the file are in the page cache (a probe
// that never waits for the disk). Both cached: the range is, most likely, too.
bool InPageCache(int fd, off_t off, uint64_t len) {
  char c;
  for (off_t at : {off, off + static_cast<off_t>(len) - 1}) {
    iovec v{&c, 1};
    // Only EAGAIN means "not cached"; where RWF_NOWAIT is not supported (EOPNOTSUPP on
    // some filesystems), probing says nothing and the section is sent as it is.
    errno = 0;
    if (::preadv2(fd, &v, 1, at, RWF_NOWAIT) != 1 && errno == EAGAIN) return false;
  }
  return true;
}

}  // namespace

asio::awaitable<bool> Connection::WaitFor(Transport::Io want) {
  error_code ec;
  co_await socket_.async_wait(
      want == Transport::Io::kWantWrite ? tcp::socket::wait_write : tcp::socket::wait_read,
      asio::redirect_error(asio::use_awaitable, ec));
  co_return !ec && !expired_;
}

asio::awaitable<bool> Connection::WriteAll(const char* data, size_t len) {
  while (len > 0) {
    Transport::Step step = transport_->Write(data, len);
    if (expired_) co_return false;
    switch (step.io) {
      case Transport::Io::kDone:
        guard_.Bytes(step.n);
        data += step.n;
        len -= step.n;
        break;
      case Transport::Io::kWantRead:
      case Transport::Io::kWantWrite:
        if (!co_await WaitFor(step.io)) co_return false;
        break;
      default: co_return false;
    }
  }
  co_return true;
}

asio::awaitable<bool> Connection::Handshake() {
  // Idle (and so reclaimable, under idle_timeout) until the client's first byte; from there
  // the handshake has header_timeout, as a request's headers do.
  if (!co_await WaitFor(Transport::Io::kWantRead)) co_return false;
  EnterPhase(Phase::kHeaders,
             SteadyClock::now() + std::chrono::seconds(server_.options.header_timeout_s));
  unsigned char first = 0;
  ssize_t peeked = ::recv(socket_.native_handle(), &first, 1, MSG_PEEK | MSG_DONTWAIT);
  if (peeked == 1 && first != kTlsHandshakeRecord) {
    // Most likely "GET / HTTP/1.1": say so in the client's own protocol.
    std::string out = ErrorResponse(400, "UNSUPPORTED", "this port serves HTTPS, not plain HTTP");
    (void)!::send(socket_.native_handle(), out.data(), out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    co_await LingeringClose();
    co_return false;
  }
  while (true) {
    // The key exchange and the signature cost up to a millisecond or more (RSA): on a
    // worker, so a flood of handshakes cannot stall the transfers of this event loop.
    Transport::Step step{Transport::Io::kError};
    auto one_step = [&] { step = transport_->Handshake(); };
    co_await OnPool(server_.quick, one_step);
    if (expired_) co_return false;
    if (step.io == Transport::Io::kDone) co_return true;
    if (step.io != Transport::Io::kWantRead && step.io != Transport::Io::kWantWrite) {
      co_return false;
    }
    if (!co_await WaitFor(step.io)) co_return false;
  }
}

asio::awaitable<error_code> Connection::ReadHeader(beast::flat_buffer& buf, Parser& parser) {
  // What Beast's read_header does, over the transport: parse what is buffered, read more
  // while the parser needs it.
  while (!parser.is_header_done()) {
    if (buf.size() > 0) {
      error_code ec;
      size_t used = parser.put(buf.data(), ec);
      buf.consume(used);
      if (parser.is_header_done()) break;
      if (ec && ec != bhttp::error::need_more) co_return ec;
      if (!ec && used > 0) continue;
    }
    // As Beast sizes its reads: the room the buffer has, at least 512 and at most 64 KiB, so
    // an idle connection's buffer stays small.
    size_t room = std::clamp<size_t>(buf.capacity() - buf.size(), 512, 65536);
    room = std::min(room, buf.max_size() - buf.size());
    if (room == 0) co_return bhttp::error::buffer_overflow;
    auto space = buf.prepare(room);
    Transport::Step step = transport_->Read(static_cast<char*>(space.data()), space.size());
    switch (step.io) {
      case Transport::Io::kDone: buf.commit(step.n); break;
      case Transport::Io::kEof:
        co_return parser.got_some() || buf.size() > 0 ? error_code(bhttp::error::partial_message)
                                                      : error_code(bhttp::error::end_of_stream);
      case Transport::Io::kWantRead:
      case Transport::Io::kWantWrite:
        if (step.io == Transport::Io::kWantRead && buf.size() == 0 && !parser.got_some()) {
          // A TLS record that carried no request (a KeyUpdate, say): still idle, under the
          // idle deadline it had, until a request's first byte comes.
          EnterPhase(Phase::kIdle, idle_deadline_);
          if (!co_await WaitFor(step.io)) co_return bhttp::error::end_of_stream;
          EnterPhase(Phase::kHeaders, SteadyClock::now() +
                                          std::chrono::seconds(server_.options.header_timeout_s));
          break;
        }
        if (!co_await WaitFor(step.io)) co_return asio::error::operation_aborted;
        break;
      case Transport::Io::kError: co_return asio::error::connection_reset;
    }
  }
  co_return error_code{};
}

asio::awaitable<bool> Connection::SendFile(int fd, uint64_t offset, uint64_t length,
                                           uint64_t& sent) {
  off_t off = static_cast<off_t>(offset);
  uint64_t left = length;
  uint64_t since_yield = 0;
  bool section_start = true;
  std::unique_ptr<char[]> tls_buffer;
  while (left > 0) {
    if (section_start) {
      // sendfile reads the file on this thread: a section that is not in the page cache is
      // read in on a worker first, so a cold disk never stalls the other connections here.
      section_start = false;
      // A section ends after kSendSection bytes have gone, in sends of up to 1 MiB.
      uint64_t section = std::min<uint64_t>(left, kSendSection + kSendChunk);
      if (!InPageCache(fd, off, section)) {
        // readahead only starts the reads; reading the section through waits for them.
        auto warm = [&] {
          ::readahead(fd, off, section);
          auto scratch = std::make_unique<char[]>(kSendChunk);
          for (uint64_t done = 0; done < section;) {
            ssize_t n = ::pread(fd, scratch.get(), std::min<uint64_t>(section - done, kSendChunk),
                                off + static_cast<off_t>(done));
            if (n <= 0) break;  // an error or a short file: sendfile will say
            done += static_cast<uint64_t>(n);
          }
        };
        EnterPhase(Phase::kHandler, {});  // our disk's time is not the client's
        co_await OnPool(server_.quick, warm);
        EnterPhase(Phase::kWriting, {});
        if (expired_) co_return false;
      }
    }
    ssize_t n;
    if (transport_->secure()) {
      // Encryption needs the bytes in memory (this kernel has no kTLS to do it in sendfile).
      const size_t chunk = static_cast<size_t>(std::min<uint64_t>(length, kTlsChunk));
      if (!tls_buffer) tls_buffer = std::make_unique_for_overwrite<char[]>(chunk);
      n = ::pread(fd, tls_buffer.get(), std::min<uint64_t>(left, chunk), off);
      if (n > 0) {
        // WriteAll counts the bytes for the transfer guard.
        if (!co_await WriteAll(tls_buffer.get(), static_cast<size_t>(n))) co_return false;
        off += n;
      } else if (n < 0 && errno != EINTR) {
        co_return false;
      }
    } else {
      n = ::sendfile(socket_.native_handle(), fd, &off, std::min<uint64_t>(left, kSendChunk));
      if (n > 0) guard_.Bytes(static_cast<uint64_t>(n));
    }
    if (n > 0) {
      sent += static_cast<uint64_t>(n);
      left -= static_cast<uint64_t>(n);
      // A fast client must not keep the other connections of this loop waiting.
      if ((since_yield += static_cast<uint64_t>(n)) >= kSendSection && left > 0) {
        since_yield = 0;
        section_start = true;
        co_await asio::post(socket_.get_executor(), asio::use_awaitable);
        if (expired_) co_return false;
      }
      continue;
    }
    // 0: the file is shorter than promised. The connection must end short of its
    // Content-Length rather than carry garbage.
    if (n == 0) co_return false;
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) co_return false;
    error_code ec;
    co_await socket_.async_wait(tcp::socket::wait_write,
                                asio::redirect_error(asio::use_awaitable, ec));
    if (ec || expired_) co_return false;
  }
  co_return true;
}

asio::awaitable<void> Connection::LingeringClose() {
  // Unread request bytes at close() make the kernel send RST, which can destroy a response
  // the client has not read yet. So stop writing, then discard what still comes, briefly:
  // up to 2 s and 16 MiB, enough for a refused chunk of an S3 store's part size (5 MiB and
  // more) sent by a proxy at loopback speed (haproxy lost the answer at 4 MiB).
  error_code ec;
  transport_->Close();
  socket_.shutdown(tcp::socket::shutdown_send, ec);
  EnterPhase(Phase::kClosing, SteadyClock::now() + std::chrono::seconds(2));
  auto sink = std::make_unique<char[]>(16384);
  size_t total = 0;
  while (total < (16u << 20) && !expired_) {
    size_t n = co_await socket_.async_read_some(asio::buffer(sink.get(), 16384),
                                                asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;
    total += n;
  }
}

}  // namespace arca::http
