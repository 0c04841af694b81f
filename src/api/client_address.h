// Who a request came from, as far as the connection tells: administrative and metrics requests
// trust a loopback peer, unless a proxy on the same host relayed it and said so.
#pragma once

#include <string>
#include <string_view>

#include "http/message.h"

namespace arca::api {

// 127.0.0.0/8 or ::1 (the server gives IPv4-mapped peers as plain IPv4).
inline bool IsLoopback(const std::string& ip) {
  return ip.starts_with("127.") || ip == "::1" || ip.starts_with("::ffff:127.");
}

// The header a reverse proxy added (Via is the one RFC 9110 requires of it), or "" when none.
// A request carrying one came through a proxy, so its loopback address says nothing about who
// sent it. A proxy that adds none cannot be told apart: see docs/operations.md.
inline std::string_view ProxyHeader(const http::Request& req) {
  for (std::string_view h : {"Forwarded", "X-Forwarded-For", "X-Forwarded-Host",
                             "X-Forwarded-Proto", "X-Real-IP", "Via"}) {
    if (req.HasHeader(h)) return h;
  }
  return {};
}

}  // namespace arca::api
