// Inside http/ only: a request body read by the worker that runs its handler, straight from
// the socket into the handler's buffer, with Beast parsing the framing (Content-Length or
// chunked) and the connection's TransferGuard bounding every wait (blocking_socket.h).
#pragma once

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <algorithm>
#include <cstring>
#include <optional>
#include <string>

#include "http/blocking_socket.h"
#include "util/byte_source.h"

namespace arca::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using boost::system::error_code;

using Parser = bhttp::request_parser<bhttp::buffer_body>;

// Beast's SyncReadStream over a BlockingSocket, for reading a body on a worker thread.
class SyncStream {
 public:
  explicit SyncStream(BlockingSocket& s) : s_(s) {}
  BlockingSocket& socket() { return s_; }

  template <class MutableBufferSequence>
  size_t read_some(const MutableBufferSequence& buffers, error_code& ec) {
    asio::mutable_buffer b;
    for (auto it = asio::buffer_sequence_begin(buffers); it != asio::buffer_sequence_end(buffers);
         ++it) {
      if (it->size() > 0) {
        b = *it;
        break;
      }
    }
    if (b.size() == 0) return 0;
    size_t n = 0;
    switch (s_.Recv(static_cast<char*>(b.data()), b.size(), &n)) {
      case BlockingSocket::Outcome::kOk: ec = {}; return n;
      case BlockingSocket::Outcome::kEof: ec = asio::error::eof; return 0;
      case BlockingSocket::Outcome::kTooSlow: ec = beast::error::timeout; return 0;
      case BlockingSocket::Outcome::kError: ec = asio::error::connection_reset; return 0;
    }
    return 0;
  }
  template <class MutableBufferSequence>
  size_t read_some(const MutableBufferSequence& buffers) {
    error_code ec;
    size_t n = read_some(buffers, ec);
    if (ec) throw boost::system::system_error(ec);
    return n;
  }

 private:
  BlockingSocket& s_;
};

// The request body as a ByteSource, read straight from the socket into the caller's buffer.
// A body framed by Content-Length is read by plain recv calls of the caller's size, never
// past its end (the next pipelined request stays in the socket); a chunked body goes
// through Beast's parser, which needs the connection's buffer for the framing.
class BodyReader : public ByteSource {
 public:
  BodyReader(SyncStream& s, beast::flat_buffer& buf, Parser& p, bool expect_continue)
      : stream_(s), buf_(buf), parser_(p), expect_continue_(expect_continue) {
    if (!parser_.chunked()) remaining_ = parser_.content_length_remaining().value_or(0);
  }

  Result<size_t> Read(char* out, size_t len) override {
    if (complete() || len == 0) return size_t{0};
    if (expect_continue_) {
      expect_continue_ = false;
      static const char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
      if (stream_.socket().SendAll(kContinue, sizeof kContinue - 1) !=
          BlockingSocket::Outcome::kOk) {
        return Broken("write failed");
      }
    }
    auto n = remaining_ ? ReadDirect(out, len) : ReadChunked(out, len);
    if (n.ok()) received_ += *n;
    return n;
  }
  // Body bytes read so far.
  uint64_t received() const { return received_; }

  std::optional<uint64_t> Length() const override {
    auto cl = parser_.content_length();
    if (cl) return *cl;
    return std::nullopt;
  }

  // Every byte of the body has been read.
  bool complete() const { return remaining_ ? *remaining_ == 0 : parser_.is_done(); }
  // What is left of a body of announced length; nullopt while a chunked body goes on.
  std::optional<uint64_t> left() const { return remaining_; }
  bool failed() const { return failed_; }
  // The client waits for "100 Continue" before it sends the body.
  bool awaiting_continue() const { return expect_continue_; }

 private:
  Result<size_t> ReadDirect(char* out, size_t len) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(len, *remaining_));
    size_t n = 0;
    if (buf_.size() > 0) {  // what arrived with the headers
      n = std::min(want, buf_.size());
      std::memcpy(out, buf_.data().data(), n);
      buf_.consume(n);
    } else {
      switch (stream_.socket().Recv(out, want, &n)) {
        case BlockingSocket::Outcome::kOk: break;
        case BlockingSocket::Outcome::kEof: return Broken("end of stream");
        case BlockingSocket::Outcome::kTooSlow:
          return Broken(stream_.socket().guard().why() ? stream_.socket().guard().why()
                                                       : "timed out");
        case BlockingSocket::Outcome::kError: return Broken("connection reset");
      }
    }
    *remaining_ -= n;
    return n;
  }

  Result<size_t> ReadChunked(char* out, size_t len) {
    // Beast reads only what the buffer has room for: at least 64 KiB per call, not 512.
    if (buf_.capacity() - buf_.size() < 65536 && buf_.size() + 65536 <= buf_.max_size()) {
      buf_.reserve(buf_.size() + 65536);
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
      if (ec == beast::error::timeout) {
        return Broken(stream_.socket().guard().why() ? stream_.socket().guard().why()
                                                     : "timed out");
      }
      if (ec) return Broken(ec.message());
      if (n > 0 || parser_.is_done()) return n;
    }
  }

  Status Broken(const std::string& why) {
    failed_ = true;
    return Status(ErrorCode::kSizeInvalid, "incomplete request body",
                  "the body ended before its announced length: " + why);
  }
  SyncStream& stream_;
  beast::flat_buffer& buf_;
  Parser& parser_;
  bool expect_continue_;
  std::optional<uint64_t> remaining_;  // set for a Content-Length body
  bool failed_ = false;
  uint64_t received_ = 0;
};

}  // namespace arca::http
