// JWT keys over OpenSSL 3: public keys from JWKs (ES256, RS256), JWK Sets, and Arca's P-256
// signing key with its RFC 7638 kid. The JWS framing and the claims checks are in jws.cc.
#include "auth/jwt.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include <climits>
#include <cmath>
#include <cstring>
#include <utility>

#include "types/json_limits.h"

namespace arca::auth {
namespace {

using json = nlohmann::json;

template <auto Free>
struct Freer {
  template <typename T>
  void operator()(T* p) const { Free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Freer<EVP_PKEY_free>>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, Freer<EVP_PKEY_CTX_free>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, Freer<EVP_MD_CTX_free>>;
using BnPtr = std::unique_ptr<BIGNUM, Freer<BN_free>>;
using BioPtr = std::unique_ptr<BIO, Freer<BIO_free_all>>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, Freer<ECDSA_SIG_free>>;
using ParamBldPtr = std::unique_ptr<OSSL_PARAM_BLD, Freer<OSSL_PARAM_BLD_free>>;
using ParamPtr = std::unique_ptr<OSSL_PARAM, Freer<OSSL_PARAM_free>>;

constexpr int kP256FieldBytes = 32;
// Below 2048 bits RSA is breakable in practice; above 8192 a verification costs tens of
// milliseconds for no real gain, a cost an external issuer's JWKS should not impose.
constexpr int kMinRsaBits = 2048;
constexpr int kMaxRsaBits = 8192;

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// A failed OpenSSL call leaves entries on this thread's error queue; later, unrelated calls
// would find them, so every failure path we take clears it.
template <typename T>
T Fail(T value) {
  ERR_clear_error();
  return value;
}

Status JwkError(std::string detail) {
  return Status(ErrorCode::kInternal, "invalid JWK", std::move(detail));
}

Status KeyError(std::string detail) {
  return Fail(Status(ErrorCode::kInternal, "signing key error", std::move(detail)));
}

std::string Sha256(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr) != 1) {
    return Fail(std::string());
  }
  return std::string(reinterpret_cast<char*>(md), len);
}

// The public key made from parameters (OSSL_PARAM), checked: EVP_PKEY_fromdata alone accepts
// an EC point off the curve or an RSA modulus that is even.
PkeyPtr PublicFromData(const char* type, OSSL_PARAM_BLD* bld) {
  ParamPtr params(OSSL_PARAM_BLD_to_param(bld));
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return Fail(PkeyPtr());
  }
  PkeyPtr pkey(raw);
  PkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1) return Fail(PkeyPtr());
  return pkey;
}

PkeyPtr EcPublicKey(const std::string& x, const std::string& y) {
  std::string point = "\x04" + x + y;  // SEC 1 uncompressed point
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) !=
          1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) != 1) {
    return Fail(PkeyPtr());
  }
  return PublicFromData("EC", bld.get());
}

PkeyPtr RsaPublicKey(const std::string& n, const std::string& e) {
  BnPtr bn_n(BN_bin2bn(Bytes(n), static_cast<int>(n.size()), nullptr));
  BnPtr bn_e(BN_bin2bn(Bytes(e), static_cast<int>(e.size()), nullptr));
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bn_n || !bn_e || !bld ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1) {
    return Fail(PkeyPtr());
  }
  return PublicFromData("RSA", bld.get());
}

// A JWK member that must be base64url; nullopt when absent, not a string or not base64url.
std::optional<std::string> DecodedMember(const json& jwk, const char* name) {
  auto it = jwk.find(name);
  if (it == jwk.end() || !it->is_string()) return std::nullopt;
  return Base64UrlDecode(it->get_ref<const std::string&>());
}

Result<PkeyPtr> ImportEc(const json& jwk) {
  auto crv = jwk.find("crv");
  if (crv == jwk.end() || *crv != "P-256") return JwkError("an EC key's crv must be P-256");
  auto x = DecodedMember(jwk, "x");
  auto y = DecodedMember(jwk, "y");
  if (!x || !y || x->size() != kP256FieldBytes || y->size() != kP256FieldBytes) {
    return JwkError("an EC key's x and y must be 32 bytes in base64url");
  }
  PkeyPtr pkey = EcPublicKey(*x, *y);
  if (!pkey) return JwkError("x and y are not a point of P-256");
  return pkey;
}

