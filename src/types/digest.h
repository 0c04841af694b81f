// Content digests ("sha256:<64 hex>", "sha512:<128 hex>"), the names of everything stored.
#pragma once

#include <string>
#include <string_view>

#include "util/sha.h"
#include "util/status.h"

namespace arca {

class Digest {
 public:
  // Accepts only the algorithms Arca can verify, with lower-case hex of the exact length.
  // Anything else is DIGEST_INVALID (a malformed digest is the client's fault: a 400).
  static Result<Digest> Parse(std::string_view text);
  static Digest Of(DigestAlgorithm algorithm, std::string_view data);

  DigestAlgorithm algorithm() const { return algorithm_; }
  const std::string& hex() const { return hex_; }
  std::string str() const;
  bool operator==(const Digest& o) const = default;

 private:
  Digest(DigestAlgorithm a, std::string hex) : algorithm_(a), hex_(std::move(hex)) {}
  DigestAlgorithm algorithm_;
  std::string hex_;
};

std::string_view AlgorithmName(DigestAlgorithm algorithm);

}  // namespace arca
