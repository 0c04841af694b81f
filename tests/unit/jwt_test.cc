#include "auth/jwt.h"

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <functional>
#include <memory>
#include <string>

namespace arca::auth {
namespace {

using json = nlohmann::json;
using Keys = std::vector<std::shared_ptr<const PublicKey>>;

// The test's own encodings and keys come from OpenSSL directly, never from the code under
// test, so that a mistake there cannot cancel out in both directions.
std::string RefBase64Url(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (char& c : out) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return out;
}

std::string RefStandardBase64(std::string_view bytes) {
  std::string out = RefBase64Url(bytes);
  for (char& c : out) {
    if (c == '-') c = '+';
    if (c == '_') c = '/';
  }
  return out;
}

std::string RefSha256(std::string_view data) {
  unsigned char md[32];
  unsigned int len = 0;
  EXPECT_EQ(EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr), 1);
  return std::string(reinterpret_cast<char*>(md), len);
}

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};

std::string BnParam(EVP_PKEY* pkey, const char* name, int pad) {
  BIGNUM* bn = nullptr;
  EXPECT_EQ(EVP_PKEY_get_bn_param(pkey, name, &bn), 1);
  int len = pad > 0 ? pad : BN_num_bytes(bn);
  std::string out(static_cast<size_t>(len), '\0');
  EXPECT_EQ(BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), len), len);
  BN_free(bn);
  return out;
}

// A key made by OpenSSL in the test that signs whatever header it is given, as another token
// issuer (or an attacker holding a key) would.
class TestKey {
 public:
  static TestKey Ec() { return TestKey(EVP_EC_gen("P-256"), "ES256"); }
  static TestKey Rsa(int bits) { return TestKey(EVP_RSA_gen(bits), "RS256"); }

  json Jwk(const std::string& kid) const {
    json jwk;
    if (alg_ == "ES256") {
      jwk = {{"kty", "EC"},
             {"crv", "P-256"},
             {"x", RefBase64Url(BnParam(pkey_.get(), OSSL_PKEY_PARAM_EC_PUB_X, 32))},
             {"y", RefBase64Url(BnParam(pkey_.get(), OSSL_PKEY_PARAM_EC_PUB_Y, 32))}};
    } else {
      jwk = {{"kty", "RSA"},
             {"n", RefBase64Url(BnParam(pkey_.get(), OSSL_PKEY_PARAM_RSA_N, 0))},
             {"e", RefBase64Url(BnParam(pkey_.get(), OSSL_PKEY_PARAM_RSA_E, 0))}};
    }
    if (!kid.empty()) jwk["kid"] = kid;
    return jwk;
  }

  std::shared_ptr<const PublicKey> Public(const std::string& kid) const {
    auto key = PublicKey::FromJwk(Jwk(kid));
    EXPECT_TRUE(key.ok()) << key.status().detail();
    return key.ok() ? *key : nullptr;
  }

