// GET, HEAD, PUT and DELETE /v2/<name>/manifests/<reference>.
#include <algorithm>

#include "api/api.h"
#include "api/api_metrics.h"
#include "api/errors.h"
#include "api/read_body.h"
#include "types/names.h"

namespace arca::api {
Status Api::Manifest(const Route& route, const Caller& caller, http::Request& req,
                     http::Response& res) {
  if (req.method == "PUT") return PutManifest(route, caller, req, res);
  auto ref = Reference::Parse(route.arg);
  if (!ref.ok() && ref.status().code() == ErrorCode::kTagInvalid) {
    // Nothing can be stored under a name that is not a tag: it is simply not there.
    return Status(ErrorCode::kManifestUnknown, "manifest unknown to registry",
                  "\"" + route.arg.substr(0, 256) + "\" is not a valid tag");
  }
  if (!ref.ok()) return ref.status();
  if (req.method == "DELETE") {
    ARCA_RETURN_IF_ERROR(registry_.DeleteManifest(caller.context, route.name, *ref));
    res.status = 202;
    return Status::Ok();
  }
  auto m = registry_.GetManifest(route.name, *ref);
  if (!m.ok()) return m.status();
  if (req.method == "GET") CountPull(TypeLabel(m->type));
  res.Set("Content-Type", m->media_type);
  res.Set("Docker-Content-Digest", m->digest);
  res.Set("ETag", "\"" + m->digest + "\"");
  if (req.method == "HEAD") {
    res.head_length = m->content.size();
  } else {
    res.body = std::move(m->content);
  }
  return Status::Ok();
}

Status Api::PutManifest(const Route& route, const Caller& caller, http::Request& req,
                        http::Response& res) {
  auto ref = Reference::Parse(route.arg);
  if (!ref.ok()) return ref.status();
  std::vector<std::string> tags = req.QueryAll("tag");
  for (const std::string& t : tags) ARCA_RETURN_IF_ERROR(ValidateTag(t));
  auto bytes = ReadBounded(*req.body, kMaxManifestBytes, "manifest");
  if (!bytes.ok()) return bytes.status();
  auto pushed = registry_.PutManifest(caller.context, route.name, *ref,
                                      std::string(req.HeaderValue("Content-Type")),
                                      std::move(*bytes), tags);
  if (!pushed.ok()) return pushed.status();
  CountPush(TypeLabel(pushed->type));
  res.status = 201;
  res.Set("Location", "/v2/" + route.name + "/manifests/" + pushed->digest.str());
  res.Set("Docker-Content-Digest", pushed->digest.str());
  if (!pushed->subject.empty()) res.Set("OCI-Subject", pushed->subject);
  for (const std::string& t : tags) res.Add("OCI-Tag", t);
  for (std::string w : pushed->warnings) {
    std::replace(w.begin(), w.end(), '"', '\'');
    res.Add("Warning", "299 - \"" + w + "\"");
  }
  return Status::Ok();
}

}  // namespace arca::api
