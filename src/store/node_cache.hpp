// store::NodeCache and store::SingleFlight: the pieces of a node's local disk cache in front of
// the object store (`hubgate serve --store s3://… --cache-max-bytes N`).
//
// NodeCache is the byte budget shared by every store that keeps local copies of object-store
// objects (S3Store's blobs, the Xet S3ObjectStore's xorbs and shards): entries are
// (namespace, id, size) in least-recently-used order. `insert` past the budget evicts the least
// recently used entries by calling the namespace's evictor (outside the lock); the entry just
// inserted is never its own victim (a copy larger than the whole budget stays until the next
// insert), so a path handed out by a store's open() survives the open. Without a budget nothing
// is evicted. Wiping the cache loses nothing: the object store holds every object.
//
// SingleFlight runs one computation per key at a time: the first caller of `run(key, fn)` runs
// fn, callers arriving meanwhile wait and get its result (a local miss reads the object store
// once per node).
//
// Thread-safety: both classes are thread-safe.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "store/copy_lru.hpp"
#include "util/error.hpp"

namespace hubgate::store {

class NodeCache {
 public:
  using Evict = std::function<void(const std::string& id)>;
  explicit NodeCache(std::optional<std::uint64_t> max_bytes) : lru_(max_bytes) {}

  // Registers the remover of namespace `ns` (called with the id of each victim).
  void on_evict(const std::string& ns, Evict fn);
  // Adds or refreshes an entry, then evicts past the budget.
  void insert(const std::string& ns, const std::string& id, std::uint64_t size);
  // Marks an entry as just used (no-op when not tracked).
  void touch(const std::string& ns, const std::string& id);
  void erase(const std::string& ns, const std::string& id);

  std::uint64_t bytes() const;
  std::size_t count() const;
  std::uint64_t evictions() const;
  std::optional<std::uint64_t> budget() const { return lru_.budget(); }

 private:
  mutable std::mutex mu_;
  CopyLru lru_;
  std::map<std::string, Evict> evictors_;
  std::uint64_t evictions_ = 0;
};

class SingleFlight {
 public:
  // Runs `fn` unless a run for `key` is in progress, in which case waits for it and returns its
  // result.
  Result<void> run(const std::string& key, const std::function<Result<void>()>& fn);

 private:
  struct Flight {
    bool done = false;
    Result<void> result;
  };
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::shared_ptr<Flight>> flights_;
};

}  // namespace hubgate::store
