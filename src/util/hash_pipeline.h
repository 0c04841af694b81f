// Hashing off the critical path: a helper thread hashes the buffers of a large upload, in
// order, while the request thread goes on receiving and writing the next ones. On a CPU
// without SHA extensions hashing is the slowest step of a push; overlapping it with the
// socket and the disk is what brings a push close to the hash rate.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "util/sha.h"

namespace arca {

class HashPipeline {
 public:
  // Hashes into hasher (which must outlive the pipeline) using `depth` buffers of `size`.
  HashPipeline(Hasher& hasher, size_t depth, size_t size);
  ~HashPipeline();  // waits for the hasher thread
  HashPipeline(const HashPipeline&) = delete;
  HashPipeline& operator=(const HashPipeline&) = delete;

  // A buffer to fill; blocks while every buffer is still waiting to be hashed.
  char* NextBuffer();
  // Queues the first len bytes of the buffer NextBuffer returned last.
  void Submit(size_t len);
  // Blocks until everything submitted has been hashed.
  void Finish();
  size_t buffer_size() const { return size_; }

 private:
  void Run();

  Hasher& hasher_;
  const size_t depth_, size_;
  std::vector<std::unique_ptr<char[]>> buffers_;
  std::vector<size_t> lengths_;  // GUARDED_BY(mu_)
  std::mutex mu_;
  std::condition_variable cv_;
  size_t submitted_ = 0;  // GUARDED_BY(mu_)
  size_t hashed_ = 0;     // GUARDED_BY(mu_)
  bool closing_ = false;  // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace arca