Result<PkeyPtr> ImportRsa(const json& jwk) {
  auto n = DecodedMember(jwk, "n");
  auto e = DecodedMember(jwk, "e");
  if (!n || !e || n->empty() || e->empty() || n->size() > kMaxRsaBits / 8 + 1 || e->size() > 8) {
    return JwkError("an RSA key's n and e must be base64url big-endian integers");
  }
  PkeyPtr pkey = RsaPublicKey(*n, *e);
  if (!pkey) return JwkError("n and e are not an RSA public key");
  int bits = EVP_PKEY_get_bits(pkey.get());
  if (bits < kMinRsaBits || bits > kMaxRsaBits) {
    return JwkError("an RSA key must have 2048 to 8192 bits, not " + std::to_string(bits));
  }
  return pkey;
}

// "alg", "use" and "kid" are optional, but when present they must agree with the key.
Status CheckJwkMembers(const json& jwk, const std::string& alg) {
  auto a = jwk.find("alg");
  if (a != jwk.end() && *a != alg) return JwkError("the key's alg must be " + alg);
  auto use = jwk.find("use");
  if (use != jwk.end() && *use != "sig") return JwkError("the key's use must be sig");
  auto kid = jwk.find("kid");
  if (kid != jwk.end() && !kid->is_string()) return JwkError("the key's kid must be a string");
  return Status::Ok();
}

std::string BnParam(const EVP_PKEY* pkey, const char* name, int pad_to) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, name, &raw) != 1) return Fail(std::string());
  BnPtr bn(raw);
  int len = pad_to > 0 ? pad_to : BN_num_bytes(bn.get());
  std::string out(static_cast<size_t>(len), '\0');
  if (BN_bn2binpad(bn.get(), reinterpret_cast<unsigned char*>(out.data()), len) != len) {
    return Fail(std::string());
  }
  return out;
}

// RFC 7638: SHA-256 of the required members, in lexicographic order, without whitespace.
std::string EcThumbprint(const std::string& x_b64, const std::string& y_b64) {
  std::string canonical =
      R"({"crv":"P-256","kty":"EC","x":")" + x_b64 + R"(","y":")" + y_b64 + R"("})";
  return Base64UrlEncode(Sha256(canonical));
}

// JWS carries an ES256 signature as r||s, 32 bytes each; OpenSSL wants DER.
std::optional<std::string> RawToDer(std::string_view raw) {
  if (raw.size() != 2 * kP256FieldBytes) return std::nullopt;
  BnPtr r(BN_bin2bn(Bytes(raw), kP256FieldBytes, nullptr));
  BnPtr s(BN_bin2bn(Bytes(raw) + kP256FieldBytes, kP256FieldBytes, nullptr));
  EcdsaSigPtr sig(ECDSA_SIG_new());
  if (!r || !s || !sig || ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) {
    return Fail(std::nullopt);
  }
  (void)r.release();  // owned by sig now
  (void)s.release();
  int len = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (len <= 0) return Fail(std::nullopt);
  std::string der(static_cast<size_t>(len), '\0');
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  if (i2d_ECDSA_SIG(sig.get(), &out) != len) return Fail(std::nullopt);
  return der;
}

std::optional<std::string> DerToRaw(std::string_view der) {
  const unsigned char* in = Bytes(der);
  EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &in, static_cast<long>(der.size())));
  if (!sig) return Fail(std::nullopt);
  std::string raw(2 * kP256FieldBytes, '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  if (BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), out, kP256FieldBytes) != kP256FieldBytes ||
      BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), out + kP256FieldBytes, kP256FieldBytes) !=
          kP256FieldBytes) {
    return Fail(std::nullopt);
  }
  return raw;
}

