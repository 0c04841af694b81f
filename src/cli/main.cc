// arca: the registry binary. `arca serve` runs the registry; the only place that picks the
// concrete MetaStore and BlobStore.
#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "api/api.h"
#include "auth/pattern.h"
#include "cli/auth_setup.h"
#include "cli/commands.h"
#include "cli/store_open.h"
#include "meta/postgres/pg_meta_store.h"
#include "gc/collector.h"
#include "config/config.h"
#include "http/server.h"
#include "meta/sqlite/sqlite_meta_store.h"
#include "metrics/metrics.h"
#include "api/api_metrics.h"
#include "registry/policy.h"
#include "registry/registry.h"
#include "registry/type_catalog.h"
#include "storage/fs/fs_blob_store.h"
#include "util/file_util.h"

#ifndef ARCA_VERSION
#define ARCA_VERSION "0.1.0-dev"
#endif

namespace arca {
namespace {

const char kUsage[] = R"(arca — an OCI artifact registry

Usage:
  arca serve [--init] [--config FILE] [--addr HOST:PORT] [--root DIR] [--SETTING VALUE ...]
  arca gc [--dry-run] [--config FILE] [--root DIR] [...]   one garbage-collection pass
  arca fsck [--repair [--force] [--max-delete-fraction F]] [--quick] [--config FILE]
            [--root DIR] [...]   check the store (and repair it)
  arca migrate status|up [--config FILE] [--root DIR]   the metadata schema's steps
  arca types import FILE.json ...   store type definitions where every replica sees them
  arca policy import FILE.yaml|show|clear   the type policy stored in the metadata
  arca user|robot|token|group|grant|keys ...   accounts and rights (`arca user help`)
  arca version
  arca --help

--init starts a registry whose meta.db is missing or empty beside existing blobs (or adopts
a meta.db without a store id); without it such a store is refused (README "Store identity").
fsck exits 0 when only debris (leftovers of cut-short uploads) is found; --repair removes it
and repairs damage, but refuses to delete more than --max-delete-fraction (default 0.1) of
the blobs without --force (docs/gc.md "fsck").

Settings (YAML key, ARCA_<KEY> environment variable, or --key flag; flags win over the
environment, which wins over the file):
  addr             listen address (default 127.0.0.1:5000)
  root             data directory (default ./data)
  blobs            where blob bytes live: empty for <root>, or an S3 bucket,
                   s3://BUCKET[/PREFIX]?endpoint=URL&region=R&addressing=path|virtual
                   with AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY set (docs/deploy.md)
  metadata         where the metadata lives: empty for SQLite at <root>/meta.db, or
                   postgres://USER:PASSWORD@HOST:PORT/DB?sslmode=...&pool=N (docs/deploy.md)
  migrate          schema steps: auto (applied at start, default) or manual (start refused
                   until `arca migrate up`)
  blob_redirect    repository patterns (comma-separated, e.g. public/**) whose blob GETs
                   answer 307 to a presigned URL of the S3 store (default: none)
  blob_redirect_ttl  how long such a URL is valid (default 10m)
  max_connections  open connections at most (default 1024)
  max_connections_per_client  open connections from one address (default 256; 0: no limit)
  idle_timeout     seconds an idle keep-alive connection is kept (default 60)
  header_timeout   seconds a request's headers may take from their first byte (default 20)
  io_timeout       seconds a body or response may move no byte at all (default 60)
  min_rate         bytes/s a body or response must average over rate_window (default 1024)
  rate_window      seconds of waiting on a client the average covers (default 30)
  io_threads       event-loop threads (default 0: one per core)
  shutdown_grace   seconds in-flight requests get on SIGTERM/SIGINT (default 10)
  access_log       JSON access log lines on stdout (default true)
  tls_cert         PEM certificate (chain) file: serve HTTPS, TLS 1.2/1.3 (with tls_key);
                   a renewed file is picked up within a second (docs/auth.md "TLS")
  tls_key          PEM private key file of tls_cert
  auto_mount       mount without `from` searches all repositories (default true)
  types_dir        operators' artifact type definitions (default <root>/types)
  policy_file      artifact type policy, YAML (default <root>/policy.yaml)
  admin_token      bearer token for /arca/v1 writes (default: loopback clients only)
  auth             none (default) or token: accounts, grants and bearer tokens (docs/auth.md);
                   none is refused on a non-loopback addr without --insecure-open
  auth_service     the service named in challenges and tokens' audience (default arca)
  token_ttl        lifetime of a bearer token (default 5m)
  external_url     the URL clients reach the registry at (default: from the request's Host)
  trusted_issuers  JSON file of external token issuers to trust (issuer, audience, jwks)
  audit_retention  audit entries are kept this long (default 90d; auth: token)
  audit_max_entries  audit entries kept at most (default 10000000)
  gc_interval      time between background GC passes, e.g. 10m; 0: none (default 10m)
  gc_retention     untagged and deleted manifests stay restorable (default 7d)
  gc_blob_grace    a pushed blob is kept unreferenced this long (default 1h)
  gc_upload_ttl    an upload session may sit untouched this long (default 24h)
  gc_referrers     collect referrers of deleted subjects (default true)
See docs/gc.md for garbage collection, the recycle bin and fsck.
)";

// blob_redirect as validated repository patterns; it needs a store that can make URLs (S3).
Result<std::vector<std::string>> BlobRedirectPatterns(const Config& config) {
  std::vector<std::string> out;
  std::string rest = config.blob_redirect;
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    std::string p = rest.substr(0, comma);
    rest = comma == std::string::npos ? "" : rest.substr(comma + 1);
    p.erase(0, p.find_first_not_of(' '));
    p.erase(p.find_last_not_of(' ') + 1);
    if (p.empty()) continue;
    Status s = auth::ValidatePattern(p);
    if (!s.ok()) {
      return Status(ErrorCode::kInternal, "invalid setting",
                    "blob_redirect: '" + p + "': " + s.detail());
    }
    out.push_back(p);
  }
  if (!out.empty() && config.blobs.empty()) {
    return Status(ErrorCode::kInternal, "invalid setting",
                  "blob_redirect needs blobs in an S3 store (the blobs setting): the local disk "
                  "has no URL to redirect to");
  }
  if (config.blob_redirect_ttl < 1 || config.blob_redirect_ttl > 604800) {
    return Status(ErrorCode::kInternal, "invalid setting", "blob_redirect_ttl: 1s to 7d");
  }
  return out;
}

// What the process itself reports in /metrics (docs/operations.md), read when scraped.
void RegisterProcessMetrics(http::Server& server, MetaStore& meta) {
  auto& m = metrics::Default();
  m.GaugeFamily("arca_build_info", "The running build (always 1).", {"version"})
      .With({ARCA_VERSION})
      .Set(1);
  int64_t started = static_cast<int64_t>(std::time(nullptr));
  m.Callback("arca_process_start_time_seconds", "When this process started (Unix time).",
             [started] { return static_cast<double>(started); });
  m.Callback("arca_http_open_connections", "Client connections open now.",
             [&server] { return static_cast<double>(server.open_connections()); });
  if (auto* pg = dynamic_cast<PgMetaStore*>(&meta)) {
    m.Callback("arca_metadata_retries_total",
               "Metadata transactions and reads run again after a conflict or a lost connection.",
               [pg] { return static_cast<double>(pg->retries()); }, /*counter=*/true);
  }
}

