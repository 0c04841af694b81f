// Secrets: password hashes (argon2id for Arca's own, bcrypt read from htpasswd files), random
// secrets for robots and tokens, and constant-time comparison.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/status.h"

namespace arca::auth {

// Passwords longer than this are refused by HashPassword and never match in VerifyPassword.
constexpr size_t kMaxPasswordSize = 1024;

// An argon2id hash in the PHC string form ($argon2id$v=19$m=...,t=...,p=...$salt$hash) with a
// random 16-byte salt; costs per OWASP's argon2id minimum (m = 19 MiB, t = 2, p = 1).
Result<std::string> HashPassword(std::string_view password);
// True when password matches encoded: an argon2id PHC string, or a bcrypt hash ($2a$, $2b$,
// $2y$) as htpasswd files carry. False for anything malformed or of another scheme; never
// throws, and compares hashes in constant time.
bool VerifyPassword(std::string_view password, std::string_view encoded);

// bytes of randomness from OpenSSL's CSPRNG, base64url-encoded.
std::string RandomSecret(size_t bytes = 32);
// SHA-256 of a high-entropy secret (a robot secret or a token), hex: such secrets need no
// slow hash, and checking them must stay cheap on every request.
std::string SecretDigest(std::string_view secret);
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// An htpasswd file's user:hash lines (blank lines and # comments skipped). Only bcrypt hashes
// are accepted (what `htpasswd -B` and CNCF Distribution use); any other line is an error that
// names its line number, never its content.
Result<std::vector<std::pair<std::string, std::string>>> ParseHtpasswd(std::string_view text);

}  // namespace arca::auth
