#include "http/access_log.h"

#include <unistd.h>

#include <ctime>
#include <nlohmann/json.hpp>

namespace arca::http {

void LogAccess(const Request& req, int status, uint64_t bytes, int64_t micros) {
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
  // One write per line: lines from concurrent requests never interleave.
  (void)!::write(STDOUT_FILENO, text.data(), text.size());
}

}  // namespace arca::http
