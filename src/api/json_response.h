// Small helpers shared by the Arca API handlers: JSON bodies and RFC 3339 times.
#pragma once

#include <cstdint>
#include <ctime>
#include <nlohmann/json.hpp>
#include <string>

#include "http/message.h"

namespace arca::api {

inline void SetJson(http::Response& res, const nlohmann::json& body,
                    const char* type = "application/json") {
  res.Set("Content-Type", type);
  res.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

inline std::string Rfc3339(int64_t t) {
  time_t tt = static_cast<time_t>(t);
  tm utc;
  gmtime_r(&tt, &utc);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buf;
}

}  // namespace arca::api
