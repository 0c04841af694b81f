// TagIndex: repositories' tag names kept sorted in memory, so a tags/list of a large
// repository is a walk of a tree rather than a scan of the database. Each entry is valid for
// one tag generation of its repository (MetaStore::TagsGeneration): a change made anywhere,
// by any replica, moves the generation and makes the entry miss; this process's own changes
// are applied to the entry instead, when nothing else changed in between. Bounded by the
// number of tags held; least recently used repositories go first. Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "meta/meta_store.h"

namespace arca {

class TagIndex {
 public:
  explicit TagIndex(size_t max_tags) : max_tags_(max_tags) {}

  // Tags strictly after `after`, at most limit, when the index holds repo at generation.
  std::optional<Page<std::string>> List(const std::string& repo, int64_t generation,
                                        const std::string& after, size_t limit);
  // The same page, each tag passed to fn in order (under the index's lock: fn must be quick
  // and must not call back); returns whether more tags follow.
  std::optional<bool> Visit(const std::string& repo, int64_t generation, const std::string& after,
                            size_t limit, const std::function<void(const std::string&)>& fn);
  // Holds repo's complete, sorted tag list as of generation (unless it is over the bound).
  void Load(const std::string& repo, int64_t generation, const std::vector<std::string>& tags);
  // This process changed repo's tags and the generation is now `generation`: the entry
  // follows if it was one step behind, and is dropped otherwise.
  void Changed(const std::string& repo, int64_t generation, const std::vector<std::string>& added,
               const std::vector<std::string>& removed);
  void Forget(const std::string& repo);
  size_t tags_held();

 private:
  // The tags in order, cut into blocks of at most kBlock names: a change moves at most one
  // block's worth of strings, and a read walks contiguous memory (several times faster than
  // walking a tree), so the first listing after a change costs no more than any other.
  using Blocks = std::vector<std::vector<std::string>>;
  static constexpr size_t kBlock = 512;
  struct Entry {
    int64_t generation;
    Blocks blocks;  // non-empty blocks, each sorted, all in order
    size_t size = 0;
    std::list<std::string>::iterator lru;
  };
  static bool Insert(Entry& e, const std::string& tag);
  static bool Erase(Entry& e, const std::string& tag);
  void EraseLocked(std::map<std::string, Entry>::iterator it);  // REQUIRES(mu_)

  const size_t max_tags_;
  std::mutex mu_;
  size_t held_ = 0;                       // GUARDED_BY(mu_)
  std::map<std::string, Entry> entries_;  // GUARDED_BY(mu_)
  std::list<std::string> lru_;            // GUARDED_BY(mu_), most recent first
};

}  // namespace arca
