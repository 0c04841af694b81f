// Compact JWS as the token protocol uses it: base64url, the choice of key (by kid, with the
// alg the key's own), verification, and the registered claims. The keys are in jwt.cc.
#include <cmath>
#include <string>

#include "auth/jwt.h"
#include "types/json_limits.h"

namespace arca::auth {
namespace {

using json = nlohmann::json;

Status Unauthorized(std::string detail) {
  return Status(ErrorCode::kUnauthorized, "invalid token", std::move(detail));
}

int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

Result<json> DecodeObject(std::string_view part, const char* what) {
  auto bytes = Base64UrlDecode(part);
  if (!bytes) return Unauthorized(std::string("the token's ") + what + " is not base64url");
  auto doc = ParseJsonBounded(*bytes);
  if (!doc.ok() || !doc->is_object()) {
    return Unauthorized(std::string("the token's ") + what + " is not a JSON object");
  }
  return std::move(*doc);
}

// The key the header names, whose alg must be the header's: the alg comes from the token, so
// trusting it alone would let a token choose how its signature is checked.
Result<const PublicKey*> SelectKey(const json& header,
                                   const std::vector<std::shared_ptr<const PublicKey>>& keys) {
  auto alg = header.find("alg");
  if (alg == header.end() || (*alg != "ES256" && *alg != "RS256")) {
    return Unauthorized("the token's alg is not ES256 or RS256");
  }
  if (header.contains("crit")) return Unauthorized("the token has crit header parameters");
  const PublicKey* key = nullptr;
  auto kid = header.find("kid");
  if (kid == header.end()) {
    if (keys.size() == 1) key = keys.front().get();
  } else if (kid->is_string()) {
    for (const auto& k : keys) {
      if (k && k->kid() == kid->get_ref<const std::string&>()) {
        key = k.get();
        break;
      }
    }
  }
  if (key == nullptr) return Unauthorized("the token's kid names no known key");
  if (key->alg() != *alg) return Unauthorized("the token's alg is not its key's");
  return key;
}

// A NumericDate claim: nullopt when absent, an error when present and not a finite number.
Result<std::optional<double>> NumericDate(const json& claims, const char* name) {
  auto it = claims.find(name);
  if (it == claims.end()) return std::optional<double>();
  if (!it->is_number() || !std::isfinite(it->get<double>())) {
    return Unauthorized(std::string("the token's ") + name + " is not a number");
  }
  return std::optional<double>(it->get<double>());
}

bool HoldsAudience(const json& claims, std::string_view audience) {
  auto aud = claims.find("aud");
  if (aud == claims.end()) return false;
  if (aud->is_string()) return *aud == audience;
  if (!aud->is_array()) return false;
  bool found = false;
  for (const auto& a : *aud) {
    if (!a.is_string()) return false;
    found = found || a == audience;
  }
  return found;
}

}  // namespace

std::string Base64UrlEncode(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(acc >> bits) & 63]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(acc << (6 - bits)) & 63]);
  return out;
}

std::optional<std::string> Base64UrlDecode(std::string_view text) {
  if (text.size() % 4 == 1) return std::nullopt;  // no byte count encodes to that length
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v = Base64Value(c);
    if (v < 0) return std::nullopt;
    acc = ((acc << 6) | static_cast<uint32_t>(v)) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  // Unused trailing bits must be zero, so that each byte string has exactly one encoding.
  if ((acc & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

Result<json> VerifyJws(std::string_view token,
                       const std::vector<std::shared_ptr<const PublicKey>>& keys) {
  if (token.size() > kMaxTokenSize) {
    return Unauthorized("the token is longer than " + std::to_string(kMaxTokenSize) + " bytes");
  }
  size_t dot1 = token.find('.');
  size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return Unauthorized("the token is not three base64url parts joined by dots");
  }
  auto header = DecodeObject(token.substr(0, dot1), "header");
  if (!header.ok()) return header.status();
  auto key = SelectKey(*header, keys);
  if (!key.ok()) return key.status();
  auto signature = Base64UrlDecode(token.substr(dot2 + 1));
  if (!signature || !(*key)->Verify(token.substr(0, dot2), *signature)) {
    return Unauthorized("the token's signature does not verify");
  }
  return DecodeObject(token.substr(dot1 + 1, dot2 - dot1 - 1), "payload");
}

Status ValidateClaims(const json& claims, std::string_view issuer, std::string_view audience,
                      int64_t now, int64_t leeway) {
  if (!claims.is_object()) return Unauthorized("the token's claims are not a JSON object");
  auto iss = claims.find("iss");
  if (iss == claims.end() || *iss != issuer) return Unauthorized("the token's issuer is not ours");
  if (!HoldsAudience(claims, audience)) return Unauthorized("the token is not meant for us");
  auto exp = NumericDate(claims, "exp");
  auto nbf = NumericDate(claims, "nbf");
  auto iat = NumericDate(claims, "iat");
  for (const auto* date : {&exp, &nbf, &iat}) {
    if (!date->ok()) return date->status();
  }
  double late = static_cast<double>(now) - static_cast<double>(leeway);
  double early = static_cast<double>(now) + static_cast<double>(leeway);
  if (!exp->has_value()) return Unauthorized("the token has no exp");
  if (!(late < **exp)) return Unauthorized("the token has expired");
  if (nbf->has_value() && !(**nbf <= early)) return Unauthorized("the token is not valid yet");
  if (iat->has_value() && !(**iat <= early)) return Unauthorized("the token is from the future");
  return Status::Ok();
}

}  // namespace arca::auth
