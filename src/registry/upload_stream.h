// Streaming a request body into an upload while hashing it, in bounded memory.
#pragma once

#include <cstdint>

#include "storage/blob_store.h"
#include "util/byte_source.h"
#include "util/sha.h"

namespace arca {

// Copies body into writer and hasher until the body ends; returns the bytes copied. With
// expected set, a body of any other length is an error and nothing past it is read.
Result<uint64_t> StreamInto(ByteSource& body, UploadWriter& writer, Hasher& hasher,
                            std::optional<uint64_t> expected);

// Hashes a whole source with a fresh hasher of algorithm.
Result<Hasher> HashAll(ByteSource& source, DigestAlgorithm algorithm);

}  // namespace arca
