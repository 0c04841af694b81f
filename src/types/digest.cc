#include "types/digest.h"

namespace arca {

std::string_view AlgorithmName(DigestAlgorithm algorithm) {
  return algorithm == DigestAlgorithm::kSha256 ? "sha256" : "sha512";
}

static bool IsLowerHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

Result<Digest> Digest::Parse(std::string_view text) {
  size_t colon = text.find(':');
  if (colon == std::string_view::npos) {
    return Status(ErrorCode::kDigestInvalid, "invalid digest", "missing algorithm prefix");
  }
  std::string_view algo = text.substr(0, colon);
  std::string_view hex = text.substr(colon + 1);
  DigestAlgorithm a;
  size_t want;
  if (algo == "sha256") {
    a = DigestAlgorithm::kSha256;
    want = 64;
  } else if (algo == "sha512") {
    a = DigestAlgorithm::kSha512;
    want = 128;
  } else {
    return Status(ErrorCode::kDigestInvalid, "unsupported digest algorithm",
                  "supported algorithms: sha256, sha512");
  }
  if (hex.size() != want || !IsLowerHex(hex)) {
    return Status(ErrorCode::kDigestInvalid, "invalid digest",
                  std::string(algo) + " needs " + std::to_string(want) + " lower-case hex digits");
  }
  return Digest(a, std::string(hex));
}

Digest Digest::Of(DigestAlgorithm algorithm, std::string_view data) {
  return Digest(algorithm, HexDigestOf(algorithm, data));
}

std::string Digest::str() const {
  std::string s(AlgorithmName(algorithm_));
  s.push_back(':');
  s += hex_;
  return s;
}

}  // namespace arca
