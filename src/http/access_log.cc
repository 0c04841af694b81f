#include "http/access_log.h"

#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <nlohmann/json.hpp>

namespace arca::http {

AccessLog::AccessLog(size_t max_queued)
    : max_queued_(max_queued), writer_([this] { WriterLoop(); }) {}

AccessLog::~AccessLog() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  writer_.join();
}

void AccessLog::Log(const Request& req, int status, uint64_t bytes, int64_t micros) {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  char when[40];
  tm utc;
  gmtime_r(&ts.tv_sec, &utc);
  size_t n = strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &utc);
  snprintf(when + n, sizeof when - n, ".%03ldZ", ts.tv_nsec / 1000000);
  nlohmann::json line = {{"ts", when},          {"id", req.request_id}, {"remote", req.remote},
                         {"method", req.method}, {"path", req.target},   {"status", status},
                         {"bytes", bytes},       {"ms", micros / 1000.0}};
  // Invalid UTF-8 in a hostile path must not throw: replace it.
  std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  text.push_back('\n');
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (lines_.size() >= max_queued_) {
      ++dropped_;
      return;
    }
    lines_.push_back(std::move(text));
  }
  cv_.notify_one();
}

void AccessLog::WriterLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return !lines_.empty() || stopping_; });
    if (lines_.empty() && stopping_) return;
    std::deque<std::string> batch;
    batch.swap(lines_);
    uint64_t dropped = dropped_;
    dropped_ = 0;
    lock.unlock();
    std::string out;
    if (dropped) {
      out = "{\"access_log_dropped\":" + std::to_string(dropped) + "}\n";
    }
    for (auto& l : batch) out += l;
    // Whole lines in one write each batch: lines never interleave with other output.
    const char* p = out.data();
    size_t left = out.size();
    while (left > 0) {
      ssize_t w = ::write(STDOUT_FILENO, p, left);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) break;
      p += w;
      left -= static_cast<size_t>(w);
    }
    lock.lock();
  }
}

}  // namespace arca::http
