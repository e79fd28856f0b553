// DiskBlobCache: an in-memory LRU index over a fan-out folder of verified bodies.
//
// The index (key -> size, pin count, LRU position) is rebuilt at startup by walking the folder;
// temporaries left by a crash mid-fill (`*.tmp.*`) are deleted then, so a partial body can
// never be mistaken for an entry. Every state change happens under one mutex, including the
// open()/unlink() of files, so an entry cannot be evicted between "found" and "pinned".
#include "upstream/blob_cache.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <vector>

#include "util/hex.hpp"

namespace hubgate::upstream {

namespace fs = std::filesystem;

Result<ContentKey> ContentKey::make(Algo algo, std::string_view hex) {
  std::size_t n = algo == Algo::sha256 ? 64 : 40;
  std::string lower(hex);
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!is_lower_hex(lower, n)) {
    return fail(Errc::invalid_argument,
                "content key: expected " + std::to_string(n) + " hex digits, got '" + std::string(hex) + "'");
  }
  return ContentKey{algo, std::move(lower)};
}

BlobHandle::BlobHandle(BlobHandle&& o) noexcept
    : owner_(o.owner_), key_(std::move(o.key_)), fd_(o.fd_), size_(o.size_) {
  o.owner_ = nullptr;
  o.fd_ = -1;
}
BlobHandle& BlobHandle::operator=(BlobHandle&& o) noexcept {
  if (this != &o) {
    release();
    owner_ = o.owner_;
    key_ = std::move(o.key_);
    fd_ = o.fd_;
    size_ = o.size_;
    o.owner_ = nullptr;
    o.fd_ = -1;
  }
  return *this;
}
BlobHandle::~BlobHandle() { release(); }
void BlobHandle::release() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (owner_) owner_->unpin(key_);
  owner_ = nullptr;
}

Result<std::unique_ptr<DiskBlobCache>> DiskBlobCache::open_dir(DiskBlobCacheOptions options,
                                                               Metrics* metrics) {
  if (options.root.empty()) return fail(Errc::invalid_argument, "blob cache: empty root");
  HG_TRY_VOID(make_dirs(options.root));
  std::unique_ptr<DiskBlobCache> cache(new DiskBlobCache(std::move(options), metrics));
  struct Found {
    ContentKey key;
    std::uint64_t size;
    fs::file_time_type mtime;
  };
  std::vector<Found> found;
  std::error_code ec;
  for (auto algo : {ContentKey::Algo::sha256, ContentKey::Algo::git_sha1}) {
    ContentKey probe{algo, {}};
    fs::path dir = fs::path(cache->opt_.root) / probe.algo_name();
    if (!fs::exists(dir, ec)) continue;
    for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
      if (!it->is_regular_file(ec)) continue;
      std::string name = it->path().filename().string();
      if (name.find(".tmp.") != std::string::npos) {
        fs::remove(it->path(), ec);  // a fill interrupted by a crash: never an entry
        continue;
      }
      auto key = ContentKey::make(algo, name);
      if (!key) continue;  // foreign file; leave it alone
      found.push_back({*key, static_cast<std::uint64_t>(it->file_size(ec)), it->last_write_time(ec)});
    }
    if (ec) return fail(Errc::io, "blob cache: scan " + dir.string() + ": " + ec.message());
  }
  std::sort(found.begin(), found.end(), [](const Found& a, const Found& b) { return a.mtime > b.mtime; });
  std::lock_guard lock(cache->mu_);
  for (auto& f : found) {
    cache->lru_.push_back(f.key);
    cache->entries_[f.key] = Entry{f.size, 0, std::prev(cache->lru_.end())};
    cache->stats_.bytes += f.size;
  }
  cache->stats_.entries = cache->entries_.size();
  cache->update_gauges_locked();
  return cache;
}

std::string DiskBlobCache::path_of(const ContentKey& key) const {
  return opt_.root + "/" + key.algo_name() + "/" + key.hex.substr(0, 2) + "/" + key.hex;
}

std::optional<BlobHandle> DiskBlobCache::open(const ContentKey& key) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return std::nullopt;
  int fd = ::open(path_of(key).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    // Removed behind our back: forget it.
    stats_.bytes -= it->second.size;
    lru_.erase(it->second.lru);
    entries_.erase(it);
    stats_.entries = entries_.size();
    update_gauges_locked();
    return std::nullopt;
  }
  it->second.pins++;
  lru_.splice(lru_.begin(), lru_, it->second.lru);
  return BlobHandle(this, key, fd, it->second.size);
}

bool DiskBlobCache::contains(const ContentKey& key) {
  std::lock_guard lock(mu_);
  return entries_.count(key) != 0;
}

Result<AtomicFile> DiskBlobCache::begin(const ContentKey& key) { return AtomicFile::create(path_of(key)); }

Result<void> DiskBlobCache::publish(const ContentKey& key, AtomicFile file) {
  std::uint64_t size = file.size();
  HG_TRY_VOID(file.commit());
  std::lock_guard lock(mu_);
  auto it = entries_.find(key);
  if (it != entries_.end()) {
    // Same content published twice (identical bytes by construction): keep one accounting.
    stats_.bytes -= it->second.size;
    it->second.size = size;
    stats_.bytes += size;
    lru_.splice(lru_.begin(), lru_, it->second.lru);
  } else {
    lru_.push_front(key);
    entries_[key] = Entry{size, 0, lru_.begin()};
    stats_.bytes += size;
  }
  stats_.entries = entries_.size();
  evict_locked();
  update_gauges_locked();
  return {};
}

void DiskBlobCache::evict_locked() {
  if (opt_.max_bytes == 0) return;
  // Walk from the least recently used end; the newest entry (front) goes last.
  auto it = lru_.end();
  while (stats_.bytes > opt_.max_bytes) {
    if (it == lru_.begin()) break;
    --it;
    if (it == lru_.begin()) break;  // never evict the newest entry: it was just published
    auto e = entries_.find(*it);
    if (e->second.pins > 0) continue;
    std::string path = path_of(*it);
    ::unlink(path.c_str());
    stats_.bytes -= e->second.size;
    stats_.evictions++;
    stats_.evicted_bytes += e->second.size;
    if (metrics_) {
      metrics_->evictions.fetch_add(1, std::memory_order_relaxed);
      metrics_->evicted_bytes.fetch_add(e->second.size, std::memory_order_relaxed);
    }
    entries_.erase(e);
    it = lru_.erase(it);
  }
  stats_.entries = entries_.size();
}

void DiskBlobCache::unpin(const ContentKey& key) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(key);
  if (it != entries_.end() && it->second.pins > 0) it->second.pins--;
}

CacheStats DiskBlobCache::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void DiskBlobCache::update_gauges_locked() {
  if (!metrics_) return;
  metrics_->cache_bytes.store(stats_.bytes, std::memory_order_relaxed);
  metrics_->cache_entries.store(stats_.entries, std::memory_order_relaxed);
}

}  // namespace hubgate::upstream
