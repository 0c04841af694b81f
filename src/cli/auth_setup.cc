#include "cli/auth_setup.h"

#include <arpa/inet.h>
#include <sys/stat.h>

#include <chrono>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

#include "auth/account_admin.h"
#include "auth/password.h"
#include "meta/postgres/pg_meta_store.h"
#include "meta/sql/sql_account_store.h"
#include "meta/sql/sql_audit_store.h"
#include "meta/sqlite/sqlite_file_db.h"
#include "types/json_limits.h"
#include "util/file_stamp.h"
#include "util/file_util.h"

namespace arca {
namespace {

bool IsLoopbackHost(std::string host) {
  if (host.size() > 1 && host.front() == '[') host = host.substr(1, host.size() - 2);
  if (host == "localhost") return true;
  in_addr v4;
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6;
  return inet_pton(AF_INET6, host.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

Result<std::string> ReadText(const std::string& path, size_t limit) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(ErrorCode::kInternal, "cannot read", path);
  std::string text(limit + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > limit) return Status(ErrorCode::kInternal, "file too large", path);
  return text;
}

// [{"issuer": "...", "audience": "...", "jwks": "<file>"}], file paths relative to the list.
// `files` gets the list's path and the JWKS files it names.
Result<std::vector<auth::ExternalIssuer>> ReadIssuers(const std::string& path,
                                                      std::vector<std::string>* files) {
  files->assign({path});
  auto text = ReadText(path, 1 << 20);
  if (!text.ok()) return text.status();
  auto doc = ParseJsonBounded(*text, 8);
  auto bad = [&](const std::string& why) {
    return Status(ErrorCode::kInternal, "invalid trusted_issuers", path + ": " + why);
  };
  if (!doc.ok() || !doc->is_array()) return bad("a JSON array of {issuer, audience, jwks}");
  std::string dir = path.find('/') == std::string::npos ? "." : path.substr(0, path.rfind('/'));
  std::vector<auth::ExternalIssuer> out;
  for (size_t i = 0; i < doc->size(); ++i) {
    const auto& e = (*doc)[i];
    auto str = [&](const char* k) {
      return e.is_object() && e.contains(k) && e[k].is_string() ? e[k].get<std::string>() : "";
    };
    auth::ExternalIssuer issuer{str("issuer"), str("audience"), {}};
    std::string jwks = str("jwks");
    if (issuer.issuer.empty() || issuer.audience.empty() || jwks.empty()) {
      return bad("entry " + std::to_string(i) + " needs issuer, audience and jwks");
    }
    if (issuer.issuer == "arca") return bad("entry " + std::to_string(i) + " uses Arca's own issuer");
    files->push_back(jwks.starts_with("/") ? jwks : dir + "/" + jwks);
    auto keys_text = ReadText(files->back(), 1 << 20);
    if (!keys_text.ok()) return keys_text.status();
    auto keys = auth::ParseJwks(*keys_text);
    if (!keys.ok()) return bad("entry " + std::to_string(i) + ": " + keys.status().detail());
    issuer.keys = std::move(*keys);
    out.push_back(std::move(issuer));
  }
  return out;
}

}  // namespace

IssuerWatch::IssuerWatch(std::string path, std::vector<std::string> files, auth::Auth& auth,
                         int interval_ms)
    : path_(std::move(path)), auth_(auth), files_(std::move(files)) {
  // What was read last is in force: changes from now on count.
  if (files_.empty()) files_ = {path_};
  stamp_ = FileStamp(files_);
  thread_ = std::thread([this, interval_ms] {
    std::unique_lock lock(mu_);
    while (!cv_.wait_for(lock, std::chrono::milliseconds(interval_ms), [this] { return stop_; })) {
      lock.unlock();
      ReloadIfChanged();
      lock.lock();
    }
  });
}

IssuerWatch::~IssuerWatch() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool IssuerWatch::ReloadIfChanged() {
  std::string stamp = FileStamp(files_);
  if (stamp == stamp_) return false;
  std::vector<std::string> files;
  auto issuers = ReadIssuers(path_, &files);
  // The files read this time (a new JWKS named, say) are watched from now on.
  if (files.size() > 1 || files_.empty()) files_ = files;
  stamp_ = FileStamp(files_);
  if (!issuers.ok()) {
    std::fprintf(stderr, "arca: trusted_issuers not reloaded, the issuers in force stay: %s (%s)\n",
                 issuers.status().message().c_str(), issuers.status().detail().c_str());
    return false;
  }
  size_t n = issuers->size();
  auth_.SetExternalIssuers(std::move(*issuers));
  std::fprintf(stderr, "arca: trusted_issuers reloaded: %zu issuer(s)\n", n);
  return true;
}

namespace {

Status BootstrapAdmin(auth::AccountStore& store) {
  auto snap = store.Load();
  if (!snap.ok()) return snap.status();
  if (!snap->accounts.empty()) return Status::Ok();
  std::string password;
  bool generated = false;
  if (const char* env = std::getenv("ARCA_ADMIN_PASSWORD"); env && *env) {
    password = env;
  } else {
    password = auth::RandomSecret(18);
    generated = true;
  }
  auth::AccountAdmin admin(store);
  int64_t now = time(nullptr);
  Status added = admin.AddUser("admin", password, now, "created at first start");
  // Another replica starting at the same time on the same database got there first.
  if (added.code() == ErrorCode::kConflict) return Status::Ok();
  ARCA_RETURN_IF_ERROR(added);
  auto grant = admin.AddGrant("user:admin", "**", "admin", now);
  if (!grant.ok()) return grant.status();
  if (generated) {
    std::fprintf(stderr, "arca: created the user \"admin\" with the password %s "
                         "(shown this once; change it with `arca user passwd admin`)\n",
                 password.c_str());
  } else {
    std::fprintf(stderr, "arca: created the user \"admin\" with the password from "
                         "ARCA_ADMIN_PASSWORD\n");
  }
  return Status::Ok();
}

// A store that ran auth: token with its accounts in <root>/auth.db and now keeps its metadata
// in PostgreSQL: the accounts move into the database once, when it has none yet (the first
// replica to start on it), so that nobody is locked out by the move. The database records the
// move, and auth.db is renamed auth.db.imported: accounts removed later never come back from
// it. A move that cannot happen (the database has accounts of its own, auth.db is unreadable)
// is said loudly and does not keep the server from starting.
Status ImportLocalAccounts(const Config& config, SqlAccountStore& shared) {
  std::string path = config.root + "/auth.db";
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return Status::Ok();
  auto state = shared.State();
  if (!state.ok()) return state.status();
  if (state->imported_before) {
    std::fprintf(stderr, "arca: %s is not read: accounts live in the metadata database, where "
                         "an auth.db was moved before\n", path.c_str());
    return Status::Ok();
  }
  auth::AccountSnapshot snap;
  {
    auto local = OpenSqliteAccountStore(path);
    auto loaded = local.ok() ? (*local)->Load() : Result<auth::AccountSnapshot>(local.status());
    if (!loaded.ok()) {
      std::fprintf(stderr, "arca: WARNING: %s cannot be read, its accounts were not moved into "
                           "the metadata database: %s: %s\n",
                   path.c_str(), loaded.status().message().c_str(),
                   loaded.status().detail().c_str());
      return Status::Ok();
    }
    snap = std::move(*loaded);
  }  // closed before it is renamed
  if (snap.accounts.empty()) return Status::Ok();
  auto done = state->has_accounts
                  ? Result<SqlAccountStore::Import>(SqlAccountStore::Import::kNotEmpty)
                  : shared.ImportOnce(snap, path, static_cast<int64_t>(time(nullptr)));
  if (!done.ok()) return done.status();
  if (*done == SqlAccountStore::Import::kNotEmpty) {
    std::fprintf(stderr, "arca: WARNING: %s holds %zu accounts, but the metadata database has "
                         "accounts of its own: they were NOT moved (start the replica whose "
                         "root holds auth.db first, on an empty database)\n",
                 path.c_str(), snap.accounts.size());
    return Status::Ok();
  }
  if (*done == SqlAccountStore::Import::kImported) {
    std::fprintf(stderr, "arca: moved %zu accounts, %zu tokens and %zu grants from %s into the "
                         "metadata database, which holds them from now on (grants have new "
                         "ids; the audit stream before the move stays in audit.db)\n",
                 snap.accounts.size(), snap.tokens.size(), snap.grants.size(), path.c_str());
  }
  if (::rename(path.c_str(), (path + ".imported").c_str()) != 0) {
    std::fprintf(stderr, "arca: %s could not be renamed %s.imported (%s); the database's record "
                         "of the move keeps it from being read again\n",
                 path.c_str(), path.c_str(), std::strerror(errno));
  }
  return Status::Ok();
}

}  // namespace

std::string KeysDir(const Config& config) {
  return config.auth_keys_dir.empty() ? config.root + "/auth/keys" : config.auth_keys_dir;
}

int64_t KeyKeepSeconds(const Config& config) { return config.token_ttl + 120; }

Result<std::unique_ptr<auth::AccountStore>> OpenAccounts(const Config& config) {
  if (!config.metadata.empty()) {
    PgMetaStore::Options options;
    options.url = config.metadata;
    options.migrate = config.migrate == "auto";
    auto pg = PgMetaStore::Open(options);
    if (!pg.ok()) return pg.status();
    std::shared_ptr<PgMetaStore> owned = std::move(*pg);
    auto store = std::make_unique<SqlAccountStore>(*owned, owned);
    ARCA_RETURN_IF_ERROR(ImportLocalAccounts(config, *store));  // as `serve` would
    return std::unique_ptr<auth::AccountStore>(std::move(store));
  }
  ARCA_RETURN_IF_ERROR(MakeDirs(config.root));
  return OpenSqliteAccountStore(config.root + "/auth.db");
}

Status CheckOpenAddress(const Config& config) {
  if (config.auth != "none") return Status::Ok();
  std::string host = config.addr.substr(0, config.addr.rfind(':'));
  if (IsLoopbackHost(host)) return Status::Ok();
  if (!config.insecure_open) {
    return Status(ErrorCode::kInternal, "refusing to serve an open registry beyond loopback",
                  config.addr + " is not a loopback address and auth is none: anyone who can "
                  "reach it could push and delete. Set auth: token, or pass --insecure-open.");
  }
  std::fprintf(stderr, "arca: WARNING: auth is none on %s: anyone who can reach this address "
                       "can push, overwrite and delete (--insecure-open)\n",
               config.addr.c_str());
  return Status::Ok();
}

Result<AuthSetup> SetUpAuth(const Config& config, sql::Database* shared) {
  AuthSetup setup;
  if (config.token_ttl < 10) {
    return Status(ErrorCode::kInternal, "invalid setting", "token_ttl: at least 10s");
  }
  if (shared) {
    auto accounts = std::make_unique<SqlAccountStore>(*shared);
    ARCA_RETURN_IF_ERROR(ImportLocalAccounts(config, *accounts));
    setup.accounts = std::move(accounts);
  } else {
    auto accounts = OpenAccounts(config);
    if (!accounts.ok()) return accounts.status();
    setup.accounts = std::move(*accounts);
  }
  ARCA_RETURN_IF_ERROR(BootstrapAdmin(*setup.accounts));
  auto keys = auth::KeyRing::Open(KeysDir(config), KeyKeepSeconds(config));
  if (!keys.ok()) return keys.status();
  setup.keys = std::move(*keys);
  auth::AuthOptions options;
  options.service = config.auth_service;
  options.token_ttl = config.token_ttl;
  options.admin_token = config.admin_token;
  // On PostgreSQL each look is a round trip: ten a second see another replica's change soon
  // enough (a disabled account is refused everywhere within 0.1 s) without a query per request.
  if (shared) options.account_check_us = 100'000;
  std::vector<std::string> issuer_files;
  if (!config.trusted_issuers.empty()) {
    auto issuers = ReadIssuers(config.trusted_issuers, &issuer_files);
    if (!issuers.ok()) return issuers.status();
    options.external = std::move(*issuers);
  }
  if (shared) {
    setup.audit_store = std::make_unique<SqlAuditStore>(*shared);
  } else {
    auto audit = OpenSqliteAuditStore(config.root + "/audit.db");
    if (!audit.ok()) return audit.status();
    setup.audit_store = std::move(*audit);
  }
  setup.audit = std::make_unique<auth::AuditRecorder>(
      *setup.audit_store,
      auth::AuditOptions{.retention = config.audit_retention,
                         .max_entries = config.audit_max_entries},
      [] { return static_cast<int64_t>(time(nullptr)); });
  options.on_login_failure = [audit = setup.audit.get()](const std::string& user,
                                                         const std::string& remote, bool limit) {
    auth::AuditEntry e;
    e.principal = "user:" + user;
    e.action = "login";
    e.status = 401;
    e.remote = remote;
    e.detail = limit ? "invalid credentials; the failed-login limit is reached"
                     : "invalid credentials";
    audit->Record(std::move(e));
  };
  setup.auth = std::make_unique<auth::Auth>(*setup.accounts, *setup.keys, std::move(options),
                                            [] { return static_cast<int64_t>(time(nullptr)); });
  if (!config.trusted_issuers.empty()) {
    setup.issuers = std::make_unique<IssuerWatch>(config.trusted_issuers,
                                                  std::move(issuer_files), *setup.auth, 1000);
  }
  return setup;
}

}  // namespace arca
