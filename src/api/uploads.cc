// POST /v2/<name>/blobs/uploads/ and GET, PATCH, PUT, DELETE /v2/<name>/blobs/uploads/<id>.
#include "api/api.h"
#include "api/api_metrics.h"
#include "api/errors.h"
#include "types/names.h"

namespace arca::api {
namespace {

void UploadHeaders(http::Response& res, const std::string& name, const UploadProgress& p) {
  res.Set("Location", UploadLocation(name, p.id));
  res.Set("Docker-Upload-UUID", p.id);
  // An empty upload reports "0-0" as CNCF Distribution does; clients expect a range.
  res.Set("Range", "0-" + std::to_string(p.offset == 0 ? 0 : p.offset - 1));
}

void Created(http::Response& res, const std::string& name, const Digest& digest) {
  res.status = 201;
  res.Set("Location", BlobLocation(name, digest.str()));
  res.Set("Docker-Content-Digest", digest.str());
}

Result<std::optional<ByteRange>> ContentRange(const http::Request& req) {
  if (!req.HasHeader("Content-Range")) return std::optional<ByteRange>();
  auto r = ParseContentRange(req.HeaderValue("Content-Range"));
  if (!r.ok()) return r.status();
  return std::optional<ByteRange>(*r);
}

}  // namespace

Status Api::StartUpload(const Route& route, const Caller& caller, http::Request& req,
                        http::Response& res) {
  if (auto mount = req.Query("mount")) {
    auto digest = Digest::Parse(*mount);
    if (!digest.ok()) return digest.status();
    auto from = req.Query("from");
    if (from) ARCA_RETURN_IF_ERROR(ValidateRepositoryName(*from));
    // A mount needs pull on where the blob comes from. One the caller may not pull from is
    // not refused but falls back to an upload, as for a blob that is not there: the answer
    // says nothing about the other repository.
    bool may_mount = !from || MayPull(caller, *from);
    if (may_mount && (from || options_.auto_mount)) {
      auto mounted =
          from || !auth_
              ? registry_.MountBlob(caller.context, route.name, *digest, from.value_or(""))
              : registry_.MountBlobFromVisible(caller.context, route.name, *digest, [&](const std::string& r) {
                  return MayPull(caller, r);  // a token: within its scope, as for `from`
                });
      if (!mounted.ok()) return mounted.status();
      if (mounted->has_value()) {
        Created(res, route.name, *digest);
        return Status::Ok();
      }
    }
  } else if (auto d = req.Query("digest")) {
    auto digest = Digest::Parse(*d);
    if (!digest.ok()) return digest.status();
    UploadInFlight writing;
    auto size = registry_.PushBlob(caller.context, route.name, *digest, *req.body);
    if (!size.ok()) return size.status();
    Created(res, route.name, *digest);
    return Status::Ok();
  }
  auto started = registry_.StartUpload(caller.context, route.name);
  if (!started.ok()) return started.status();
  res.status = 202;
  UploadHeaders(res, route.name, *started);
  // distribution-spec: the smallest chunk the registry wants in a chunked upload. Smaller
  // ones are taken too (staged until they fill a part), just less efficiently.
  if (uint64_t chunk = registry_.PreferredChunk()) res.Set("OCI-Chunk-Min-Length", std::to_string(chunk));
  return Status::Ok();
}

Status Api::Upload(const Route& route, const Caller& caller, http::Request& req,
                   http::Response& res) {
  const std::string& id = route.arg;
  if (req.method == "GET") {
    auto p = registry_.GetUpload(route.name, id);
    if (!p.ok()) return p.status();
    res.status = 204;
    UploadHeaders(res, route.name, *p);
    return Status::Ok();
  }
  if (req.method == "DELETE") {
    ARCA_RETURN_IF_ERROR(registry_.CancelUpload(caller.context, route.name, id));
    res.status = 204;
    return Status::Ok();
  }
  auto range = ContentRange(req);
  Status failed;
  UploadInFlight writing;
  if (range.ok() && req.method == "PATCH") {
    auto p = registry_.AppendUpload(caller.context, route.name, id, *req.body, *range);
    if (p.ok()) {
      res.status = 202;
      UploadHeaders(res, route.name, *p);
      return Status::Ok();
    }
    failed = p.status();
  } else if (range.ok()) {  // PUT
    auto d = req.Query("digest");
    if (!d) return Status(ErrorCode::kDigestInvalid, "digest missing", "PUT needs ?digest=");
    auto digest = Digest::Parse(*d);
    if (!digest.ok()) return digest.status();
    auto size = registry_.FinishUpload(caller.context, route.name, id, *digest, *req.body, *range);
    if (size.ok()) {
      Created(res, route.name, *digest);
      return Status::Ok();
    }
    failed = size.status();
  } else {
    failed = range.status();
  }
  if (failed.code() == ErrorCode::kRangeInvalid) {
    // Tell the client where the upload stands so it can resume from there.
    auto p = registry_.GetUpload(route.name, id);
    if (p.ok()) UploadHeaders(res, route.name, *p);
  }
  return failed;
}

}  // namespace arca::api
