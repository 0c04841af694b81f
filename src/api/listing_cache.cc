#include "api/listing_cache.h"

namespace arca::api {

std::optional<CachedListing> ListingCache::Get(const std::string& key, int64_t generation) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end() || it->second.generation != generation) return std::nullopt;
  lru_.splice(lru_.begin(), lru_, it->second.lru);
  return it->second.listing;
}

void ListingCache::Put(const std::string& key, int64_t generation, CachedListing listing) {
  size_t size = key.size() + listing.body.size() + listing.link.size();
  if (size > max_bytes_ / 4) return;  // one listing may not crowd out the rest
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = entries_.find(key); it != entries_.end()) {
    bytes_ -= it->first.size() + it->second.listing.body.size() + it->second.listing.link.size();
    lru_.erase(it->second.lru);
    entries_.erase(it);
  }
  while (bytes_ + size > max_bytes_ && !lru_.empty()) {
    auto victim = entries_.find(lru_.back());
    bytes_ -= victim->first.size() + victim->second.listing.body.size() + victim->second.listing.link.size();
    entries_.erase(victim);
    lru_.pop_back();
  }
  lru_.push_front(key);
  entries_[key] = Entry{generation, std::move(listing), lru_.begin()};
  bytes_ += size;
}

}  // namespace arca::api