  // The JWS signature: for ES256 the DER signature OpenSSL makes, converted to r||s.
  std::string SignBytes(std::string_view input) const {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    size_t len = 0;
    EXPECT_EQ(EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, pkey_.get()), 1);
    EXPECT_EQ(EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(
                                                      input.data()), input.size()), 1);
    std::string sig(len, '\0');
    EXPECT_EQ(EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                             reinterpret_cast<const unsigned char*>(input.data()), input.size()),
              1);
    EVP_MD_CTX_free(ctx);
    sig.resize(len);
    return alg_ == "ES256" ? DerToRaw(sig) : sig;
  }

  std::string Sign(const json& header, std::string_view payload) const {
    std::string input = RefBase64Url(header.dump()) + "." + RefBase64Url(payload);
    return input + "." + RefBase64Url(SignBytes(input));
  }

  std::string PublicPem() const {
    std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
    EXPECT_EQ(PEM_write_bio_PUBKEY(bio.get(), pkey_.get()), 1);
    char* data = nullptr;
    long len = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<size_t>(len));
  }

  std::string PrivatePem() const {
    std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
    EXPECT_EQ(PEM_write_bio_PrivateKey(bio.get(), pkey_.get(), nullptr, nullptr, 0, nullptr,
                                       nullptr),
              1);
    char* data = nullptr;
    long len = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<size_t>(len));
  }

 private:
  TestKey(EVP_PKEY* pkey, std::string alg) : pkey_(pkey), alg_(std::move(alg)) {
    EXPECT_NE(pkey, nullptr);
  }

  static std::string DerToRaw(const std::string& der) {
    const auto* p = reinterpret_cast<const unsigned char*>(der.data());
    ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()));
    EXPECT_NE(sig, nullptr);
    std::string raw(64, '\0');
    auto* out = reinterpret_cast<unsigned char*>(raw.data());
    EXPECT_EQ(BN_bn2binpad(ECDSA_SIG_get0_r(sig), out, 32), 32);
    EXPECT_EQ(BN_bn2binpad(ECDSA_SIG_get0_s(sig), out + 32, 32), 32);
    ECDSA_SIG_free(sig);
    return raw;
  }

  std::unique_ptr<EVP_PKEY, PkeyFree> pkey_;
  std::string alg_;
};

// RSA key generation is slow under the sanitizers; one key serves every test.
const TestKey& Rsa2048() {
  static const TestKey key = TestKey::Rsa(2048);
  return key;
}

std::vector<std::string> Split(const std::string& token) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t dot; (dot = token.find('.', start)) != std::string::npos; start = dot + 1) {
    parts.push_back(token.substr(start, dot - start));
  }
  parts.push_back(token.substr(start));
  return parts;
}

std::unique_ptr<SigningKey> NewSigningKey() {
  auto key = SigningKey::Generate();
  EXPECT_TRUE(key.ok()) << key.status().detail();
  return std::move(*key);
}

const json kClaims = {{"iss", "arca"}, {"sub", "alice"}, {"exp", 2000000000}};

// ---- base64url

TEST(Base64UrlTest, EncodesTheRfc4648Vectors) {
  const std::pair<std::string, std::string> vectors[] = {
      {"", ""},         {"f", "Zg"},         {"fo", "Zm8"},       {"foo", "Zm9v"},
      {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"}, {"\xfb\xff", "-_8"}};
  for (const auto& [bytes, text] : vectors) {
    EXPECT_EQ(Base64UrlEncode(bytes), text);
    EXPECT_EQ(Base64UrlDecode(text), bytes);
  }
}

TEST(Base64UrlTest, RoundTripsEveryByteAtEveryLengthModuloThree) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  for (size_t len = 0; len <= all.size(); len += 1 + len / 8) {
    std::string bytes = all.substr(all.size() - len);
    std::string text = Base64UrlEncode(bytes);
    EXPECT_EQ(text, RefBase64Url(bytes));
    EXPECT_EQ(Base64UrlDecode(text), bytes) << len;
  }
}

TEST(Base64UrlTest, RefusesPaddingTheStandardAlphabetWhitespaceAndStrayBits) {
  for (std::string bad : {"Zg==", "Zm8=", "Zm9v=", "+/8", "Zm+v", "Zm/v", "Zm9 v", "Zm9v\n",
                          " Zm9v", "Zm9\tv", "Z", "Zm9vY", "Zh", "Zm9", "Zm!v", "Zm.v"}) {
    EXPECT_FALSE(Base64UrlDecode(bad).has_value()) << bad;
  }
  EXPECT_FALSE(Base64UrlDecode(std::string("Zm\0v", 4)).has_value());
}

// ---- Arca's own tokens

TEST(JwtTest, SignedTokenVerifiesAndCarriesTheClaims) {
  auto key = NewSigningKey();
  std::string token = key->Sign(kClaims);
  auto claims = VerifyJws(token, {key->Public()});
  ASSERT_TRUE(claims.ok()) << claims.status().detail();
  EXPECT_EQ(*claims, kClaims);
  auto header = json::parse(*Base64UrlDecode(Split(token)[0]));
  EXPECT_EQ(header, json({{"alg", "ES256"}, {"typ", "JWT"}, {"kid", key->kid()}}));
  EXPECT_EQ(key->Public()->kid(), key->kid());
  EXPECT_EQ(key->Public()->alg(), "ES256");
}

TEST(JwtTest, KidIsTheRfc7638ThumbprintOfThePublicKey) {
  TestKey ec = TestKey::Ec();
  auto key = SigningKey::FromPem(ec.PrivatePem());
  ASSERT_TRUE(key.ok()) << key.status().detail();
  json jwk = ec.Jwk("");
  std::string canonical = R"({"crv":"P-256","kty":"EC","x":")" + jwk["x"].get<std::string>() +
                          R"(","y":")" + jwk["y"].get<std::string>() + R"("})";
  EXPECT_EQ((*key)->kid(), RefBase64Url(RefSha256(canonical)));
  json pub = (*key)->Public()->ToJwk();
  EXPECT_EQ(pub["x"], jwk["x"]);
  EXPECT_EQ(pub["y"], jwk["y"]);
  EXPECT_EQ(pub["kid"], (*key)->kid());
}

