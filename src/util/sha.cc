// The low-level SHA*_CTX API is deprecated in OpenSSL 3 but is the only one whose state is a
// plain struct we can persist between upload chunks; it uses the same SHA-NI code paths.
#define OPENSSL_SUPPRESS_DEPRECATED
#include "util/sha.h"

#include <openssl/sha.h>

#include <cstring>

namespace arca {

struct Hasher::State {
  SHA256_CTX sha256;
  SHA512_CTX sha512;
};

Hasher::Hasher(DigestAlgorithm algorithm)
    : algorithm_(algorithm), state_(std::make_unique<State>()) {
  if (algorithm_ == DigestAlgorithm::kSha256) {
    SHA256_Init(&state_->sha256);
  } else {
    SHA512_Init(&state_->sha512);
  }
}

Hasher::~Hasher() = default;

Hasher::Hasher(const Hasher& other)
    : algorithm_(other.algorithm_), state_(std::make_unique<State>(*other.state_)) {}

Hasher& Hasher::operator=(const Hasher& other) {
  algorithm_ = other.algorithm_;
  *state_ = *other.state_;
  return *this;
}

void Hasher::Update(const void* data, size_t len) {
  if (algorithm_ == DigestAlgorithm::kSha256) {
    SHA256_Update(&state_->sha256, data, len);
  } else {
    SHA512_Update(&state_->sha512, data, len);
  }
}

static std::string ToHex(const unsigned char* bytes, size_t len) {
  static const char kHex[] = "0123456789abcdef";
  std::string out(len * 2, '0');
  for (size_t i = 0; i < len; ++i) {
    out[2 * i] = kHex[bytes[i] >> 4];
    out[2 * i + 1] = kHex[bytes[i] & 15];
  }
  return out;
}

std::string Hasher::HexDigest() const {
  unsigned char out[SHA512_DIGEST_LENGTH];
  if (algorithm_ == DigestAlgorithm::kSha256) {
    SHA256_CTX copy = state_->sha256;
    SHA256_Final(out, &copy);
    return ToHex(out, SHA256_DIGEST_LENGTH);
  }
  SHA512_CTX copy = state_->sha512;
  SHA512_Final(out, &copy);
  return ToHex(out, SHA512_DIGEST_LENGTH);
}

std::string Hasher::SaveState() const {
  if (algorithm_ == DigestAlgorithm::kSha256) {
    return std::string(reinterpret_cast<const char*>(&state_->sha256), sizeof(SHA256_CTX));
  }
  return std::string(reinterpret_cast<const char*>(&state_->sha512), sizeof(SHA512_CTX));
}

std::optional<Hasher> Hasher::Restore(DigestAlgorithm algorithm, std::string_view state) {
  Hasher h(algorithm);
  if (algorithm == DigestAlgorithm::kSha256) {
    if (state.size() != sizeof(SHA256_CTX)) return std::nullopt;
    std::memcpy(&h.state_->sha256, state.data(), state.size());
    if (h.state_->sha256.num >= SHA256_CBLOCK) return std::nullopt;
  } else {
    if (state.size() != sizeof(SHA512_CTX)) return std::nullopt;
    std::memcpy(&h.state_->sha512, state.data(), state.size());
    if (h.state_->sha512.num >= SHA512_CBLOCK) return std::nullopt;
  }
  return h;
}

std::string HexDigestOf(DigestAlgorithm algorithm, std::string_view data) {
  Hasher h(algorithm);
  h.Update(data.data(), data.size());
  return h.HexDigest();
}

}  // namespace arca
