// store::CopyLru: the eviction policy of the hot-copy cache (src/cas/hot_copies.hpp) — which
// whole-file copies to drop so that their total size stays within a byte budget.
//
// Entries are digests with a size, in least-recently-used order: `insert` and `touch` make an
// entry the most recent; `take_victims` removes and returns the least recent entries until the
// total is within the budget (an entry larger than the whole budget is itself a victim).
// Without a budget (nullopt) nothing is ever a victim. The class only decides; the caller removes
// the files. Thread-safety: none (the owner locks).
#pragma once

#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace hubgate::store {

class CopyLru {
 public:
  explicit CopyLru(std::optional<std::uint64_t> budget) : budget_(budget) {}

  // Adds (or refreshes) `digest` of `size` bytes as the most recently used entry.
  void insert(const std::string& digest, std::uint64_t size);
  // Marks `digest` as just used; false when it is not tracked.
  bool touch(const std::string& digest);
  // Forgets `digest` (removed by someone else); false when it was not tracked.
  bool erase(const std::string& digest);
  bool contains(const std::string& digest) const { return map_.count(digest) > 0; }
  // Least recently used entries to drop, oldest first, removed from the tracking, so that
  // bytes() <= budget afterwards.
  std::vector<std::pair<std::string, std::uint64_t>> take_victims();
  // Would a copy of `size` bytes fit the budget at all?
  bool fits(std::uint64_t size) const { return !budget_ || size <= *budget_; }

  std::uint64_t bytes() const { return bytes_; }
  std::size_t count() const { return map_.size(); }
  std::optional<std::uint64_t> budget() const { return budget_; }

 private:
  struct Entry {
    std::uint64_t size;
    std::list<std::string>::iterator pos;
  };
  std::optional<std::uint64_t> budget_;
  std::list<std::string> order_;  // front = most recently used
  std::unordered_map<std::string, Entry> map_;
  std::uint64_t bytes_ = 0;
};

}  // namespace hubgate::store
