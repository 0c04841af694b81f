// Small helpers shared by the Arca API handlers: JSON bodies and RFC 3339 times.
#pragma once

#include <cstdint>
#include <ctime>
#include <nlohmann/json.hpp>
#include <string>

#include "http/message.h"
#include "util/utc_time.h"

namespace arca::api {

inline void SetJson(http::Response& res, const nlohmann::json& body,
                    const char* type = "application/json") {
  res.Set("Content-Type", type);
  res.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

using arca::Rfc3339;  // util/utc_time.h

}  // namespace arca::api
