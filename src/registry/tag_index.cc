#include "registry/tag_index.h"

#include <algorithm>

namespace arca {
namespace {

// The first block whose last tag is >= tag (where tag would go), or end.
auto BlockFor(std::vector<std::vector<std::string>>& blocks, const std::string& tag) {
  return std::lower_bound(blocks.begin(), blocks.end(), tag,
                          [](const std::vector<std::string>& b, const std::string& t) {
                            return b.back() < t;
                          });
}

}  // namespace

std::optional<Page<std::string>> TagIndex::List(const std::string& repo, int64_t generation,
                                                const std::string& after, size_t limit) {
  Page<std::string> page;
  auto more = Visit(repo, generation, after, limit,
                    [&](const std::string& tag) { page.items.push_back(tag); });
  if (!more) return std::nullopt;
  page.more = *more;
  return page;
}

std::optional<bool> TagIndex::Visit(const std::string& repo, int64_t generation,
                                    const std::string& after, size_t limit,
                                    const std::function<void(const std::string&)>& fn) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(repo);
  if (it == entries_.end() || it->second.generation != generation) return std::nullopt;
  lru_.splice(lru_.begin(), lru_, it->second.lru);
  Blocks& blocks = it->second.blocks;
  // The first block holding a tag > after, and the first such tag in it.
  auto b = after.empty() ? blocks.begin()
                         : std::upper_bound(blocks.begin(), blocks.end(), after,
                                            [](const std::string& t, const std::vector<std::string>& blk) {
                                              return t < blk.back();
                                            });
  size_t given = 0;
  for (; b != blocks.end(); ++b) {
    auto first = after.empty() ? b->begin() : std::upper_bound(b->begin(), b->end(), after);
    for (; first != b->end(); ++first) {
      if (given == limit) return true;
      fn(*first);
      ++given;
    }
  }
  return false;
}

void TagIndex::Load(const std::string& repo, int64_t generation,
                    const std::vector<std::string>& tags) {
  if (tags.size() > max_tags_ / 2) return;  // one repository may not take the whole bound
  std::vector<std::string> sorted(tags);
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = entries_.find(repo); it != entries_.end()) EraseLocked(it);
  while (held_ + sorted.size() > max_tags_ && !lru_.empty()) EraseLocked(entries_.find(lru_.back()));
  lru_.push_front(repo);
  Entry& e = entries_[repo];
  e.generation = generation;
  e.lru = lru_.begin();
  // Blocks start half full, so that insertions split rarely.
  for (size_t i = 0; i < sorted.size(); i += kBlock / 2) {
    auto end = sorted.begin() + static_cast<long>(std::min(sorted.size(), i + kBlock / 2));
    e.blocks.emplace_back(std::make_move_iterator(sorted.begin() + static_cast<long>(i)),
                          std::make_move_iterator(end));
  }
  e.size = sorted.size();
  held_ += e.size;
}

bool TagIndex::Insert(Entry& e, const std::string& tag) {
  if (e.blocks.empty()) {
    e.blocks.push_back({tag});
    ++e.size;
    return true;
  }
  auto b = BlockFor(e.blocks, tag);
  if (b == e.blocks.end()) --b;  // after every tag: the last block takes it
  auto pos = std::lower_bound(b->begin(), b->end(), tag);
  if (pos != b->end() && *pos == tag) return false;
  b->insert(pos, tag);
  ++e.size;
  if (b->size() > kBlock) {  // split in two halves
    std::vector<std::string> upper(std::make_move_iterator(b->begin() + kBlock / 2),
                                   std::make_move_iterator(b->end()));
    b->resize(kBlock / 2);
    e.blocks.insert(b + 1, std::move(upper));
  }
  return true;
}

bool TagIndex::Erase(Entry& e, const std::string& tag) {
  auto b = BlockFor(e.blocks, tag);
  if (b == e.blocks.end()) return false;
  auto pos = std::lower_bound(b->begin(), b->end(), tag);
  if (pos == b->end() || *pos != tag) return false;
  b->erase(pos);
  --e.size;
  if (b->empty()) e.blocks.erase(b);
  return true;
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
  for (const auto& t : added) held_ += Insert(e, t) ? 1 : 0;
  for (const auto& t : removed) held_ -= Erase(e, t) ? 1 : 0;
  e.generation = generation;
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
  held_ -= it->second.size;
  lru_.erase(it->second.lru);
  entries_.erase(it);
}

}  // namespace arca
