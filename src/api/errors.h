// OCI error bodies: {"errors":[{"code","message","detail"}]} with the HTTP status the
// distribution-spec gives each code.
#pragma once

#include <string_view>

#include "http/message.h"
#include "util/status.h"

namespace arca::api {

int HttpStatusOf(ErrorCode code);
std::string_view OciCodeOf(ErrorCode code);
// Fills res with the error's status, Content-Type and body.
void WriteError(http::Response& res, const Status& status);

}  // namespace arca::api