TEST(JwtTest, SigningKeyRoundTripsThroughPkcs8Pem) {
  auto key = NewSigningKey();
  std::string pem = key->ToPem();
  EXPECT_EQ(pem.rfind("-----BEGIN PRIVATE KEY-----\n", 0), 0u);
  auto again = SigningKey::FromPem(pem);
  ASSERT_TRUE(again.ok()) << again.status().detail();
  EXPECT_EQ((*again)->kid(), key->kid());
  EXPECT_TRUE(VerifyJws((*again)->Sign(kClaims), {key->Public()}).ok());
  EXPECT_NE(NewSigningKey()->kid(), key->kid());
}

TEST(JwtTest, FromPemRefusesWhatIsNotAP256PrivateKey) {
  EXPECT_FALSE(SigningKey::FromPem("").ok());
  EXPECT_FALSE(SigningKey::FromPem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
                   .ok());
  EXPECT_FALSE(SigningKey::FromPem(Rsa2048().PrivatePem()).ok());
  EXPECT_FALSE(SigningKey::FromPem(TestKey::Ec().PublicPem()).ok());
  EVP_PKEY* p384 = EVP_EC_gen("P-384");
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  ASSERT_EQ(PEM_write_bio_PrivateKey(bio.get(), p384, nullptr, nullptr, 0, nullptr, nullptr), 1);
  EVP_PKEY_free(p384);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  EXPECT_FALSE(SigningKey::FromPem(std::string(data, static_cast<size_t>(len))).ok());
}

// ---- refusals

TEST(JwtTest, RefusesATamperedPayload) {
  auto key = NewSigningKey();
  auto parts = Split(key->Sign(kClaims));
  json forged = kClaims;
  forged["sub"] = "admin";
  std::string token = parts[0] + "." + RefBase64Url(forged.dump()) + "." + parts[2];
  auto result = VerifyJws(token, {key->Public()});
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), ErrorCode::kUnauthorized);
}

TEST(JwtTest, RefusesATamperedSignature) {
  auto key = NewSigningKey();
  auto parts = Split(key->Sign(kClaims));
  std::string sig = *Base64UrlDecode(parts[2]);
  for (size_t i : {size_t{0}, size_t{40}, sig.size() - 1}) {
    std::string bad = sig;
    bad[i] = static_cast<char>(bad[i] ^ 1);
    EXPECT_FALSE(VerifyJws(parts[0] + "." + parts[1] + "." + RefBase64Url(bad), {key->Public()})
                     .ok());
  }
  EXPECT_FALSE(VerifyJws(parts[0] + "." + parts[1] + "." + RefBase64Url(sig.substr(1)),
                         {key->Public()})
                   .ok());
}

