// Setting up authentication for `arca serve` and the account commands: where the key ring and
// the account store live, the first admin, trusted external issuers, and the refusal to serve
// an open registry beyond loopback.
#pragma once

#include <memory>
#include <string>

#include "auth/auth.h"
#include "config/config.h"
#include "auth/audit.h"
#include "meta/sqlite/sqlite_account_store.h"
#include "meta/sqlite/sqlite_audit_store.h"

namespace arca {

std::string KeysDir(const Config& config);  // <root>/auth/keys
// How long a retired signing key still verifies: the longest a token it signed may live.
int64_t KeyKeepSeconds(const Config& config);
Result<std::unique_ptr<SqliteAccountStore>> OpenAccounts(const Config& config);

// auth: none on an address other than loopback needs insecure_open (and is then warned about).
Status CheckOpenAddress(const Config& config);

struct AuthSetup {
  std::unique_ptr<SqliteAccountStore> accounts;
  std::unique_ptr<auth::KeyRing> keys;
  std::unique_ptr<auth::Auth> auth;
  std::unique_ptr<SqliteAuditStore> audit_store;
  std::unique_ptr<auth::AuditRecorder> audit;  // declared last: stopped first
};

// For auth: token: opens the store and key ring, reads trusted_issuers, and on a store with
// no account creates "admin" (password from ARCA_ADMIN_PASSWORD, else generated and printed
// once on stderr) with admin on "**"; opens the audit stream (<root>/audit.db).
Result<AuthSetup> SetUpAuth(const Config& config);

}  // namespace arca
