#include "auth/password.h"

#include <argon2.h>
#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <unordered_map>

#include "auth/jwt.h"
#include "util/sha.h"

namespace arca::auth {
namespace {

constexpr uint32_t kArgonMemoryKiB = 19 * 1024;
constexpr uint32_t kArgonPasses = 2;
constexpr uint32_t kArgonLanes = 1;
constexpr size_t kSaltBytes = 16;
constexpr size_t kHashBytes = 32;
// A stored hash names its own costs; these bounds keep a corrupt one from making one login
// allocate gigabytes or run for minutes.
constexpr uint32_t kMaxArgonMemoryKiB = 256 * 1024;
constexpr uint32_t kMaxArgonPasses = 16;
constexpr uint32_t kMaxArgonLanes = 16;
// `htpasswd -B -C` accepts costs 4 to 17; cost 31 would take hours per attempt.
constexpr int kMaxBcryptCost = 17;
constexpr size_t kBcryptSize = 60;

bool TakeNumber(std::string_view& s, uint32_t* out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  if (ec != std::errc() || end == s.data()) return false;
  s.remove_prefix(static_cast<size_t>(end - s.data()));
  return true;
}

bool TakeLiteral(std::string_view& s, std::string_view literal) {
  if (!s.starts_with(literal)) return false;
  s.remove_prefix(literal.size());
  return true;
}

// Only the costs are read here; libargon2 parses and checks the rest of the string.
bool ArgonCostsBounded(std::string_view encoded) {
  uint32_t m = 0, t = 0, p = 0;
  return TakeLiteral(encoded, "$argon2id$v=19$m=") && TakeNumber(encoded, &m) &&
         TakeLiteral(encoded, ",t=") && TakeNumber(encoded, &t) && TakeLiteral(encoded, ",p=") &&
         TakeNumber(encoded, &p) && m <= kMaxArgonMemoryKiB && t <= kMaxArgonPasses &&
         p <= kMaxArgonLanes;
}

bool VerifyArgon2id(std::string_view password, std::string_view encoded) {
  if (!ArgonCostsBounded(encoded)) return false;
  std::string terminated(encoded);  // argon2id_verify wants a C string
  // argon2id_verify compares the hashes in constant time (argon2_compare).
  return argon2id_verify(terminated.c_str(), password.data(), password.size()) == ARGON2_OK;
}

bool IsBcryptAlphabet(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '.' || c == '/';
}

// $2a$, $2b$ or $2y$, a two-digit cost, $, then 22 characters of salt and 31 of hash.
bool IsBcrypt(std::string_view h) {
  if (h.size() != kBcryptSize ||
      !(h.starts_with("$2a$") || h.starts_with("$2b$") || h.starts_with("$2y$"))) {
    return false;
  }
  if (h[4] < '0' || h[4] > '9' || h[5] < '0' || h[5] > '9' || h[6] != '$') return false;
  int cost = (h[4] - '0') * 10 + (h[5] - '0');
  if (cost < 4 || cost > kMaxBcryptCost) return false;
  for (char c : h.substr(7)) {
    if (!IsBcryptAlphabet(c)) return false;
  }
  return true;
}

bool VerifyBcrypt(std::string_view password, std::string_view encoded) {
  // crypt_r reads a C string: "secret\0anything" would otherwise verify as "secret".
  if (!IsBcrypt(encoded) || password.find('\0') != std::string_view::npos) return false;
  std::string phrase(password);
  std::string setting(encoded);
  auto data = std::make_unique<crypt_data>();  // zeroed, as crypt_r requires on first use
  const char* out = crypt_r(phrase.c_str(), setting.c_str(), data.get());
  bool match = out != nullptr && ConstantTimeEquals(out, encoded);
  OPENSSL_cleanse(data.get(), sizeof(crypt_data));
  OPENSSL_cleanse(phrase.data(), phrase.size());
  return match;
}

std::string_view Trim(std::string_view s) {
  constexpr std::string_view kSpace = " \t\r";
  size_t begin = s.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) return {};
  return s.substr(begin, s.find_last_not_of(kSpace) - begin + 1);
}

Status HtpasswdError(size_t line, std::string_view why) {
  return Status(ErrorCode::kInternal, "invalid htpasswd file",
                "line " + std::to_string(line) + ": " + std::string(why));
}

}  // namespace

Result<std::string> HashPassword(std::string_view password) {
  if (password.size() > kMaxPasswordSize) {
    return Status(ErrorCode::kTooLarge, "password too long",
                  "a password has at most " + std::to_string(kMaxPasswordSize) + " bytes");
  }
  unsigned char salt[kSaltBytes];
  if (RAND_bytes(salt, sizeof salt) != 1) {
    return Status(ErrorCode::kInternal, "cannot hash the password", "no randomness for a salt");
  }
  std::string encoded(argon2_encodedlen(kArgonPasses, kArgonMemoryKiB, kArgonLanes, kSaltBytes,
                                        kHashBytes, Argon2_id),
                      '\0');
  int rc = argon2id_hash_encoded(kArgonPasses, kArgonMemoryKiB, kArgonLanes, password.data(),
                                 password.size(), salt, sizeof salt, kHashBytes, encoded.data(),
                                 encoded.size());
  if (rc != ARGON2_OK) {
    return Status(ErrorCode::kInternal, "cannot hash the password", argon2_error_message(rc));
  }
  encoded.resize(std::strlen(encoded.c_str()));
  return encoded;
}

bool VerifyPassword(std::string_view password, std::string_view encoded) {
  if (password.size() > kMaxPasswordSize || encoded.find('\0') != std::string_view::npos) {
    return false;
  }
  if (encoded.starts_with("$argon2id$")) return VerifyArgon2id(password, encoded);
  if (encoded.starts_with("$2")) return VerifyBcrypt(password, encoded);
  return false;
}

std::string RandomSecret(size_t bytes) {
  std::string raw(bytes, '\0');
  // A secret that is not random is worse than no process at all; RAND_bytes does not fail
  // on a working Linux system.
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(raw.size())) !=
      1) {
    std::abort();
  }
  std::string secret = Base64UrlEncode(raw);
  OPENSSL_cleanse(raw.data(), raw.size());
  return secret;
}

std::string SecretDigest(std::string_view secret) {
  return HexDigestOf(DigestAlgorithm::kSha256, secret);
}

// The lengths are not secret (hashes and digests of one scheme have one length); the bytes are.
bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

Result<std::vector<std::pair<std::string, std::string>>> ParseHtpasswd(std::string_view text) {
  std::vector<std::pair<std::string, std::string>> entries;
  std::unordered_map<std::string, size_t> line_of_user;
  for (size_t line_no = 1; !text.empty(); ++line_no) {
    size_t nl = text.find('\n');
    std::string_view line = Trim(text.substr(0, nl));
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (line.empty() || line.front() == '#') continue;
    size_t colon = line.find(':');
    if (colon == 0 || colon == std::string_view::npos) {
      return HtpasswdError(line_no, "not user:hash");
    }
    if (!IsBcrypt(line.substr(colon + 1))) {
      return HtpasswdError(line_no, "not a bcrypt hash of cost 4 to 17 (htpasswd -B); MD5, "
                                    "SHA-1, crypt and plain-text passwords are refused");
    }
    std::string user(line.substr(0, colon));
    auto [it, inserted] = line_of_user.emplace(user, line_no);
    if (!inserted) {
      return HtpasswdError(line_no, "the user is also on line " + std::to_string(it->second));
    }
    entries.emplace_back(std::move(user), std::string(line.substr(colon + 1)));
  }
  return entries;
}

}  // namespace arca::auth
