// GET, HEAD and DELETE /v2/<name>/blobs/<digest>.
#include "api/api.h"
#include "api/errors.h"
#include "auth/pattern.h"
#include "types/http_range.h"

namespace arca::api {

std::optional<std::string> Api::RedirectFor(const std::string& repo, const Digest& digest) {
  for (const std::string& pattern : options_.blob_redirect) {
    if (auth::PatternMatches(pattern, repo)) return registry_.BlobUrl(digest, options_.blob_redirect_ttl);
  }
  return std::nullopt;
}

Status Api::Blob(const Route& route, const Caller& caller, http::Request& req,
                 http::Response& res) {
  auto digest = Digest::Parse(route.arg);
  if (!digest.ok()) return digest.status();
  if (req.method == "DELETE") {
    ARCA_RETURN_IF_ERROR(registry_.DeleteBlob(caller.context, route.name, *digest));
    res.status = 202;
    res.Set("Docker-Content-Digest", digest->str());
    return Status::Ok();
  }
  auto size = registry_.StatBlob(route.name, *digest);
  if (!size.ok()) return size.status();
  std::string etag = "\"" + digest->str() + "\"";
  res.Set("Docker-Content-Digest", digest->str());
  res.Set("ETag", etag);
  res.Set("Accept-Ranges", "bytes");
  res.Set("Cache-Control", "max-age=31536000");
  res.Set("Content-Type", "application/octet-stream");
  if (req.HeaderValue("If-None-Match") == etag) {
    res.status = 304;
    return Status::Ok();
  }
  if (req.method == "HEAD") {
    res.head_length = *size;
    return Status::Ok();
  }
  if (auto url = RedirectFor(route.name, *digest)) {
    // The store serves the bytes (and any Range) itself; the client follows with the same
    // GET. Only after this request was authorized and the repository was found to hold it.
    res.status = 307;
    res.Set("Location", *url);
    res.Set("Cache-Control", "no-store");  // the URL expires
    return Status::Ok();
  }
  // RFC 9110 13.1.5: a Range sent with an If-Range that is not the blob's own (strong) ETag
  // is ignored, and the whole blob is sent. No date matches: Arca sends no Last-Modified.
  std::string_view range_header = req.HeaderValue("Range");
  if (req.HasHeader("If-Range") && req.HeaderValue("If-Range") != etag) range_header = {};
  auto range = ParseRangeHeader(range_header, *size);
  if (!range.ok()) {
    res.Set("Content-Range", "bytes */" + std::to_string(*size));
    return range.status();
  }
  uint64_t first = 0, length = *size;
  if (range->has_value()) {
    first = (*range)->first;
    length = (*range)->length();
    res.status = 206;
    res.Set("Content-Range", "bytes " + std::to_string(first) + "-" +
                                 std::to_string((*range)->last) + "/" + std::to_string(*size));
  }
  auto body = registry_.ReadBlob(*digest, first, length);
  if (!body.ok()) return body.status();
  res.stream = std::move(*body);
  return Status::Ok();
}

}  // namespace arca::api
