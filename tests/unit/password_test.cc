#include "auth/password.h"

#include <argon2.h>
#include <crypt.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <memory>
#include <set>
#include <string>

namespace arca::auth {
namespace {

// A hash made by libxcrypt directly, as `htpasswd -B` would make it.
std::string CryptHash(const std::string& password, const char* prefix, unsigned long cost) {
  char setting[CRYPT_GENSALT_OUTPUT_SIZE];
  EXPECT_NE(crypt_gensalt_rn(prefix, cost, nullptr, 0, setting, sizeof setting), nullptr);
  auto data = std::make_unique<crypt_data>();
  const char* hash = crypt_r(password.c_str(), setting, data.get());
  EXPECT_NE(hash, nullptr);
  std::string out = hash ? hash : "";
  EXPECT_EQ(out.rfind(prefix, 0), 0u) << out;
  return out;
}

// An argon2id hash made by libargon2 directly, bypassing HashPassword's length limit.
std::string RawArgon2id(const std::string& password) {
  const unsigned char salt[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  char encoded[256];
  EXPECT_EQ(argon2id_hash_encoded(1, 1024, 1, password.data(), password.size(), salt,
                                  sizeof salt, 32, encoded, sizeof encoded),
            ARGON2_OK);
  return encoded;
}

TEST(PasswordTest, HashesWithArgon2idAndVerifies) {
  auto hash = HashPassword("correct horse");
  ASSERT_TRUE(hash.ok()) << hash.status().detail();
  EXPECT_EQ(hash->rfind("$argon2id$v=19$m=19456,t=2,p=1$", 0), 0u) << *hash;
  EXPECT_TRUE(VerifyPassword("correct horse", *hash));
  EXPECT_FALSE(VerifyPassword("correct horsE", *hash));
  EXPECT_FALSE(VerifyPassword("correct horse ", *hash));
  EXPECT_FALSE(VerifyPassword("", *hash));
  EXPECT_EQ(argon2id_verify(hash->c_str(), "correct horse", 13), ARGON2_OK);
}

TEST(PasswordTest, EachHashHasItsOwnSalt) {
  auto a = HashPassword("same");
  auto b = HashPassword("same");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
  EXPECT_TRUE(VerifyPassword("same", *a));
  EXPECT_TRUE(VerifyPassword("same", *b));
}

TEST(PasswordTest, RefusesPasswordsOverTheLimit) {
  std::string longest(kMaxPasswordSize, 'p');
  auto hash = HashPassword(longest);
  ASSERT_TRUE(hash.ok());
  EXPECT_TRUE(VerifyPassword(longest, *hash));
  std::string too_long(kMaxPasswordSize + 1, 'p');
  EXPECT_FALSE(HashPassword(too_long).ok());
  std::string raw = RawArgon2id(too_long);
  EXPECT_EQ(argon2id_verify(raw.c_str(), too_long.data(), too_long.size()), ARGON2_OK);
  EXPECT_FALSE(VerifyPassword(too_long, raw));
  EXPECT_TRUE(VerifyPassword(longest, RawArgon2id(longest)));
}

TEST(PasswordTest, VerifiesBcryptHashesAsHtpasswdMakesThem) {
  for (const char* prefix : {"$2b$", "$2y$", "$2a$"}) {
    std::string hash = CryptHash("s3cret", prefix, 5);
    EXPECT_TRUE(VerifyPassword("s3cret", hash)) << hash;
    EXPECT_FALSE(VerifyPassword("s3cret!", hash)) << hash;
    EXPECT_FALSE(VerifyPassword("", hash)) << hash;
    // crypt reads C strings; what follows a NUL must not be ignored.
    EXPECT_FALSE(VerifyPassword(std::string("s3cret\0more", 11), hash)) << hash;
  }
}

TEST(PasswordTest, RefusesOtherSchemesAndMalformedHashes) {
  std::string md5 = CryptHash("s3cret", "$1$", 0);
  auto data = std::make_unique<crypt_data>();
  ASSERT_EQ(std::string(crypt_r("s3cret", md5.c_str(), data.get())), md5);  // a real hash
  EXPECT_FALSE(VerifyPassword("s3cret", md5));
  std::string sha512 = CryptHash("s3cret", "$6$", 0);
  EXPECT_FALSE(VerifyPassword("s3cret", sha512));

  // {SHA}: base64 of the password's SHA-1, as `htpasswd -s` writes it.
  unsigned char sha1[20];
  unsigned int len = 0;
  ASSERT_EQ(EVP_Digest("s3cret", 6, sha1, &len, EVP_sha1(), nullptr), 1);
  char b64[32];
  EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64), sha1, 20);
  EXPECT_FALSE(VerifyPassword("s3cret", std::string("{SHA}") + b64));

