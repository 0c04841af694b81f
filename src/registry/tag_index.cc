#include "registry/tag_index.h"

#include <algorithm>

namespace arca {

std::optional<Page<std::string>> TagIndex::List(const std::string& repo, int64_t generation,
                                                const std::string& after, size_t limit) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(repo);
  if (it == entries_.end() || it->second.generation != generation) return std::nullopt;
  lru_.splice(lru_.begin(), lru_, it->second.lru);
  Entry& e = it->second;
  if (e.sorted_stale) {
    e.sorted.assign(e.tags.begin(), e.tags.end());
    e.sorted_stale = false;
  }
  auto first = after.empty() ? e.sorted.begin()
                             : std::upper_bound(e.sorted.begin(), e.sorted.end(), after);
  size_t n = std::min<size_t>(limit, static_cast<size_t>(e.sorted.end() - first));
  Page<std::string> page;
  page.items.assign(first, first + static_cast<long>(n));
  page.more = first + static_cast<long>(n) != e.sorted.end();
  return page;
}

void TagIndex::Load(const std::string& repo, int64_t generation,
                    const std::vector<std::string>& tags) {
  if (tags.size() > max_tags_ / 2) return;  // one repository may not take the whole bound
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = entries_.find(repo); it != entries_.end()) EraseLocked(it);
  while (held_ + tags.size() > max_tags_ && !lru_.empty()) EraseLocked(entries_.find(lru_.back()));
  lru_.push_front(repo);
  Entry& e = entries_[repo];
  e.generation = generation;
  e.tags.insert(tags.begin(), tags.end());
  e.lru = lru_.begin();
  held_ += e.tags.size();
}

void TagIndex::Changed(const std::string& repo, int64_t generation,
                       const std::vector<std::string>& added,
                       const std::vector<std::string>& removed) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(repo);
  if (it == entries_.end()) return;
  Entry& e = it->second;
  if (e.generation + 1 != generation) {  // someone else changed it too: start over
    EraseLocked(it);
    return;
  }
  for (const auto& t : added) held_ += e.tags.insert(t).second ? 1 : 0;
  for (const auto& t : removed) held_ -= e.tags.erase(t);
  e.generation = generation;
  e.sorted_stale = true;
  e.sorted.clear();
  e.sorted.shrink_to_fit();
}

void TagIndex::Forget(const std::string& repo) {
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = entries_.find(repo); it != entries_.end()) EraseLocked(it);
}

size_t TagIndex::tags_held() {
  std::lock_guard<std::mutex> lock(mu_);
  return held_;
}

void TagIndex::EraseLocked(std::map<std::string, Entry>::iterator it) {
  held_ -= it->second.tags.size();
  lru_.erase(it->second.lru);
  entries_.erase(it);
}

}  // namespace arca