TEST(JwtTest, RefusesAlgNone) {
  auto key = NewSigningKey();
  std::string payload = RefBase64Url(kClaims.dump());
  for (const json& header : {json{{"alg", "none"}, {"kid", key->kid()}}, json{{"alg", "none"}},
                             json{{"alg", "None"}}, json{{"kid", key->kid()}}}) {
    std::string token = RefBase64Url(header.dump()) + "." + payload + ".";
    EXPECT_FALSE(VerifyJws(token, {key->Public()}).ok()) << header.dump();
  }
}

TEST(JwtTest, RefusesHs256KeyedWithThePublicKey) {
  TestKey ec = TestKey::Ec();
  auto pub = ec.Public("ext");
  for (const std::string& secret : {ec.PublicPem(), ec.Jwk("ext").dump(), pub->ToJwk().dump()}) {
    json header = {{"alg", "HS256"}, {"kid", "ext"}, {"typ", "JWT"}};
    std::string input = RefBase64Url(header.dump()) + "." + RefBase64Url(kClaims.dump());
    unsigned char mac[32];
    unsigned int len = 0;
    ASSERT_NE(HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
                   reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len),
              nullptr);
    std::string token = input + "." + RefBase64Url(std::string(reinterpret_cast<char*>(mac), len));
    EXPECT_FALSE(VerifyJws(token, {pub}).ok());
  }
}

TEST(JwtTest, RefusesAHeaderAlgThatIsNotTheKeys) {
  TestKey ec = TestKey::Ec();
  auto ec_pub = ec.Public("ec");
  auto rsa_pub = Rsa2048().Public("rsa");
  Keys keys = {ec_pub, rsa_pub};
  std::string payload = kClaims.dump();
  // The controls: each key verifies its own signatures under its own alg.
  EXPECT_TRUE(VerifyJws(ec.Sign({{"alg", "ES256"}, {"kid", "ec"}}, payload), keys).ok());
  EXPECT_TRUE(VerifyJws(Rsa2048().Sign({{"alg", "RS256"}, {"kid", "rsa"}}, payload), keys).ok());
  EXPECT_FALSE(VerifyJws(Rsa2048().Sign({{"alg", "ES256"}, {"kid", "rsa"}}, payload), keys).ok());
  EXPECT_FALSE(VerifyJws(ec.Sign({{"alg", "RS256"}, {"kid", "ec"}}, payload), keys).ok());
  EXPECT_FALSE(VerifyJws(ec.Sign({{"alg", "ES384"}, {"kid", "ec"}}, payload), keys).ok());
  EXPECT_FALSE(VerifyJws(Rsa2048().Sign({{"alg", "PS256"}, {"kid", "rsa"}}, payload), keys).ok());
}

TEST(JwtTest, TheHeaderKidChoosesTheKey) {
  TestKey a = TestKey::Ec();
  TestKey b = TestKey::Ec();
  auto pa = a.Public("a");
  auto pb = b.Public("b");
  std::string payload = kClaims.dump();
  EXPECT_TRUE(VerifyJws(a.Sign({{"alg", "ES256"}, {"kid", "a"}}, payload), {pb, pa}).ok());
  EXPECT_FALSE(VerifyJws(a.Sign({{"alg", "ES256"}, {"kid", "b"}}, payload), {pb, pa}).ok());
  EXPECT_FALSE(VerifyJws(a.Sign({{"alg", "ES256"}, {"kid", "c"}}, payload), {pb, pa}).ok());
  EXPECT_FALSE(VerifyJws(a.Sign({{"alg", "ES256"}, {"kid", "c"}}, payload), {pa}).ok());
  EXPECT_FALSE(VerifyJws(a.Sign({{"alg", "ES256"}, {"kid", 1}}, payload), {pb, pa}).ok());
  EXPECT_FALSE(VerifyJws(a.Sign({{"alg", "ES256"}, {"kid", "a"}}, payload), {}).ok());
  // Without a kid only a single key may be used.
  EXPECT_TRUE(VerifyJws(a.Sign({{"alg", "ES256"}}, payload), {pa}).ok());
  EXPECT_FALSE(VerifyJws(a.Sign({{"alg", "ES256"}}, payload), {pa, pb}).ok());
}