  EXPECT_FALSE(VerifyPassword("s3cret", "s3cret"));
  EXPECT_FALSE(VerifyPassword("", ""));
  std::string bcrypt = CryptHash("s3cret", "$2b$", 5);
  EXPECT_FALSE(VerifyPassword("s3cret", bcrypt.substr(0, 59)));
  EXPECT_FALSE(VerifyPassword("s3cret", bcrypt + "x"));
  EXPECT_FALSE(VerifyPassword("s3cret", "$2x$" + bcrypt.substr(4)));
  std::string argon = RawArgon2id("s3cret");
  EXPECT_TRUE(VerifyPassword("s3cret", argon));
  EXPECT_FALSE(VerifyPassword("s3cret", argon.substr(0, argon.size() - 1)));
  EXPECT_FALSE(VerifyPassword("s3cret", "$argon2i$" + argon.substr(10)));
}

// The costs are the hash's own: a corrupt one must not make one login take hours or GiBs.
TEST(PasswordTest, RefusesHashesWithExcessiveCosts) {
  EXPECT_FALSE(VerifyPassword("s3cret", "$2b$31$" + CryptHash("s3cret", "$2b$", 4).substr(7)));
  std::string argon = RawArgon2id("s3cret");  // m=1024,t=1,p=1
  ASSERT_NE(argon.find("$m=1024,t=1,p=1$"), std::string::npos);
  std::string huge = argon;
  huge.replace(huge.find("m=1024"), 6, "m=4194304");
  EXPECT_FALSE(VerifyPassword("s3cret", huge));
  std::string slow = argon;
  slow.replace(slow.find("t=1,"), 4, "t=100000,");
  EXPECT_FALSE(VerifyPassword("s3cret", slow));
}

TEST(PasswordTest, RandomSecretsAndTheirDigests) {
  std::set<std::string> seen;
  for (int i = 0; i < 20; ++i) seen.insert(RandomSecret());
  EXPECT_EQ(seen.size(), 20u);
  EXPECT_EQ(RandomSecret().size(), 43u);  // 32 bytes in base64url
  EXPECT_EQ(RandomSecret(3).size(), 4u);
  EXPECT_EQ(SecretDigest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(PasswordTest, ConstantTimeEqualsComparesEveryByte) {
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "ab"));
  EXPECT_FALSE(ConstantTimeEquals(std::string("a\0b", 3), std::string("a\0c", 3)));
}

TEST(HtpasswdTest, AcceptsBcryptLinesAndSkipsCommentsAndBlankLines) {
  std::string alice = CryptHash("a-pass", "$2y$", 5);
  std::string bob = CryptHash("b-pass", "$2b$", 5);
  std::string text = "# users\n\nalice:" + alice + "\r\n   \n  # bob next\nbob:" + bob;
  auto entries = ParseHtpasswd(text);
  ASSERT_TRUE(entries.ok()) << entries.status().detail();
  ASSERT_EQ(entries->size(), 2u);
  EXPECT_EQ((*entries)[0], std::make_pair(std::string("alice"), alice));
  EXPECT_EQ((*entries)[1], std::make_pair(std::string("bob"), bob));
  EXPECT_TRUE(VerifyPassword("b-pass", (*entries)[1].second));
  auto empty = ParseHtpasswd("");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(HtpasswdTest, AnErrorNamesTheLineButNotItsContent) {
  std::string md5 = CryptHash("c-pass", "$1$", 0);
  std::string text = "# users\nalice:" + CryptHash("a-pass", "$2y$", 5) + "\n\ncarol:" + md5 + "\n";
  auto entries = ParseHtpasswd(text);
  ASSERT_FALSE(entries.ok());
  const std::string& detail = entries.status().detail();
  EXPECT_EQ(detail.rfind("line 4: ", 0), 0u) << detail;
  EXPECT_EQ(detail.find(md5), std::string::npos);
  EXPECT_EQ(detail.find(md5.substr(3, 8)), std::string::npos);  // nor its salt
  EXPECT_EQ(detail.find("carol"), std::string::npos);
  EXPECT_EQ(entries.status().message().find(md5), std::string::npos);
}

TEST(HtpasswdTest, RefusesPlainTextMalformedAndDuplicateLines) {
  std::string hash = CryptHash("a-pass", "$2b$", 5);
  auto line_of = [](const std::string& text) {
    auto entries = ParseHtpasswd(text);
    return entries.ok() ? std::string("ok") : entries.status().detail().substr(0, 7);
  };
  EXPECT_EQ(line_of("alice:a-pass\n"), "line 1:");
  EXPECT_EQ(line_of("alice:{SHA}" + std::string(28, 'A') + "\n"), "line 1:");
  EXPECT_EQ(line_of("\nalice\n"), "line 2:");
  EXPECT_EQ(line_of(":" + hash), "line 1:");
  EXPECT_EQ(line_of("alice:" + hash + "\nalice:" + hash), "line 2:");
  EXPECT_EQ(line_of("alice:" + hash + "\nbob:" + hash), "ok");
}

}  // namespace
}  // namespace arca::auth
