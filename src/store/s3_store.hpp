// store::S3Store: the BlobStore of cluster mode — blobs live in an S3-compatible object store
// (key `<prefix>/blobs/<sha256>`), and each node keeps local copies in a DiskStore (its data
// dir's `store/` folder) bounded by a NodeCache budget.
//
//  - open(): a local copy is a hit (a file path: served with sendfile); a miss downloads the
//    object once per node, hashing it as it arrives, and publishes it into the local DiskStore
//    only when its SHA-256 matches the key (Errc::corrupt otherwise, nothing kept), then returns
//    it. Errc::not_found when the object store does not have it.
//  - filling(): the same copy (one per blob and node: open() and filling() join it), handed out
//    while it runs on its own thread, so a response can stream the bytes as they land
//    (store::Filling: the last byte waits for the hash check).
//  - put()/adopt(): the object store first (create-if-absent; a large file goes up in parts
//    read from disk), then the local copy (a fresh upload is usually read soon after).
//    A failed upload leaves nothing visible.
//  - stat(): the local copy, else a HEAD. list(): the object store's listing.
//  - remove(): both copies.
// Wiping the local folder loses nothing. A store that cannot be reached gives Errc::unavailable.
// Thread-safety: thread-safe.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>

#include "store/node_cache.hpp"
#include "store/s3_client.hpp"
#include "store/store.hpp"

namespace hubgate::store {

struct S3StoreOptions {
  std::string cache_dir;              // root of the local DiskStore (created)
  std::shared_ptr<NodeCache> cache;   // the node's budget; null: a private unbounded one
};

class S3Store final : public BlobStore {
 public:
  static Result<std::unique_ptr<S3Store>> open(std::shared_ptr<S3Client> client, S3StoreOptions opts);
  Result<std::optional<std::uint64_t>> stat(const std::string& sha256) override;
  Result<Blob> open(const std::string& sha256) override;
  Result<std::string> put(std::string_view data) override;
  Result<void> adopt(const std::string& path, const std::string& sha256, std::uint64_t size, Verify verify) override;
  Result<bool> remove(const std::string& sha256) override;
  Result<std::vector<std::string>> list() override;
  Result<std::shared_ptr<Filling>> filling(const std::string& sha256) override;
  ~S3Store() override;  // waits for copies in progress

  DiskStore& local() { return *local_; }
  std::string tmp_dir() const { return local_->tmp_dir(); }
  static std::string key_of(const std::string& sha256) { return "blobs/" + sha256; }

  struct Stats {
    std::uint64_t hits = 0, misses = 0, fetched_bytes = 0;
  };
  Stats stats() const { return {hits_, misses_, fetched_bytes_}; }

 private:
  S3Store(std::shared_ptr<S3Client> c, std::unique_ptr<DiskStore> l, std::shared_ptr<NodeCache> cache)
      : client_(std::move(c)), local_(std::move(l)), cache_(std::move(cache)) {}
  class Copy;
  Result<std::shared_ptr<Copy>> start_copy(const std::string& sha256);
  void run_copy(const std::string& sha256, std::shared_ptr<Copy> copy);
  std::shared_ptr<S3Client> client_;
  std::unique_ptr<DiskStore> local_;
  std::shared_ptr<NodeCache> cache_;
  std::mutex copies_mu_;
  std::condition_variable copies_cv_;
  std::map<std::string, std::shared_ptr<Copy>> copies_;  // in progress, by digest
  std::size_t running_ = 0;
  std::atomic<std::uint64_t> hits_{0}, misses_{0}, fetched_bytes_{0};
};

}  // namespace hubgate::store
