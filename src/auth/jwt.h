// JSON Web Tokens as the Docker/OCI token protocol uses them: compact JWS, signed by Arca
// with ES256 (P-256) and verified with ES256 or RS256 keys (Arca's own and external issuers').
// OpenSSL does the cryptography; this file only frames it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/status.h"

namespace arca::auth {

// RFC 4648 §5 without padding. Decode refuses padding, whitespace and characters outside the
// alphabet (nullopt).
std::string Base64UrlEncode(std::string_view bytes);
std::optional<std::string> Base64UrlDecode(std::string_view text);

// A key that verifies signatures: EC P-256 (alg ES256) or RSA of at least 2048 bits (RS256).
class PublicKey {
 public:
  // From one JWK (RFC 7517): kty EC with crv P-256, or kty RSA. A JWK whose "alg" is present
  // and is not the one its kty implies, or whose "use" is present and is not "sig", is refused.
  static Result<std::shared_ptr<const PublicKey>> FromJwk(const nlohmann::json& jwk);
  ~PublicKey();
  PublicKey(const PublicKey&) = delete;
  PublicKey& operator=(const PublicKey&) = delete;

  const std::string& kid() const { return kid_; }  // the JWK's kid, or "" when it has none
  const std::string& alg() const { return alg_; }  // "ES256" or "RS256"
  nlohmann::json ToJwk() const;                     // public members, kid, alg, use "sig"
  // Verifies a JWS signature (for ES256 the 64-byte r||s form, not DER) over signing_input.
  bool Verify(std::string_view signing_input, std::string_view signature) const;

 private:
  friend class SigningKey;
  PublicKey() = default;
  void* pkey_ = nullptr;  // EVP_PKEY*
  std::string kid_;
  std::string alg_;
};

// Arca's own signing key: EC P-256. Its kid is the RFC 7638 JWK thumbprint of its public key.
class SigningKey {
 public:
  static Result<std::unique_ptr<SigningKey>> Generate();
  static Result<std::unique_ptr<SigningKey>> FromPem(std::string_view pkcs8_pem);
  ~SigningKey();
  SigningKey(const SigningKey&) = delete;
  SigningKey& operator=(const SigningKey&) = delete;

  std::string ToPem() const;  // PKCS#8 PEM of the private key
  const std::string& kid() const { return kid_; }
  std::shared_ptr<const PublicKey> Public() const { return public_; }
  // A compact JWS: header {"alg":"ES256","typ":"JWT","kid":<kid>}, payload claims.dump().
  // "" when it cannot sign: claims holding a string that is not UTF-8, or OpenSSL failing.
  std::string Sign(const nlohmann::json& claims) const;

 private:
  SigningKey() = default;
  void* pkey_ = nullptr;  // EVP_PKEY*
  std::string kid_;
  std::shared_ptr<const PublicKey> public_;
};

// Tokens longer than this are refused before any parsing.
constexpr size_t kMaxTokenSize = 8192;

// Parses and verifies a compact JWS. The key is the one whose kid the header names (a header
// without kid may use the only key when there is exactly one). The header's alg must be the
// key's alg: "none", HS256 (say, keyed with a public key) and any other are refused, as are
// a "crit" header, more or fewer than three parts, and a payload that is not a JSON object.
// Returns the payload (the claims); registered claims are checked by ValidateClaims.
Result<nlohmann::json> VerifyJws(std::string_view token,
                                 const std::vector<std::shared_ptr<const PublicKey>>& keys);

// Checks the registered claims: iss equals issuer; aud (a string or an array of strings)
// holds audience; exp is present and now < exp + leeway; nbf, when present, <= now + leeway;
// iat, when present, <= now + leeway. Numeric dates must be numbers.
Status ValidateClaims(const nlohmann::json& claims, std::string_view issuer,
                      std::string_view audience, int64_t now, int64_t leeway = 30);

// A JWK Set document ({"keys": [...]}); any key that FromJwk refuses makes it an error that
// names the key's index.
Result<std::vector<std::shared_ptr<const PublicKey>>> ParseJwks(std::string_view text);

// Arca's keys under a directory (<root>/auth/keys), mode 0700: one PKCS#8 PEM file per key,
// <kid>.pem (0600), and the file "current" holding the kid that signs. A key retired by a
// rotation has <kid>.retired holding the Unix time it was retired; it keeps verifying until
// then + keep_s, and is deleted by the first Open, Rotate or Refresh after that. Files are
// written to a temporary name, fsynced and renamed, so a crash leaves the old ring or the new.
// Thread-safe: Signer and Verifiers may be called while Refresh runs.
class KeyRing {
 public:
  // Loads the ring, making the directory and a first key when there are none.
  static Result<std::unique_ptr<KeyRing>> Open(const std::string& dir, int64_t keep_s);
  // Makes a new key current and retires the old current key at `now`; returns the new kid.
  // Safe while a server has the same directory open: it sees the change on its next Refresh.
  static Result<std::string> Rotate(const std::string& dir, int64_t now, int64_t keep_s);
  // Re-reads the directory when "current" or the set of files changed since the last read
  // (one stat of the directory and of "current" when nothing did), and drops expired keys.
  Status Refresh(int64_t now);
  std::shared_ptr<const SigningKey> Signer() const;
  std::vector<std::shared_ptr<const PublicKey>> Verifiers() const;
  ~KeyRing();

 private:
  KeyRing() = default;
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace arca::auth
