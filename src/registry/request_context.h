// Who asks for a change and until when: built by api for each request, once its credentials
// are checked, and passed to every Registry call that changes something. The registry writes
// the principal and request id into what it records (events), and stops its own scans (mount
// candidates) at the deadline; bodies are bounded by the HTTP server's transfer limits.
#pragma once

#include <chrono>
#include <string>
#include <utility>

namespace arca {

struct RequestContext {
  using Clock = std::chrono::steady_clock;

  // "user:alice", "robot:ci", "anonymous", "external:<iss>#<sub>", "admin-token"; "" when
  // auth is off (no one is known) and for Arca's own work.
  std::string principal;
  std::string request_id;  // the request's X-Request-Id; "" for Arca's own work
  Clock::time_point deadline = Clock::time_point::max();

  bool Expired() const { return Clock::now() >= deadline; }

  // Arca's own work (the CLI, background passes): no principal, no deadline.
  static RequestContext Internal() { return RequestContext{}; }
  static RequestContext For(std::string principal, std::string request_id,
                            Clock::duration budget) {
    return RequestContext{std::move(principal), std::move(request_id), Clock::now() + budget};
  }
};

}  // namespace arca
