// CopyLru: a list in use order plus a map from digest to (size, list position); every operation
// is O(1) except take_victims, which is O(victims).
#include "store/copy_lru.hpp"

namespace hubgate::store {

void CopyLru::insert(const std::string& digest, std::uint64_t size) {
  if (auto it = map_.find(digest); it != map_.end()) {
    bytes_ -= it->second.size;
    bytes_ += size;
    it->second.size = size;
    order_.splice(order_.begin(), order_, it->second.pos);
    return;
  }
  order_.push_front(digest);
  map_.emplace(digest, Entry{size, order_.begin()});
  bytes_ += size;
}

bool CopyLru::touch(const std::string& digest) {
  auto it = map_.find(digest);
  if (it == map_.end()) return false;
  order_.splice(order_.begin(), order_, it->second.pos);
  return true;
}

bool CopyLru::erase(const std::string& digest) {
  auto it = map_.find(digest);
  if (it == map_.end()) return false;
  bytes_ -= it->second.size;
  order_.erase(it->second.pos);
  map_.erase(it);
  return true;
}

std::vector<std::pair<std::string, std::uint64_t>> CopyLru::take_victims() {
  std::vector<std::pair<std::string, std::uint64_t>> out;
  if (!budget_) return out;
  while (bytes_ > *budget_ && !order_.empty()) {
    std::string d = order_.back();
    auto it = map_.find(d);
    out.emplace_back(d, it->second.size);
    bytes_ -= it->second.size;
    map_.erase(it);
    order_.pop_back();
  }
  return out;
}

}  // namespace hubgate::store