std::string DigestSign(EVP_PKEY* pkey, std::string_view input) {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  size_t len = 0;
  if (!ctx || EVP_DigestSignInit_ex(ctx.get(), nullptr, "SHA256", nullptr, nullptr, pkey,
                                    nullptr) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, Bytes(input), input.size()) != 1) {
    return Fail(std::string());
  }
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, Bytes(input),
                     input.size()) != 1) {
    return Fail(std::string());
  }
  sig.resize(len);
  return sig;
}

// Never prompts on a terminal for the passphrase of an encrypted PEM, as OpenSSL's default
// callback would: Arca's key files are not encrypted, and a server has no one to ask.
int NoPassphrase(char*, int, int, void*) { return -1; }

bool IsP256(const EVP_PKEY* pkey) {
  char group[64];
  size_t len = 0;
  return EVP_PKEY_is_a(pkey, "EC") &&
         EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                        &len) == 1 &&
         std::strcmp(group, "prime256v1") == 0;
}

}  // namespace

// ---- PublicKey

PublicKey::~PublicKey() { EVP_PKEY_free(static_cast<EVP_PKEY*>(pkey_)); }

Result<std::shared_ptr<const PublicKey>> PublicKey::FromJwk(const json& jwk) {
  if (!jwk.is_object()) return JwkError("a JWK must be a JSON object");
  auto kty = jwk.find("kty");
  if (kty == jwk.end() || (*kty != "EC" && *kty != "RSA")) {
    return JwkError("the key's kty must be EC or RSA");
  }
  bool ec = *kty == "EC";
  std::string alg = ec ? "ES256" : "RS256";
  ARCA_RETURN_IF_ERROR(CheckJwkMembers(jwk, alg));
  auto pkey = ec ? ImportEc(jwk) : ImportRsa(jwk);
  if (!pkey.ok()) return pkey.status();
  std::shared_ptr<PublicKey> key(new PublicKey());
  key->pkey_ = pkey->release();
  key->alg_ = std::move(alg);
  key->kid_ = jwk.value("kid", "");
  return std::shared_ptr<const PublicKey>(std::move(key));
}

json PublicKey::ToJwk() const {
  const auto* pkey = static_cast<const EVP_PKEY*>(pkey_);
  json jwk;
  if (alg_ == "ES256") {
    jwk = {{"kty", "EC"},
           {"crv", "P-256"},
           {"x", Base64UrlEncode(BnParam(pkey, OSSL_PKEY_PARAM_EC_PUB_X, kP256FieldBytes))},
           {"y", Base64UrlEncode(BnParam(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, kP256FieldBytes))}};
  } else {
    jwk = {{"kty", "RSA"},
           {"n", Base64UrlEncode(BnParam(pkey, OSSL_PKEY_PARAM_RSA_N, 0))},
           {"e", Base64UrlEncode(BnParam(pkey, OSSL_PKEY_PARAM_RSA_E, 0))}};
  }
  if (!kid_.empty()) jwk["kid"] = kid_;
  jwk["alg"] = alg_;
  jwk["use"] = "sig";
  return jwk;
}

bool PublicKey::Verify(std::string_view signing_input, std::string_view signature) const {
  std::string der;
  if (alg_ == "ES256") {
    auto converted = RawToDer(signature);
    if (!converted) return false;
    der = std::move(*converted);
    signature = der;
  }
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx ||
      EVP_DigestVerifyInit_ex(ctx.get(), nullptr, "SHA256", nullptr, nullptr,
                              static_cast<EVP_PKEY*>(pkey_), nullptr) != 1 ||
      EVP_DigestVerify(ctx.get(), Bytes(signature), signature.size(), Bytes(signing_input),
                       signing_input.size()) != 1) {
    return Fail(false);
  }
  return true;
}

// ---- SigningKey

SigningKey::~SigningKey() { EVP_PKEY_free(static_cast<EVP_PKEY*>(pkey_)); }

