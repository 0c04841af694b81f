// The S3 client against tiny local servers that misbehave: refused and silent connections,
// 503s, and a huge error body on a streamed GET. Each must end in UNAVAILABLE or an error,
// never a hang.
#include "storage/s3/s3_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <thread>

namespace arca::s3 {
namespace {

// A listening socket on 127.0.0.1; with a handler, a thread answers each connection's first
// request with what the handler returns.
class TinyServer {
 public:
  explicit TinyServer(std::function<std::string()> handler = nullptr) : handler_(std::move(handler)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(fd_, 16), 0);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    if (handler_) thread_ = std::thread([this] { Serve(); });
  }
  ~TinyServer() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    if (thread_.joinable()) thread_.join();
  }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int requests() const { return requests_; }

 private:
  void Serve() {
    while (!stop_) {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      char buf[4096];
      (void)::recv(c, buf, sizeof buf, 0);
      ++requests_;
      std::string answer = handler_();
      for (size_t sent = 0; sent < answer.size();) {
        ssize_t n = ::send(c, answer.data() + sent, answer.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) break;
        sent += static_cast<size_t>(n);
      }
      ::close(c);
    }
  }
  int fd_ = -1;
  int port_ = 0;
  std::function<std::string()> handler_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
};

ClientOptions Quick(const std::string& endpoint) {
  ClientOptions o;
  o.endpoint = endpoint;
  o.bucket = "bucket";
  o.credentials = {"AK", "SK", ""};
  o.connect_timeout_ms = 300;
  o.request_timeout_ms = 300;
  o.retries = 3;
  o.retry_budget_ms = 2000;
  return o;
}

TEST(S3ClientTest, ARefusedConnectionIsUnavailable) {
  std::string endpoint;
  { TinyServer gone; endpoint = gone.endpoint(); }  // the port is closed again
  Client c(Quick(endpoint));
  auto r = c.Do({"HEAD", "k", {}, {}, {}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kUnavailable);
}

TEST(S3ClientTest, ASilentServerIsUnavailableNotAHang) {
  TinyServer silent;  // accepts (in the kernel) and never answers
  ClientOptions o = Quick(silent.endpoint());
  o.low_speed_seconds = 3600;  // only the request timeouts can end it (else ctest's timeout)
  Client c(o);
  auto r = c.Do({"GET", "k", {}, {}, {}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kUnavailable);
  auto g = c.GetRange("k", 0, 10);
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().code(), ErrorCode::kUnavailable);
}

TEST(S3ClientTest, ServiceUnavailableIsRetriedThenReported) {
  TinyServer busy([] {
    return std::string("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  });
  Client c(Quick(busy.endpoint()));
  auto r = c.Do({"HEAD", "k", {}, {}, {}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(busy.requests(), 4) << "the first attempt and 3 retries";
  EXPECT_EQ(Client::ErrorOf(*r, "HEAD k").code(), ErrorCode::kUnavailable);
}

TEST(S3ClientTest, AHugeErrorBodyOnAStreamedGetEnds) {
  TinyServer broken([] {
    std::string body(2 << 20, 'x');
    return "HTTP/1.1 400 Bad Request\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\nConnection: close\r\n\r\n" + body;
  });
  Client c(Quick(broken.endpoint()));
  auto g = c.GetRange("k", 0, 10);
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().code(), ErrorCode::kInternal);
  EXPECT_NE(g.status().detail().find("HTTP 400"), std::string::npos) << g.status().detail();
}

}  // namespace
}  // namespace arca::s3
