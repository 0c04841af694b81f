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

#include "gc/fsck.h"
#include "meta/sqlite/sqlite_meta_store.h"
#include "storage/fs/fs_blob_store.h"
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

namespace {

// Takes the flags a subcommand understands out of args (the rest are settings).
bool TakeFlag(std::vector<std::string>& args, const std::string& flag) {
  for (auto it = args.begin(); it != args.end(); ++it) {
    if (*it == flag) {
      args.erase(it);
      return true;
    }
  }
  return false;
}

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
  auto blobs = FsBlobStore::Open(config->root);
  if (!blobs.ok()) return Fail(blobs.status());
  auto meta = SqliteMetaStore::Open(config->root + "/meta.db");
  if (!meta.ok()) return Fail(meta.status());
  KeyedMutex blob_locks;  // nobody else writes: the store lock is ours
  Collector collector(**meta, **blobs, blob_locks, GcSettingsOf(*config));
  GcReport report = collector.Run(dry_run);
  std::printf("%s\n", GcReportJson(report).c_str());
  if (!report.error.empty()) {
    std::fprintf(stderr, "arca: gc stopped: %s\n", report.error.c_str());
    return 1;
  }
  return 0;
}

int FsckCommand(const std::vector<std::string>& in) {
  std::vector<std::string> args = in;
  FsckOptions options;
  options.repair = TakeFlag(args, "--repair");
  options.verify_digests = !TakeFlag(args, "--quick");
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
  auto blobs = FsBlobStore::Open(config->root);
  if (!blobs.ok()) return Fail(blobs.status());
  auto meta = SqliteMetaStore::Open(config->root + "/meta.db");
  if (!meta.ok()) return Fail(meta.status());
  auto result = RunFsck(**meta, **blobs, options);
  if (!result.ok()) return Fail(result.status());
  for (const FsckProblem& p : result->problems) {
    std::printf("%s %s: %s%s\n", p.kind.c_str(), p.object.c_str(), p.detail.c_str(),
                p.repaired ? " (repaired)" : "");
  }
  std::printf("fsck: %llu blobs, %llu manifests checked; %zu problems, %zu remaining\n",
              static_cast<unsigned long long>(result->blobs_checked),
              static_cast<unsigned long long>(result->manifests_checked), result->problems.size(),
              result->remaining());
  return result->remaining() == 0 ? 0 : 1;
}

}  // namespace arca