TEST(JwtTest, RefusesACritHeader) {
  TestKey ec = TestKey::Ec();
  auto pub = ec.Public("ec");
  std::string payload = json{{"iss", "arca"}, {"exp", 2000000000}, {"x-must", 1}}.dump();
  EXPECT_TRUE(VerifyJws(ec.Sign({{"alg", "ES256"}, {"kid", "ec"}}, payload), {pub}).ok());
  EXPECT_FALSE(
      VerifyJws(ec.Sign({{"alg", "ES256"}, {"kid", "ec"}, {"crit", {"x-must"}}}, payload), {pub})
          .ok());
  EXPECT_FALSE(
      VerifyJws(ec.Sign({{"alg", "ES256"}, {"kid", "ec"}, {"crit", json::array()}}, payload), {pub})
          .ok());
}

TEST(JwtTest, RefusesOtherThanThreeParts) {
  auto key = NewSigningKey();
  std::string token = key->Sign(kClaims);
  auto parts = Split(token);
  ASSERT_TRUE(VerifyJws(token, {key->Public()}).ok());
  EXPECT_FALSE(VerifyJws(parts[0] + "." + parts[1], {key->Public()}).ok());
  EXPECT_FALSE(VerifyJws(token + ".e30", {key->Public()}).ok());
  EXPECT_FALSE(VerifyJws(token + ".", {key->Public()}).ok());
  EXPECT_FALSE(VerifyJws(parts[0] + "." + parts[1] + ".." + parts[2], {key->Public()}).ok());
  EXPECT_FALSE(VerifyJws("", {key->Public()}).ok());
  EXPECT_FALSE(VerifyJws("..", {key->Public()}).ok());
}

TEST(JwtTest, RefusesTokensOverTheSizeLimitBeforeLookingAtThem) {
  auto key = NewSigningKey();
  json claims = kClaims;
  claims["pad"] = std::string(5900, 'a');
  std::string fits = key->Sign(claims);
  ASSERT_LE(fits.size(), kMaxTokenSize);
  EXPECT_TRUE(VerifyJws(fits, {key->Public()}).ok());
  claims["pad"] = std::string(6200, 'a');
  std::string big = key->Sign(claims);
  ASSERT_GT(big.size(), kMaxTokenSize);
  auto result = VerifyJws(big, {key->Public()});
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().detail().find("8192"), std::string::npos);
}

TEST(JwtTest, RefusesAPayloadThatIsNotAJsonObject) {
  TestKey ec = TestKey::Ec();
  auto pub = ec.Public("ec");
  json header = {{"alg", "ES256"}, {"kid", "ec"}};
  EXPECT_TRUE(VerifyJws(ec.Sign(header, "{}"), {pub}).ok());
  for (const char* payload : {"[1,2]", "[]", "\"claims\"", "42", "null", "{", ""}) {
    EXPECT_FALSE(VerifyJws(ec.Sign(header, payload), {pub}).ok()) << payload;
  }
}

TEST(JwtTest, RefusesAHeaderThatIsNotAJsonObject) {
  TestKey ec = TestKey::Ec();
  auto pub = ec.Public("");
  std::string payload = RefBase64Url(kClaims.dump());
  for (const char* header : {"[\"ES256\"]", "\"ES256\"", "{\"alg\":\"ES256\"", ""}) {
    std::string input = RefBase64Url(header) + "." + payload;
    EXPECT_FALSE(VerifyJws(input + "." + RefBase64Url(ec.SignBytes(input)), {pub}).ok());
  }
}