int Serve(const std::vector<std::string>& args) {
  // Signals are taken by one thread with sigwait. They are blocked before any thread starts,
  // as threads inherit the mask: a thread that had them unblocked would die of them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::vector<std::string> settings = args;
  bool init = TakeFlag(settings, "--init");
  bool insecure_open = TakeFlag(settings, "--insecure-open");
  auto config = LoadConfig(settings);
  if (!config.ok()) return Fail(config.status());
  config->insecure_open = config->insecure_open || insecure_open;
  Status open_check = CheckOpenAddress(*config);
  if (!open_check.ok()) return Fail(open_check);
  auto redirect = BlobRedirectPatterns(*config);  // before anything touches the store
  if (!redirect.ok()) return Fail(redirect.status());
  Status s = MakeDirs(config->root);
  if (!s.ok()) return Fail(s);
  StoreLock lock;
  s = lock.Acquire(config->root);
  if (!s.ok()) return Fail(s);
  if (!lock.held()) {
    return Fail(Status(ErrorCode::kInternal, "store in use",
                       "another arca process serves " + config->root));
  }
  auto store = OpenStore(config->root, config->blobs, config->metadata,
                         StoreOpenOptions{.init = init, .migrate = config->migrate == "auto"});
  if (!store.ok()) return Fail(store.status());
  auto& blobs = store->blobs;
  auto& meta = store->meta;
  TypeCatalog types(BuiltinTypeFiles(),
                    config->types_dir.empty() ? config->root + "/types" : config->types_dir);
  // Replicas on one PostgreSQL database keep the types defined through the API there, so that
  // each sees the others'; one process on SQLite keeps them as files in its folder.
  if (!config->metadata.empty()) types.ShareThrough(meta.get());
  s = types.Load();
  if (!s.ok()) return Fail(s);
  types.Watch(1000);
  PolicyStore policy(config->policy_file.empty() ? config->root + "/policy.yaml"
                                                 : config->policy_file);
  policy.ShareThrough(meta.get());  // a policy set through /arca/v1/policy
  s = policy.Load();
  if (!s.ok()) return Fail(s);
  policy.Watch(1000);
  Registry registry(*meta, *blobs);
  registry.SetTypes(&types, &policy);
  registry.SetDefaultRetention(config->gc_retention);
  registry.SetBlobGrace(config->gc_blob_grace);
  Collector collector(*meta, *blobs, registry.blob_locks(), GcSettingsOf(*config));
  collector.StartSchedule();
  api::Api api(registry, api::ApiOptions{.auto_mount = config->auto_mount,
                                         .admin_token = config->admin_token,
                                         .external_url = config->external_url,
                                         .tls = !config->tls_cert.empty(),
                                         .blob_redirect = *redirect,
                                         .blob_redirect_ttl = config->blob_redirect_ttl,
                                         .metrics_token = config->metrics_token,
                                         .metrics_loopback = config->metrics_loopback});
  api.SetTypes(&types);
  api.SetPolicy(&policy);
  api.SetCollector(&collector);
  AuthSetup auth;
  if (config->auth == "token") {
    // On PostgreSQL the accounts and audit stream live in the metadata database (every
    // replica sees the same); on SQLite in auth.db and audit.db beside meta.db.
    auto setup = SetUpAuth(*config, dynamic_cast<sql::Database*>(meta.get()));
    if (!setup.ok()) return Fail(setup.status());
    auth = std::move(*setup);
    api.SetAuth(auth.auth.get(), auth.accounts.get());
    api.SetAudit(auth.audit.get(), auth.audit_store.get());
  }

  http::ServerOptions options{.addr = config->addr,
                              .max_connections = config->max_connections,
                              .max_connections_per_client = config->max_connections_per_client,
                              .idle_timeout_s = config->idle_timeout,
                              .header_timeout_s = config->header_timeout,
                              .io_timeout_s = config->io_timeout,
                              .min_rate = config->min_rate,
                              .rate_window_s = config->rate_window,
                              .shutdown_grace_s = config->shutdown_grace,
                              .io_threads = config->io_threads,
                              .access_log = config->access_log,
                              .tls_cert = config->tls_cert,
                              .tls_key = config->tls_key,
                              .observe = api::ObserveRequest};
  http::Server server(options, [&api](http::Request& req, http::Response& res) {
    api.Handle(req, res);
  });
  std::atomic<bool> stopping{false};
  api.SetStopping([&stopping] { return stopping.load(); });
  RegisterProcessMetrics(server, *meta);
  api::RegisterApiMetrics();
  s = server.Listen();
  if (!s.ok()) return Fail(s);

  int shutdown_delay = config->shutdown_delay;
  std::thread signals([&server, &stopping, stop_signals, shutdown_delay] {
    int sig;
    sigwait(&stop_signals, &sig);
    // /readyz answers 503 from now on. With a delay, requests are still taken meanwhile, so
    // that balancers and Kubernetes stop sending new ones before the listener closes.
    stopping = true;
    if (shutdown_delay > 0) {
      std::fprintf(stderr, "arca: stopping in %d s (shutdown_delay); /readyz answers 503\n",
                   shutdown_delay);
      std::this_thread::sleep_for(std::chrono::seconds(shutdown_delay));
    }
    server.Shutdown();
  });

  // The port actually bound, so that `--addr 127.0.0.1:0` can be used.
  std::string bound = config->addr.substr(0, config->addr.rfind(':') + 1) +
                      std::to_string(server.port());
  if (server.tls()) {
    std::fprintf(stderr, "arca: HTTPS with the certificate %s\n", server.TlsDescription().c_str());
  }
  if (!config->metadata.empty()) {  // never the password: logs travel
    std::fprintf(stderr, "arca: metadata in %s\n", PgMetaStore::Redacted(config->metadata).c_str());
  }
  std::fprintf(stderr, "arca %s serving on %s (root %s)\n", ARCA_VERSION, bound.c_str(),
               config->root.c_str());
  size_t left = server.Serve();
  signals.join();  // Serve returns only after the signal thread asked it to stop
  std::fprintf(stderr, "arca: stopped%s\n",
               left ? (" with " + std::to_string(left) + " connections cut").c_str() : "");
  return 0;
}

}  // namespace
}  // namespace arca

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  // Large listing pages (100,000 tags are ~4 MiB of strings and body) would otherwise be
  // mmapped or trimmed back to the kernel on every request and refaulted page by page on the
  // next (measured: 100,000-tag listing 6 -> 12 ms). Keep up to 32 MiB of free heap instead.
  mallopt(M_MMAP_THRESHOLD, 16 << 20);
  mallopt(M_TRIM_THRESHOLD, 32 << 20);
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::fputs(arca::kUsage, stdout);
    return args.empty() ? 2 : 0;
  }
  if (args[0] == "version" || args[0] == "--version") {
    std::printf("arca %s\n", ARCA_VERSION);
    return 0;
  }
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (args[0] == "serve") return arca::Serve(rest);
  if (args[0] == "gc") return arca::GcCommand(rest);
  if (args[0] == "fsck") return arca::FsckCommand(rest);
  if (args[0] == "migrate") return arca::MigrateCommand(rest);
  if (args[0] == "types" || args[0] == "policy") return arca::SettingsCommand(args[0], rest);
  for (const char* c : {"user", "robot", "token", "group", "grant", "keys"}) {
    if (args[0] == c) return arca::AuthCommand(c, rest);
  }
  std::fprintf(stderr, "arca: unknown command '%s'\n\n%s", args[0].c_str(), arca::kUsage);
  return 2;
}
