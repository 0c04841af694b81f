// One JSON line per request on stdout: time, request id, remote, method, path, status,
// bytes sent, duration.
#pragma once

#include <cstdint>

#include "http/message.h"

namespace arca::http {

void LogAccess(const Request& req, int status, uint64_t bytes, int64_t micros);

}  // namespace arca::http
