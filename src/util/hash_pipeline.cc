#include "util/hash_pipeline.h"

namespace arca {

HashPipeline::HashPipeline(Hasher& hasher, size_t depth, size_t size)
    : hasher_(hasher), depth_(depth), size_(size), lengths_(depth, 0) {
  for (size_t i = 0; i < depth_; ++i) buffers_.emplace_back(new char[size_]);
  thread_ = std::thread([this] { Run(); });
}

HashPipeline::~HashPipeline() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    closing_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

char* HashPipeline::NextBuffer() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return submitted_ - hashed_ < depth_; });
  return buffers_[submitted_ % depth_].get();
}

void HashPipeline::Submit(size_t len) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    lengths_[submitted_ % depth_] = len;
    ++submitted_;
  }
  cv_.notify_all();
}

void HashPipeline::Finish() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return hashed_ == submitted_; });
}

void HashPipeline::Run() {
  while (true) {
    size_t index, len;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return hashed_ < submitted_ || closing_; });
      if (hashed_ == submitted_) return;  // closing, nothing left
      index = hashed_ % depth_;
      len = lengths_[index];
    }
    hasher_.Update(buffers_[index].get(), len);
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++hashed_;
    }
    cv_.notify_all();
  }
}

}  // namespace arca