TEST(JwtTest, RefusesCharactersOutsideTheBase64UrlAlphabet) {
  TestKey ec = TestKey::Ec();
  auto pub = ec.Public("ec");
  json header = {{"alg", "ES256"}, {"kid", "ec"}};
  std::string token = ec.Sign(header, kClaims.dump());
  ASSERT_TRUE(VerifyJws(token, {pub}).ok());
  auto parts = Split(token);
  std::string input = parts[0] + "." + parts[1];
  EXPECT_FALSE(VerifyJws(token + "=", {pub}).ok());
  EXPECT_FALSE(VerifyJws(input + "." + parts[2].substr(0, 40) + "\n" + parts[2].substr(40), {pub})
                   .ok());
  EXPECT_FALSE(VerifyJws(parts[0] + "." + parts[1] + " ." + parts[2], {pub}).ok());
  // The same signature bytes in the standard alphabet: signatures are random, so sign until
  // one has a '+' or '/' there.
  for (int i = 0; i < 100; ++i) {
    std::string standard = RefStandardBase64(ec.SignBytes(input));
    if (standard.find_first_of("+/") == std::string::npos) continue;
    EXPECT_FALSE(VerifyJws(input + "." + standard, {pub}).ok());
    return;
  }
  FAIL() << "no signature had a '+' or '/' in 100 tries";
}

// ---- keys from other issuers

TEST(JwtTest, VerifiesAnRs256TokenFromAnRsaJwk) {
  auto pub = PublicKey::FromJwk(Rsa2048().Jwk("issuer-1"));
  ASSERT_TRUE(pub.ok()) << pub.status().detail();
  EXPECT_EQ((*pub)->alg(), "RS256");
  EXPECT_EQ((*pub)->kid(), "issuer-1");
  std::string token = Rsa2048().Sign({{"alg", "RS256"}, {"kid", "issuer-1"}}, kClaims.dump());
  auto claims = VerifyJws(token, {*pub});
  ASSERT_TRUE(claims.ok()) << claims.status().detail();
  EXPECT_EQ(*claims, kClaims);
  auto other = TestKey::Ec().Public("issuer-1");  // same kid, other key
  EXPECT_FALSE(VerifyJws(token, {other}).ok());
}

TEST(JwtTest, VerifiesAnEs256TokenFromAnExternalEcJwk) {
  TestKey ec = TestKey::Ec();
  auto pub = PublicKey::FromJwk(ec.Jwk("issuer-2"));
  ASSERT_TRUE(pub.ok()) << pub.status().detail();
  EXPECT_EQ((*pub)->alg(), "ES256");
  std::string input = "header.payload";
  EXPECT_TRUE((*pub)->Verify(input, ec.SignBytes(input)));
  EXPECT_FALSE((*pub)->Verify(input + "x", ec.SignBytes(input)));
  std::string token = ec.Sign({{"alg", "ES256"}, {"kid", "issuer-2"}}, kClaims.dump());
  auto claims = VerifyJws(token, {*pub});
  ASSERT_TRUE(claims.ok()) << claims.status().detail();
  EXPECT_EQ(*claims, kClaims);
}

TEST(JwkTest, RefusesRsaKeysUnder2048Bits) {
  auto small = PublicKey::FromJwk(TestKey::Rsa(1024).Jwk("old"));
  ASSERT_FALSE(small.ok());
  EXPECT_NE(small.status().detail().find("1024"), std::string::npos);
}

