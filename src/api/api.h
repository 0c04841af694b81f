// The HTTP API: turns /v2/ requests into Registry calls and renders their results and OCI
// errors. One file per resource (blobs.cc, uploads.cc, manifests.cc, listings.cc).
#pragma once

#include <cstddef>

#include "api/routes.h"
#include "http/message.h"
#include "registry/registry.h"

namespace arca {
class TypeCatalog;
class Collector;
}

namespace arca::api {

struct ApiOptions {
  bool auto_mount = true;       // `mount` without `from` mounts from any repository
  size_t max_page = 100000;     // largest page of tags, repositories or referrers
  std::string admin_token;      // when set, /arca/v1 writes need "Bearer <token>"
};

class Api {
 public:
  Api(Registry& registry, ApiOptions options) : registry_(registry), options_(options) {}
  // The artifact types behind /arca/v1/types (optional; must outlive this).
  void SetTypes(TypeCatalog* types) { types_ = types; }
  // The garbage collector behind /arca/v1/admin/gc (optional; must outlive this).
  void SetCollector(Collector* collector) { collector_ = collector; }
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
  // Parses ?n= (at most `max`, which is also the default).
  Result<size_t> PageSize(const http::Request& req, size_t max) const;
  Result<size_t> PageSize(const http::Request& req) const { return PageSize(req, options_.max_page); }

  // The Arca API (arca_api.cc, types_api.cc).
  Status Arca(http::Request& req, http::Response& res);
  Status Types(const std::string& rest, http::Request& req, http::Response& res);
  Status TypedRepositories(http::Request& req, http::Response& res);
  Status Artifacts(const std::string& repo, http::Request& req, http::Response& res);
  Status Events(http::Request& req, http::Response& res);
  // Garbage collection and the recycle bin (gc_api.cc).
  Status Gc(http::Request& req, http::Response& res);
  Status Trash(const std::string& repo, const std::string& rest, http::Request& req,
               http::Response& res);
  // Ok when req may change the registry's configuration (see docs/arca-api.md).
  Status AuthorizeAdmin(const http::Request& req, http::Response& res) const;

  Registry& registry_;
  ApiOptions options_;
  TypeCatalog* types_ = nullptr;
  Collector* collector_ = nullptr;
};

// "/v2/<name>/blobs/uploads/<id>" and friends.
std::string UploadLocation(const std::string& name, const std::string& id);
std::string BlobLocation(const std::string& name, const std::string& digest);

}  // namespace arca::api
