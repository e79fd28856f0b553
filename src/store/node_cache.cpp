// NodeCache keys its CopyLru with "ns\n id" (ids never contain a newline) and calls the
// evictors after releasing its lock, so an evictor may take other locks (a store's).
#include "store/node_cache.hpp"

#include <vector>

namespace hubgate::store {

namespace {
std::string join(const std::string& ns, const std::string& id) { return ns + "\n" + id; }
}  // namespace

void NodeCache::on_evict(const std::string& ns, Evict fn) {
  std::lock_guard lk(mu_);
  evictors_[ns] = std::move(fn);
}

void NodeCache::insert(const std::string& ns, const std::string& id, std::uint64_t size) {
  std::vector<std::pair<Evict, std::string>> work;
  {
    std::lock_guard lk(mu_);
    std::string key = join(ns, id);
    lru_.insert(key, size);
    for (auto& [victim, vsize] : lru_.take_victims()) {
      if (victim == key) {  // never the entry just inserted
        lru_.insert(key, vsize);
        continue;
      }
      auto nl = victim.find('\n');
      auto it = evictors_.find(victim.substr(0, nl));
      ++evictions_;
      if (it != evictors_.end()) work.emplace_back(it->second, victim.substr(nl + 1));
    }
  }
  for (auto& [fn, vid] : work) fn(vid);
}

void NodeCache::touch(const std::string& ns, const std::string& id) {
  std::lock_guard lk(mu_);
  lru_.touch(join(ns, id));
}

void NodeCache::erase(const std::string& ns, const std::string& id) {
  std::lock_guard lk(mu_);
  lru_.erase(join(ns, id));
}

std::uint64_t NodeCache::bytes() const {
  std::lock_guard lk(mu_);
  return lru_.bytes();
}
std::size_t NodeCache::count() const {
  std::lock_guard lk(mu_);
  return lru_.count();
}
std::uint64_t NodeCache::evictions() const {
  std::lock_guard lk(mu_);
  return evictions_;
}

Result<void> SingleFlight::run(const std::string& key, const std::function<Result<void>()>& fn) {
  std::shared_ptr<Flight> f;
  {
    std::unique_lock lk(mu_);
    auto it = flights_.find(key);
    if (it != flights_.end()) {
      f = it->second;
      cv_.wait(lk, [&] { return f->done; });
      return f->result;
    }
    f = std::make_shared<Flight>();
    flights_.emplace(key, f);
  }
  Result<void> r = fn();
  {
    std::lock_guard lk(mu_);
    f->result = r;
    f->done = true;
    flights_.erase(key);
  }
  cv_.notify_all();
  return r;
}

}  // namespace hubgate::store