TEST(JwkTest, RefusesMembersThatDisagreeWithTheKey) {
  TestKey ec = TestKey::Ec();
  json good = ec.Jwk("k");
  ASSERT_TRUE(PublicKey::FromJwk(good).ok());
  auto refused = [&](const std::function<void(json&)>& change) {
    json jwk = good;
    change(jwk);
    return !PublicKey::FromJwk(jwk).ok();
  };
  EXPECT_FALSE(refused([](json& j) { j["alg"] = "ES256"; j["use"] = "sig"; }));
  EXPECT_TRUE(refused([](json& j) { j["alg"] = "RS256"; }));
  EXPECT_TRUE(refused([](json& j) { j["alg"] = "HS256"; }));
  EXPECT_TRUE(refused([](json& j) { j["use"] = "enc"; }));
  EXPECT_TRUE(refused([](json& j) { j["kid"] = 7; }));
  EXPECT_TRUE(refused([](json& j) { j["kty"] = "oct"; }));
  EXPECT_TRUE(refused([](json& j) { j.erase("kty"); }));
  EXPECT_TRUE(refused([](json& j) { j["crv"] = "P-384"; }));
  EXPECT_TRUE(refused([](json& j) { j.erase("y"); }));
  EXPECT_TRUE(refused([](json& j) { j["x"] = RefBase64Url(std::string(31, '\1')); }));
  EXPECT_TRUE(refused([](json& j) { j["x"] = j["x"].get<std::string>() + "="; }));
  // A point off the curve: x kept, y changed.
  EXPECT_TRUE(refused([](json& j) {
    std::string y = *Base64UrlDecode(j["y"].get<std::string>());
    y[31] = static_cast<char>(y[31] ^ 1);
    j["y"] = RefBase64Url(y);
  }));
  EXPECT_FALSE(PublicKey::FromJwk(json::array()).ok());
  json rsa = Rsa2048().Jwk("r");
  rsa["alg"] = "ES256";
  EXPECT_FALSE(PublicKey::FromJwk(rsa).ok());
}

void ExpectToJwkRoundTrips(const TestKey& key) {
  auto pub = key.Public("kid-1");
  json jwk = pub->ToJwk();
  EXPECT_EQ(jwk["kid"], "kid-1");
  EXPECT_EQ(jwk["use"], "sig");
  EXPECT_EQ(jwk["alg"], pub->alg());
  json expected = key.Jwk("kid-1");
  for (const auto& [name, value] : expected.items()) EXPECT_EQ(jwk[name], value) << name;
  auto again = PublicKey::FromJwk(jwk);
  ASSERT_TRUE(again.ok()) << again.status().detail();
  EXPECT_TRUE((*again)->Verify("input", key.SignBytes("input")));
}

TEST(JwkTest, ToJwkGivesTheSameKey) {
  ExpectToJwkRoundTrips(TestKey::Ec());
  ExpectToJwkRoundTrips(Rsa2048());
  EXPECT_FALSE(TestKey::Ec().Public("")->ToJwk().contains("kid"));
}

TEST(JwksTest, ParsesASetAndNamesTheIndexOfABadKey) {
  json ec = TestKey::Ec().Jwk("ec-1");
  json rsa = Rsa2048().Jwk("rsa-1");
  auto keys = ParseJwks(json{{"keys", {ec, rsa}}}.dump());
  ASSERT_TRUE(keys.ok()) << keys.status().detail();
  ASSERT_EQ(keys->size(), 2u);
  EXPECT_EQ((*keys)[0]->kid(), "ec-1");
  EXPECT_EQ((*keys)[1]->kid(), "rsa-1");

  auto bad = ParseJwks(json{{"keys", {ec, rsa, {{"kty", "oct"}, {"k", "c2VjcmV0"}}}}}.dump());
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().detail().rfind("key 2: ", 0), 0u) << bad.status().detail();
  auto small = ParseJwks(json{{"keys", {TestKey::Rsa(1024).Jwk("x"), ec}}}.dump());
  ASSERT_FALSE(small.ok());
  EXPECT_EQ(small.status().detail().rfind("key 0: ", 0), 0u) << small.status().detail();

  EXPECT_FALSE(ParseJwks("").ok());
  EXPECT_FALSE(ParseJwks("[]").ok());
  EXPECT_FALSE(ParseJwks(R"({"keys": {}})").ok());
  EXPECT_FALSE(ParseJwks(json(ec).dump()).ok());
}

// ---- registered claims

