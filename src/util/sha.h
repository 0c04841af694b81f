// SHA-256 / SHA-512 with a state that can be saved and restored, so an upload can be
// hashed chunk by chunk across requests, processes and restarts. OpenSSL underneath (SHA-NI).
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace arca {

enum class DigestAlgorithm { kSha256, kSha512 };

class Hasher {
 public:
  explicit Hasher(DigestAlgorithm algorithm);
  ~Hasher();
  Hasher(const Hasher& other);
  Hasher& operator=(const Hasher& other);

  void Update(const void* data, size_t len);
  // Lower-case hex of the digest of everything so far; the hasher can keep going afterwards.
  std::string HexDigest() const;
  DigestAlgorithm algorithm() const { return algorithm_; }

  // A snapshot of the running state as portable, versioned text (sha.cc gives its form): the
  // same on every build, machine and byte order, so that any replica can resume an upload.
  // Restore returns nullopt for a snapshot that is not one of ours (another version or
  // algorithm, or inconsistent), never a hasher in an undefined state.
  std::string SaveState() const;
  static std::optional<Hasher> Restore(DigestAlgorithm algorithm, std::string_view state);

 private:
  struct State;
  DigestAlgorithm algorithm_;
  std::unique_ptr<State> state_;
};

// One-shot helper for small in-memory inputs (manifests).
std::string HexDigestOf(DigestAlgorithm algorithm, std::string_view data);

}  // namespace arca
