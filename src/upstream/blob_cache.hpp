// The cache of upstream content: verified file bodies keyed by their content hash.
//
// `ContentKey` names a body by the hash upstream declared for it: sha256 for LFS/Xet files
// (`X-Linked-Etag`, tree `lfs.oid`), the git blob sha1 for regular files (`ETag`, tree `oid`).
// `BlobCache` is the narrow interface fills publish into and readers open from; `DiskBlobCache`
// is its local-disk implementation. Only *cached* (upstream) content lives here; local
// repositories' content lives in the core store and is never evicted by this cache.
//
// Layout of DiskBlobCache (root = `<cache dir>/blobs`):
//   <root>/<algo>/<hex[0:2]>/<hex>            a published, verified body
//   <root>/<algo>/<hex[0:2]>/<hex>.tmp.<rnd>  a fill in progress (AtomicFile); removed at startup
//
// Capacity: when `max_bytes` > 0, publishing evicts least-recently-used entries until the total
// fits again. An entry that is pinned (a `BlobHandle` is open on it: it is being served) is never
// evicted; neither is a fill in progress (it is not an entry until published), nor the entry
// just published. When nothing more can be evicted the cache stays over budget until pins are
// released (the next publish evicts again).
//
// Thread-safety: every method of DiskBlobCache is safe to call concurrently. `BlobHandle` is a
// move-only RAII pin; it must not outlive the cache.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "upstream/metrics.hpp"
#include "util/atomic_file.hpp"
#include "util/error.hpp"

namespace hubgate::upstream {

struct ContentKey {
  // Persisted in paths and metadata; do not renumber.
  enum class Algo : std::uint8_t { sha256 = 1, git_sha1 = 2 };
  Algo algo = Algo::sha256;
  std::string hex;  // lowercase, 64 digits for sha256, 40 for git_sha1

  static Result<ContentKey> make(Algo algo, std::string_view hex);
  std::string algo_name() const { return algo == Algo::sha256 ? "sha256" : "gitsha1"; }
  std::string str() const { return algo_name() + ":" + hex; }
  bool operator==(const ContentKey&) const = default;
};

struct ContentKeyHash {
  std::size_t operator()(const ContentKey& k) const {
    return std::hash<std::string>()(k.hex) ^ static_cast<std::size_t>(k.algo);
  }
};

class BlobCache;

// An open, pinned cache entry. `fd()` is readable with pread/sendfile for `size()` bytes.
class BlobHandle {
 public:
  BlobHandle(BlobHandle&& o) noexcept;
  BlobHandle& operator=(BlobHandle&& o) noexcept;
  BlobHandle(const BlobHandle&) = delete;
  ~BlobHandle();
  int fd() const { return fd_; }
  std::uint64_t size() const { return size_; }
  const ContentKey& key() const { return key_; }

 private:
  friend class DiskBlobCache;
  BlobHandle(BlobCache* owner, ContentKey key, int fd, std::uint64_t size)
      : owner_(owner), key_(std::move(key)), fd_(fd), size_(size) {}
  void release();
  BlobCache* owner_ = nullptr;
  ContentKey key_;
  int fd_ = -1;
  std::uint64_t size_ = 0;
};

struct CacheStats {
  std::uint64_t bytes = 0;
  std::uint64_t entries = 0;
  std::uint64_t evictions = 0;
  std::uint64_t evicted_bytes = 0;
};

class BlobCache {
 public:
  virtual ~BlobCache() = default;
  // Opens and pins an entry (marks it most recently used); nullopt when absent.
  virtual std::optional<BlobHandle> open(const ContentKey& key) = 0;
  virtual bool contains(const ContentKey& key) = 0;
  // The temporary file a fill writes into; publish() commits it under `key`.
  virtual Result<AtomicFile> begin(const ContentKey& key) = 0;
  // Commits a fully written and verified temporary file, then enforces capacity.
  virtual Result<void> publish(const ContentKey& key, AtomicFile file) = 0;
  virtual CacheStats stats() const = 0;

 protected:
  friend class BlobHandle;
  virtual void unpin(const ContentKey& key) = 0;
};

struct DiskBlobCacheOptions {
  std::string root;             // required: folder for the blobs (created)
  std::uint64_t max_bytes = 0;  // 0 = unlimited
};

class DiskBlobCache final : public BlobCache {
 public:
  // Creates the folder, removes leftover temporaries, indexes existing entries (LRU order by
  // modification time).
  static Result<std::unique_ptr<DiskBlobCache>> open_dir(DiskBlobCacheOptions options,
                                                         Metrics* metrics = nullptr);

  std::optional<BlobHandle> open(const ContentKey& key) override;
  bool contains(const ContentKey& key) override;
  Result<AtomicFile> begin(const ContentKey& key) override;
  Result<void> publish(const ContentKey& key, AtomicFile file) override;
  CacheStats stats() const override;
  std::string path_of(const ContentKey& key) const;

 protected:
  void unpin(const ContentKey& key) override;

 private:
  DiskBlobCache(DiskBlobCacheOptions o, Metrics* m) : opt_(std::move(o)), metrics_(m) {}
  struct Entry {
    std::uint64_t size = 0;
    int pins = 0;
    std::list<ContentKey>::iterator lru;  // position in lru_ (front = most recent)
  };
  void evict_locked();
  void update_gauges_locked();

  DiskBlobCacheOptions opt_;
  Metrics* metrics_;
  mutable std::mutex mu_;
  std::unordered_map<ContentKey, Entry, ContentKeyHash> entries_;
  std::list<ContentKey> lru_;
  CacheStats stats_;
};

}  // namespace hubgate::upstream
