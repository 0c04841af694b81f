// Settings of `arca serve`, gathered from defaults, a YAML file, ARCA_* environment variables
// and command-line flags, each overriding the one before.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "util/status.h"

namespace arca {

struct Config {
  std::string addr = "127.0.0.1:5000";
  std::string root = "./data";
  // Where blob bytes live: empty for <root> on the local disk, or s3://bucket[/prefix]?...
  // (docs/deploy.md). The metadata stays in <root> either way.
  std::string blobs;
  // Where the metadata lives: empty for SQLite at <root>/meta.db, or a PostgreSQL database,
  // postgres://user:password@host:port/database?sslmode=...&pool=N (docs/deploy.md).
  std::string metadata;
  // Schema steps: auto (applied at start) or manual (refuse to start until `arca migrate up`).
  std::string migrate = "auto";
  // Blob GETs in repositories matching these patterns (comma-separated, e.g. "public/**")
  // answer 307 to a presigned URL of the blob store, valid blob_redirect_ttl seconds.
  std::string blob_redirect;
  int64_t blob_redirect_ttl = 600;
  size_t max_connections = 1024;
  int idle_timeout = 60;    // seconds a keep-alive connection may sit idle
  int io_timeout = 60;      // seconds a body or response may move no byte at all
  size_t max_connections_per_client = 256;  // per client address; 0: no limit
  int header_timeout = 20;  // seconds a request's headers may take, from their first byte
  size_t min_rate = 1024;   // bytes/s a body or response must average over rate_window
  int rate_window = 30;     // seconds of waiting on the client that the average covers
  size_t io_threads = 0;    // event-loop threads; 0: one per core
  int shutdown_grace = 10;  // seconds in-flight requests get on SIGTERM
  // Seconds between SIGTERM and closing the listener, while /readyz answers 503 and requests
  // are still taken (so that load balancers stop sending new ones first).
  int shutdown_delay = 0;
  bool access_log = true;
  std::string tls_cert;     // PEM certificate chain: HTTPS when set (with tls_key)
  std::string tls_key;      // PEM private key
  bool auto_mount = true;   // `mount` without `from` searches every repository
  std::string types_dir;    // operators' artifact type definitions; default <root>/types
  std::string policy_file;  // type policy (YAML); default <root>/policy.yaml
  std::string admin_token;  // when set, /arca/v1 writes need "Authorization: Bearer <it>"
  std::string metrics_token;  // a bearer token that may read /metrics from any address
  bool metrics_loopback = true;  // loopback clients read /metrics without credentials
  // Authentication (docs/auth.md).
  std::string auth = "none";          // none | token
  std::string auth_service = "arca";  // the tokens' audience, named in challenges
  int64_t token_ttl = 300;            // seconds a bearer token lives
  std::string external_url;           // e.g. https://registry.example.com: the token realm's base
  std::string trusted_issuers;        // JSON file: external token issuers to trust
  // The token signing keys; default <root>/auth/keys. Replicas share one (a shared volume),
  // so that a token one replica issued verifies on every other.
  std::string auth_keys_dir;
  bool insecure_open = false;         // auth: none on a non-loopback address (--insecure-open)
  int64_t audit_retention = 90 * 86400;  // seconds an audit entry is kept (auth: token)
  int64_t audit_max_entries = 10'000'000;
  // Garbage collection (docs/gc.md); all in seconds.
  int64_t gc_interval = 600;         // between background passes; 0: none
  int64_t gc_retention = 7 * 86400;  // untagged and deleted manifests stay restorable
  int64_t gc_blob_grace = 3600;      // a pushed or mounted blob is kept unreferenced
  int64_t gc_upload_ttl = 86400;     // an upload session may sit untouched
  bool gc_referrers = true;          // collect referrers of subjects deleted for good
};

// The setting names, as used in YAML (addr), environment (ARCA_ADDR) and flags (--addr).
std::vector<std::string> ConfigKeys();
// Sets one setting from text; an error names the key and what it expects.
Status SetConfigValue(Config& config, const std::string& key, const std::string& value);
// Applies a YAML mapping of setting names to values; unknown keys are errors.
Status ApplyYamlFile(Config& config, const std::string& path);
// Applies every ARCA_<KEY> variable that is set.
Status ApplyEnvironment(Config& config);
// Applies --key value / --key=value flags (dashes and underscores are alike); --config is
// taken care of by the caller and skipped here.
Status ApplyFlags(Config& config, const std::vector<std::string>& args);

}  // namespace arca
