// The low-level SHA*_CTX API is deprecated in OpenSSL 3 but is the only one whose state is a
// plain struct we can persist between upload chunks; it uses the same SHA-NI code paths.
#define OPENSSL_SUPPRESS_DEPRECATED
#include "util/sha.h"

#include <openssl/sha.h>

#include <cstdint>
#include <cstring>
#include <vector>

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

// The saved state is text, the same on every build and machine:
//   arca-sha-v1 <algorithm> <bytes hashed> <chaining words, hex> <bytes of the partial block, hex>
// The chaining words are written big-endian, so the text does not depend on OpenSSL's struct
// layout or the machine's byte order. Any replica can take the next chunk of an upload from it.
namespace {
constexpr std::string_view kStateVersion = "arca-sha-v1";

void PutWordHex(std::string& out, uint64_t word, int bytes) {
  static const char kHex[] = "0123456789abcdef";
  for (int i = bytes - 1; i >= 0; --i) {
    unsigned b = static_cast<unsigned>((word >> (8 * i)) & 0xff);
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Decodes lower-case hex; nullopt for anything else.
std::optional<std::string> FromHex(std::string_view hex) {
  if (hex.size() % 2) return std::nullopt;
  std::string out(hex.size() / 2, '\0');
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = HexValue(hex[2 * i]), lo = HexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<char>(hi * 16 + lo);
  }
  return out;
}

uint64_t BigEndian(const std::string& bytes, size_t at, int width) {
  uint64_t v = 0;
  for (int i = 0; i < width; ++i) v = (v << 8) | static_cast<unsigned char>(bytes[at + i]);
  return v;
}

std::vector<std::string_view> SplitSpaces(std::string_view s) {
  std::vector<std::string_view> out;
  size_t at = 0;
  while (at <= s.size()) {
    size_t sp = s.find(' ', at);
    if (sp == std::string_view::npos) sp = s.size();
    out.push_back(s.substr(at, sp - at));
    at = sp + 1;
  }
  return out;
}

std::optional<uint64_t> ParseCount(std::string_view s) {
  if (s.empty() || s.size() > 19) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}
}  // namespace

std::string Hasher::SaveState() const {
  std::string out(kStateVersion);
  bool is256 = algorithm_ == DigestAlgorithm::kSha256;
  out += is256 ? " sha256 " : " sha512 ";
  uint64_t bytes;
  std::string_view pending;
  if (is256) {
    const SHA256_CTX& c = state_->sha256;
    bytes = ((static_cast<uint64_t>(c.Nh) << 32) | c.Nl) / 8;
    out += std::to_string(bytes) + ' ';
    for (int i = 0; i < 8; ++i) PutWordHex(out, c.h[i], 4);
    pending = std::string_view(reinterpret_cast<const char*>(c.data), c.num);
  } else {
    const SHA512_CTX& c = state_->sha512;
    bytes = c.Nl / 8 + (c.Nh << 61);  // fewer than 2^64 bytes
    out += std::to_string(bytes) + ' ';
    for (int i = 0; i < 8; ++i) PutWordHex(out, c.h[i], 8);
    pending = std::string_view(reinterpret_cast<const char*>(c.u.p), c.num);
  }
  out += ' ';
  for (unsigned char b : pending) PutWordHex(out, b, 1);
  return out;
}

std::optional<Hasher> Hasher::Restore(DigestAlgorithm algorithm, std::string_view state) {
  Hasher h(algorithm);
  bool is256 = algorithm == DigestAlgorithm::kSha256;
  auto parts = SplitSpaces(state);
  if (parts.size() != 5 || parts[0] != kStateVersion) return std::nullopt;
  if (parts[1] != (is256 ? "sha256" : "sha512")) return std::nullopt;
  auto bytes = ParseCount(parts[2]);
  auto words = FromHex(parts[3]);
  auto pending = FromHex(parts[4]);
  const size_t block = is256 ? SHA256_CBLOCK : SHA512_CBLOCK;
  const int width = is256 ? 4 : 8;
  if (!bytes || !words || !pending || words->size() != 8u * width ||
      pending->size() != *bytes % block) {
    return std::nullopt;
  }
  if (is256) {
    SHA256_CTX& c = h.state_->sha256;
    for (int i = 0; i < 8; ++i) c.h[i] = static_cast<SHA_LONG>(BigEndian(*words, i * 4, 4));
    uint64_t bits = *bytes * 8;
    c.Nl = static_cast<SHA_LONG>(bits & 0xffffffffu);
    c.Nh = static_cast<SHA_LONG>(bits >> 32);
    std::memcpy(c.data, pending->data(), pending->size());
    c.num = static_cast<unsigned>(pending->size());
  } else {
    SHA512_CTX& c = h.state_->sha512;
    for (int i = 0; i < 8; ++i) c.h[i] = BigEndian(*words, i * 8, 8);
    c.Nl = *bytes << 3;
    c.Nh = *bytes >> 61;
    std::memcpy(c.u.p, pending->data(), pending->size());
    c.num = static_cast<unsigned>(pending->size());
  }
  return h;
}

std::string HexDigestOf(DigestAlgorithm algorithm, std::string_view data) {
  Hasher h(algorithm);
  h.Update(data.data(), data.size());
  return h.HexDigest();
}

}  // namespace arca
