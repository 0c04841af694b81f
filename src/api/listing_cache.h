// Rendered tag listings, kept while the repository's tags do not change: a repeated
// tags/list of a large repository costs one indexed lookup of the tag generation instead of
// a scan. The generation lives in the metadata, so every replica sees a change at once.
// Bounded in bytes; least recently used entries go first. Thread-safe.
#pragma once

#include <cstdint>
#include <list>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace arca::api {

struct CachedListing {
  std::string body;
  std::string link;  // the Link header, or empty
};

class ListingCache {
 public:
  explicit ListingCache(size_t max_bytes) : max_bytes_(max_bytes) {}
  // The listing stored for key at this generation, if any.
  std::optional<CachedListing> Get(const std::string& key, int64_t generation);
  void Put(const std::string& key, int64_t generation, CachedListing listing);

 private:
  struct Entry {
    int64_t generation;
    CachedListing listing;
    std::list<std::string>::iterator lru;
  };
  std::mutex mu_;
  size_t max_bytes_;
  size_t bytes_ = 0;                     // GUARDED_BY(mu_)
  std::map<std::string, Entry> entries_;  // GUARDED_BY(mu_)
  std::list<std::string> lru_;            // GUARDED_BY(mu_), most recent first
};

}  // namespace arca::api
