// The HTTP API: turns /v2/ requests into Registry calls and renders their results and OCI
// errors. One file per resource (blobs.cc, uploads.cc, manifests.cc, listings.cc).
#pragma once

#include <cstddef>

#include "api/routes.h"
#include "http/message.h"
#include "registry/registry.h"

namespace arca::api {

struct ApiOptions {
  bool auto_mount = true;       // `mount` without `from` mounts from any repository
  size_t max_page = 10000;      // largest page of tags, repositories or referrers
};

class Api {
 public:
  Api(Registry& registry, ApiOptions options) : registry_(registry), options_(options) {}
  // Handles one request; never throws, always fills res (an OCI error on failure).
  void Handle(http::Request& req, http::Response& res);

 private:
  Status Dispatch(const Route& route, http::Request& req, http::Response& res);
  Status Blob(const Route& route, http::Request& req, http::Response& res);
  Status StartUpload(const Route& route, http::Request& req, http::Response& res);
  Status Upload(const Route& route, http::Request& req, http::Response& res);
  Status Manifest(const Route& route, http::Request& req, http::Response& res);
  Status PutManifest(const Route& route, http::Request& req, http::Response& res);
  Status Tags(const Route& route, http::Request& req, http::Response& res);
  Status Catalog(http::Request& req, http::Response& res);
  Status Referrers(const Route& route, http::Request& req, http::Response& res);
  // Parses ?n= and ?last=; n is clamped to max_page.
  Result<size_t> PageSize(const http::Request& req) const;

  Registry& registry_;
  ApiOptions options_;
};

// "/v2/<name>/blobs/uploads/<id>" and friends.
std::string UploadLocation(const std::string& name, const std::string& id);
std::string BlobLocation(const std::string& name, const std::string& digest);

}  // namespace arca::api