constexpr int64_t kNow = 1'700'000'000;

json GoodClaims() {
  return {{"iss", "arca"}, {"aud", "registry"}, {"exp", kNow + 300}, {"nbf", kNow - 10},
          {"iat", kNow - 10}};
}

bool Valid(const json& claims, int64_t leeway = 30) {
  return ValidateClaims(claims, "arca", "registry", kNow, leeway).ok();
}

json With(const char* name, const json& value) {
  json c = GoodClaims();
  c[name] = value;
  return c;
}

json Without(const char* name) {
  json c = GoodClaims();
  c.erase(name);
  return c;
}

TEST(ClaimsTest, AcceptsGoodClaims) {
  EXPECT_TRUE(Valid(GoodClaims()));
  EXPECT_TRUE(Valid(Without("nbf")));
  EXPECT_TRUE(Valid(Without("iat")));
}

TEST(ClaimsTest, RefusesAnotherIssuer) {
  EXPECT_FALSE(Valid(With("iss", "other")));
  EXPECT_FALSE(Valid(With("iss", "arc")));
  EXPECT_FALSE(Valid(With("iss", json::array({"arca"}))));
  EXPECT_FALSE(Valid(Without("iss")));
  Status refused = ValidateClaims(With("iss", "other"), "arca", "registry", kNow);
  EXPECT_EQ(refused.code(), ErrorCode::kUnauthorized);
}

TEST(ClaimsTest, RequiresOurAudienceAsAStringOrInAnArrayOfStrings) {
  EXPECT_FALSE(Valid(With("aud", "other")));
  EXPECT_FALSE(Valid(Without("aud")));
  EXPECT_TRUE(Valid(With("aud", json::array({"other", "registry"}))));
  EXPECT_FALSE(Valid(With("aud", json::array({"other", "registry2"}))));
  EXPECT_FALSE(Valid(With("aud", json::array())));
  EXPECT_FALSE(Valid(With("aud", json::array({"registry", 5}))));
  EXPECT_FALSE(Valid(With("aud", json::object({{"registry", 1}}))));
}

TEST(ClaimsTest, RequiresAnUnexpiredExpWithinTheLeeway) {
  EXPECT_FALSE(Valid(Without("exp")));
  EXPECT_FALSE(Valid(With("exp", kNow - 3600)));
  // now < exp + leeway: at exactly exp + leeway the token has expired.
  EXPECT_TRUE(Valid(With("exp", kNow - 29)));
  EXPECT_FALSE(Valid(With("exp", kNow - 30)));
  EXPECT_TRUE(Valid(With("exp", kNow + 1), 0));
  EXPECT_FALSE(Valid(With("exp", kNow), 0));
  EXPECT_TRUE(Valid(With("exp", kNow + 0.5), 0));  // NumericDate may be fractional
}

TEST(ClaimsTest, RefusesNbfAndIatInTheFutureBeyondTheLeeway) {
  EXPECT_TRUE(Valid(With("nbf", kNow + 30)));
  EXPECT_FALSE(Valid(With("nbf", kNow + 31)));
  EXPECT_FALSE(Valid(With("nbf", kNow + 1), 0));
  EXPECT_TRUE(Valid(With("iat", kNow + 30)));
  EXPECT_FALSE(Valid(With("iat", kNow + 31)));
}

TEST(ClaimsTest, RefusesDatesThatAreNotNumbers) {
  EXPECT_FALSE(Valid(With("exp", std::to_string(kNow + 300))));
  EXPECT_FALSE(Valid(With("exp", true)));
  EXPECT_FALSE(Valid(With("exp", nullptr)));
  EXPECT_FALSE(Valid(With("nbf", std::to_string(kNow - 10))));
  EXPECT_FALSE(Valid(With("iat", json::array({kNow}))));
  EXPECT_FALSE(ValidateClaims(json::array(), "arca", "registry", kNow).ok());
}

}  // namespace
}  // namespace arca::auth