Result<std::unique_ptr<SigningKey>> SigningKey::Generate() {
  PkeyPtr pkey(EVP_EC_gen("P-256"));
  if (!pkey) return KeyError("cannot generate a P-256 key");
  std::string pem;
  {
    // Going through the PEM form keeps one path, FromPem's, that makes a SigningKey.
    std::unique_ptr<SigningKey> tmp(new SigningKey());
    tmp->pkey_ = pkey.release();
    pem = tmp->ToPem();
  }
  auto key = FromPem(pem);
  OPENSSL_cleanse(pem.data(), pem.size());
  return key;
}

Result<std::unique_ptr<SigningKey>> SigningKey::FromPem(std::string_view pkcs8_pem) {
  if (pkcs8_pem.size() > INT_MAX) return KeyError("not a PEM private key");
  BioPtr bio(BIO_new_mem_buf(pkcs8_pem.data(), static_cast<int>(pkcs8_pem.size())));
  PkeyPtr pkey(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr) : nullptr);
  if (!pkey) return KeyError("not a PEM private key");
  if (!IsP256(pkey.get())) return KeyError("not an EC P-256 private key");
  PkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
  if (!check || EVP_PKEY_check(check.get()) != 1) return KeyError("an inconsistent EC key");
  ERR_clear_error();  // the PEM decoder leaves the failures of the formats it tried first
  std::string x = Base64UrlEncode(BnParam(pkey.get(), OSSL_PKEY_PARAM_EC_PUB_X, kP256FieldBytes));
  std::string y = Base64UrlEncode(BnParam(pkey.get(), OSSL_PKEY_PARAM_EC_PUB_Y, kP256FieldBytes));
  std::string kid = EcThumbprint(x, y);
  auto pub = PublicKey::FromJwk({{"kty", "EC"}, {"crv", "P-256"}, {"x", x}, {"y", y},
                                 {"kid", kid}});
  if (!pub.ok()) return KeyError("cannot derive the public key");
  std::unique_ptr<SigningKey> key(new SigningKey());
  key->pkey_ = pkey.release();
  key->kid_ = std::move(kid);
  key->public_ = std::move(*pub);
  return key;
}

std::string SigningKey::ToPem() const {
  // Secure-memory BIO: the PEM holds the private key, and this BIO wipes it when freed.
  BioPtr bio(BIO_new(BIO_s_secmem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), static_cast<EVP_PKEY*>(pkey_), nullptr,
                                       nullptr, 0, nullptr, nullptr) != 1) {
    return Fail(std::string());
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return len > 0 ? std::string(data, static_cast<size_t>(len)) : std::string();
}

std::string SigningKey::Sign(const json& claims) const {
  std::string payload;
  try {
    payload = claims.dump();
  } catch (const json::exception&) {  // a string that is not UTF-8
    return {};
  }
  json header = {{"alg", "ES256"}, {"typ", "JWT"}, {"kid", kid_}};
  std::string input = Base64UrlEncode(header.dump()) + "." + Base64UrlEncode(payload);
  auto raw = DerToRaw(DigestSign(static_cast<EVP_PKEY*>(pkey_), input));
  if (!raw) return {};
  return input + "." + Base64UrlEncode(*raw);
}

Result<std::vector<std::shared_ptr<const PublicKey>>> ParseJwks(std::string_view text) {
  auto doc = ParseJsonBounded(text);
  if (!doc.ok()) return JwkError("the JWK Set is " + doc.status().detail());
  auto keys = doc->find("keys");  // end() when doc is not an object
  if (keys == doc->end() || !keys->is_array()) {
    return JwkError("a JWK Set is a JSON object with a keys array");
  }
  std::vector<std::shared_ptr<const PublicKey>> out;
  for (size_t i = 0; i < keys->size(); ++i) {
    auto key = PublicKey::FromJwk((*keys)[i]);
    if (!key.ok()) {
      return JwkError("key " + std::to_string(i) + ": " + key.status().detail());
    }
    out.push_back(std::move(*key));
  }
  return out;
}

}  // namespace arca::auth
