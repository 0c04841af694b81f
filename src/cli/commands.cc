#include "cli/commands.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <optional>

#include "cli/store_open.h"
#include "gc/fsck.h"
#include "meta/postgres/pg_meta_store.h"
#include "meta/sqlite/sqlite_meta_store.h"
#include "util/file_util.h"

namespace arca {

int Fail(const Status& s) {
  std::fprintf(stderr, "arca: %s: %s\n", s.message().c_str(), s.detail().c_str());
  return 2;
}

Result<Config> LoadConfig(const std::vector<std::string>& args) {
  Config config;
  std::string file;
  if (const char* env = std::getenv("ARCA_CONFIG")) file = env;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--config" && i + 1 < args.size()) file = args[i + 1];
    if (args[i].starts_with("--config=")) file = args[i].substr(9);
  }
  if (!file.empty()) ARCA_RETURN_IF_ERROR(ApplyYamlFile(config, file));
  ARCA_RETURN_IF_ERROR(ApplyEnvironment(config));
  ARCA_RETURN_IF_ERROR(ApplyFlags(config, args));
  return config;
}

GcSettings GcSettingsOf(const Config& c) {
  return GcSettings{.interval = c.gc_interval,
                    .blob_grace = c.gc_blob_grace,
                    .upload_ttl = c.gc_upload_ttl,
                    .referrers = c.gc_referrers};
}

StoreLock::~StoreLock() {
  if (fd_ >= 0) ::close(fd_);
}

