// Setting up authentication for `arca serve` and the account commands: where the key ring and
// the account store live, the first admin, trusted external issuers, and the refusal to serve
// an open registry beyond loopback.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "auth/auth.h"
#include "config/config.h"
#include "auth/audit.h"
#include "auth/account_store.h"
#include "meta/sql/sql_database.h"

namespace arca {

std::string KeysDir(const Config& config);  // auth_keys_dir, by default <root>/auth/keys
// How long a retired signing key still verifies: the longest a token it signed may live.
int64_t KeyKeepSeconds(const Config& config);
// The accounts: <root>/auth.db, or the metadata database when the metadata setting names
// PostgreSQL (opened here for the account commands; `serve` passes its own, SetUpAuth).
Result<std::unique_ptr<auth::AccountStore>> OpenAccounts(const Config& config);

// auth: none on an address other than loopback needs insecure_open (and is then warned about).
Status CheckOpenAddress(const Config& config);

// Reads trusted_issuers again, with the JWKS files it names, whenever one of them changes
// (an identity provider rotating its keys), and hands the result to Auth. A file that does
// not read or parse is logged once per change and the issuers in force stay.
class IssuerWatch {
 public:
  // `files`: the list and the JWKS files it named when it was last read (ReadIssuers).
  IssuerWatch(std::string path, std::vector<std::string> files, auth::Auth& auth,
              int interval_ms);
  ~IssuerWatch();  // stops the thread
  // One check (the thread calls it every interval); true when new issuers took over.
  bool ReloadIfChanged();

 private:
  const std::string path_;
  auth::Auth& auth_;
  std::vector<std::string> files_;  // the list and its JWKS files, as last read
  std::string stamp_;               // their FileStamp at the last attempt
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // GUARDED_BY(mu_)
  std::thread thread_;
};

struct AuthSetup {
  std::unique_ptr<auth::AccountStore> accounts;
  std::unique_ptr<auth::KeyRing> keys;
  std::unique_ptr<auth::Auth> auth;
  std::unique_ptr<auth::AuditStore> audit_store;
  std::unique_ptr<auth::AuditRecorder> audit;
  std::unique_ptr<IssuerWatch> issuers;  // with trusted_issuers; declared last: stopped first
};

// For auth: token: opens the store and key ring, reads (and watches) trusted_issuers, and on a store with
// no account creates "admin" (password from ARCA_ADMIN_PASSWORD, else generated and printed
// once on stderr) with admin on "**"; opens the audit stream. Accounts and audit live in
// `shared` when given (the metadata database on PostgreSQL, which every replica sees), else in
// <root>/auth.db and <root>/audit.db.
Result<AuthSetup> SetUpAuth(const Config& config, sql::Database* shared = nullptr);

}  // namespace arca