Status StoreLock::Acquire(const std::string& root) {
  std::string path = root + "/arca.lock";
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) return Status(ErrorCode::kInternal, "cannot open lock", path + ": " + std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) == 0) {
    held_ = true;
  } else if (errno != EWOULDBLOCK) {
    return Status(ErrorCode::kInternal, "cannot lock", path + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

bool TakeFlag(std::vector<std::string>& args, const std::string& flag) {
  for (auto it = args.begin(); it != args.end(); ++it) {
    if (*it == flag) {
      args.erase(it);
      return true;
    }
  }
  return false;
}

namespace {

// POSTs to the server holding the store: its answer's status and body.
Result<std::pair<int, std::string>> PostToServer(const Config& config, const std::string& target) {
  std::string host = config.addr.substr(0, config.addr.rfind(':'));
  std::string port = config.addr.substr(config.addr.rfind(':') + 1);
  if (host.size() > 1 && host.front() == '[') host = host.substr(1, host.size() - 2);
  if (host.empty() || host == "0.0.0.0") host = "127.0.0.1";
  addrinfo hints{}, *found = nullptr;
  hints.ai_socktype = SOCK_STREAM;
  if (getaddrinfo(host.c_str(), port.c_str(), &hints, &found) != 0 || !found) {
    return Status(ErrorCode::kInternal, "cannot reach the server", "resolving " + config.addr);
  }
  int fd = ::socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  bool connected = fd >= 0 && ::connect(fd, found->ai_addr, found->ai_addrlen) == 0;
  freeaddrinfo(found);
  if (!connected) {
    if (fd >= 0) ::close(fd);
    return Status(ErrorCode::kInternal, "cannot reach the server holding the store",
                  config.addr + ": " + std::strerror(errno));
  }
  std::string req = "POST " + target + " HTTP/1.1\r\nHost: " + config.addr +
                    "\r\nContent-Length: 0\r\nConnection: close\r\n";
  if (!config.admin_token.empty()) req += "Authorization: Bearer " + config.admin_token + "\r\n";
  req += "\r\n";
  bool sent = ::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size());
  std::string answer;
  char buf[65536];
  ssize_t n;
  while (sent && (n = ::recv(fd, buf, sizeof buf, 0)) > 0 && answer.size() < (64u << 20)) {
    answer.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  size_t head_end = answer.find("\r\n\r\n");
  if (!answer.starts_with("HTTP/1.1 ") || head_end == std::string::npos) {
    return Status(ErrorCode::kInternal, "unexpected answer from the server", config.addr);
  }
  int status = std::atoi(answer.c_str() + 9);
  std::string body = answer.substr(head_end + 4);
  if (answer.find("Transfer-Encoding: chunked") < head_end) {  // de-chunk
    std::string plain;
    size_t at = 0;
    while (at < body.size()) {
      size_t eol = body.find("\r\n", at);
      if (eol == std::string::npos) break;
      size_t len = std::strtoul(body.c_str() + at, nullptr, 16);
      if (len == 0) break;
      plain += body.substr(eol + 2, len);
      at = eol + 2 + len + 2;
    }
    body = plain;
  }
  return std::make_pair(status, body);
}

}  // namespace

int GcCommand(const std::vector<std::string>& in) {
  std::vector<std::string> args = in;
  bool dry_run = TakeFlag(args, "--dry-run");
  auto config = LoadConfig(args);
  if (!config.ok()) return Fail(config.status());
  Status s = MakeDirs(config->root);
  if (!s.ok()) return Fail(s);
  StoreLock lock;
  s = lock.Acquire(config->root);
  if (!s.ok()) return Fail(s);
  if (!lock.held()) {  // a server holds the store: it runs the pass
    auto answer = PostToServer(*config, std::string("/arca/v1/admin/gc?dry_run=") +
                                            (dry_run ? "true" : "false"));
    if (!answer.ok()) return Fail(answer.status());
    std::printf("%s\n", answer->second.c_str());
    return answer->first == 200 ? 0 : 1;
  }
  auto store = OpenStore(config->root, config->blobs, config->metadata,
                         StoreOpenOptions{.migrate = config->migrate == "auto"});
  if (!store.ok()) return Fail(store.status());
  KeyedMutex blob_locks;  // nobody else writes: the store lock is ours
  Collector collector(*store->meta, *store->blobs, blob_locks, GcSettingsOf(*config));
  GcReport report = collector.Run(dry_run);
  std::printf("%s\n", GcReportJson(report).c_str());
  if (!report.error.empty()) {
    std::fprintf(stderr, "arca: gc stopped: %s\n", report.error.c_str());
    return 1;
  }
  return 0;
}

namespace {

// Takes "--flag VALUE" or "--flag=VALUE" out of args; nullopt when absent, an error when the
// value is missing.
Result<std::optional<std::string>> TakeValue(std::vector<std::string>& args,
                                             const std::string& flag) {
  for (auto it = args.begin(); it != args.end(); ++it) {
    if (it->starts_with(flag + "=")) {
      std::string v = it->substr(flag.size() + 1);
      args.erase(it);
      return std::optional<std::string>(v);
    }
    if (*it == flag) {
      if (it + 1 == args.end()) {
        return Status(ErrorCode::kInternal, "bad flag", flag + " needs a value");
      }
      std::string v = *(it + 1);
      args.erase(it, it + 2);
      return std::optional<std::string>(v);
    }
  }
  return std::optional<std::string>();
}

void PrintFsck(const FsckResult& r) {
  for (const FsckProblem& p : r.problems) {
    if (p.debris) continue;
    std::printf("%s %s: %s%s\n", p.kind.c_str(), p.object.c_str(), p.detail.c_str(),
                p.repaired ? " (repaired)" : "");
  }
  for (const FsckProblem& p : r.problems) {
    if (!p.debris) continue;
    std::printf("debris: %s %s: %s%s\n", p.kind.c_str(), p.object.c_str(), p.detail.c_str(),
                p.repaired ? " (removed)" : "");
  }
  if (!r.repair_refused.empty()) {
    std::printf("fsck: --repair refused, nothing changed: %s\n", r.repair_refused.c_str());
  }
  size_t removed = 0;
  for (const FsckProblem& p : r.problems) removed += p.debris && p.repaired ? 1 : 0;
  std::printf("fsck: %llu blobs, %llu manifests checked; %zu problems, %zu remaining; "
              "%zu debris, %zu removed\n",
              static_cast<unsigned long long>(r.blobs_checked),
              static_cast<unsigned long long>(r.manifests_checked), r.damage(), r.remaining(),
              r.debris(), removed);
}

}  // namespace

int FsckCommand(const std::vector<std::string>& in) {
  std::vector<std::string> args = in;
  FsckOptions options;
  options.repair = TakeFlag(args, "--repair");
  options.force = TakeFlag(args, "--force");
  options.verify_digests = !TakeFlag(args, "--quick");
  auto fraction = TakeValue(args, "--max-delete-fraction");
  if (!fraction.ok()) return Fail(fraction.status());
  if (fraction->has_value()) {
    char* end = nullptr;
    options.max_delete_fraction = std::strtod((*fraction)->c_str(), &end);
    if ((*fraction)->empty() || *end != '\0' || !(options.max_delete_fraction >= 0) ||
        options.max_delete_fraction > 1) {
      return Fail(Status(ErrorCode::kInternal, "bad flag",
                         "--max-delete-fraction wants a number from 0 to 1, not '" + **fraction +
                             "'"));
    }
  }
  auto config = LoadConfig(args);
  if (!config.ok()) return Fail(config.status());
  options.now = static_cast<int64_t>(std::time(nullptr));
  options.grace = config->gc_blob_grace;
  // Checking reads beside a running server; only --repair takes the store (and so keeps a
  // server from starting meanwhile).
  StoreLock lock;
  if (options.repair) {
    Status s = lock.Acquire(config->root);
    if (!s.ok()) return Fail(s);
    if (!lock.held()) {
      return Fail(Status(ErrorCode::kInternal, "store in use",
                         "--repair needs the store to itself: stop the arca server on " + config->root));
    }
  }
  auto store = OpenStore(config->root, config->blobs, config->metadata,
                         StoreOpenOptions{.write_identity = options.repair,
                                          .migrate = config->migrate == "auto"});
  if (!store.ok()) {
    if (store.status().message() != kStoreIdentityProblem) return Fail(store.status());
    // Nothing else can be checked against metadata that is not this store's.
    std::printf("store-identity %s\n", store.status().detail().c_str());
    std::printf("fsck: nothing else checked; 1 problem, 1 remaining%s\n",
                options.repair ? "; --repair refused, nothing changed" : "");
    return 1;
  }
  if (!options.repair && !store->identity.note.empty()) {
    std::printf("store-identity: %s (to be written by the next `arca serve` or `fsck --repair`)\n",
                store->identity.note.c_str());
  }
  auto result = RunFsck(*store->meta, *store->blobs, options);
  if (!result.ok()) return Fail(result.status());
  PrintFsck(*result);
  if (!result->repair_refused.empty()) return 1;
  return result->remaining() == 0 ? 0 : 1;
}

int MigrateCommand(const std::vector<std::string>& in) {
  std::vector<std::string> args = in;
  bool status = TakeFlag(args, "status");
  bool up = TakeFlag(args, "up");
  if (status == up) {
    std::fprintf(stderr, "usage: arca migrate status|up [--config FILE] [--root DIR]\n");
    return 2;
  }
  auto config = LoadConfig(args);
  if (!config.ok()) return Fail(config.status());
  std::string db = config->root + "/meta.db";
  const std::string& pg = config->metadata;
  auto describe = [&] {
    return pg.empty() ? SqliteMetaStore::DescribeSchema(db) : PgMetaStore::DescribeSchema(pg);
  };
  if (status) {
    auto text = describe();
    if (!text.ok()) return Fail(text.status());
    std::fputs(text->c_str(), stdout);
    return text->find("cannot serve") == std::string::npos ? 0 : 1;
  }
  // Safe beside running servers: each step is one transaction (SQLite: BEGIN IMMEDIATE;
  // PostgreSQL: under an advisory lock, one replica at a time), and every step says which
  // older code can still serve after it.
  Status s = pg.empty() ? SqliteMetaStore::MigrateSchema(db, /*create=*/false)
                        : PgMetaStore::MigrateSchema(pg);
  if (!s.ok()) return Fail(s);
  auto text = describe();
  if (!text.ok()) return Fail(text.status());
  std::fputs(text->c_str(), stdout);
  return 0;
}

}  // namespace arca
