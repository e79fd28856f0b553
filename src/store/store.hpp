// Content-addressed blob store keyed by SHA-256.
//
// `BlobStore` is the one narrow interface every backend implements: `DiskStore` (files under
// `<root>/sha256/ab/cd/<64 hex>`, published atomically: temp file, fsync, rename, fsync dir),
// `MemoryStore` (a map, for tests) and `FaultyStore` (wraps another store and fails chosen
// operations, for tests of error paths). Identical content is stored once: putting a digest that
// exists is a no-op. Nothing is visible under a digest until its bytes were verified to hash to
// it (`put`) or the caller vouches for the digest it computed while receiving (`adopt`, which
// re-hashes when `Verify::yes`). Blobs are immutable; `remove` deletes one (the hot-copy cache,
// src/cas/hot_copies.hpp, drops whole-file copies that the chunk store can rebuild): a DiskStore
// blob that is open keeps working for its reader (POSIX unlink), a later `open` finds it absent.
// Thread-safety: all implementations are thread-safe.
#pragma once

#include <atomic>
#include <functional>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.hpp"

namespace hubgate::store {

// A readable blob: a file path (DiskStore) or shared bytes (MemoryStore).
struct Blob {
  std::string path;
  std::shared_ptr<const std::string> data;
  std::uint64_t size = 0;
};

enum class Verify { yes, no };

// A blob being copied into local storage from elsewhere (S3Store's local miss), readable while
// it grows: bytes [0, available()) of the file behind fd() are final. The last byte becomes
// available only once the whole blob was verified against its digest, so a reader that reached
// size() has read a verified blob; after a failure available() is the error and the reader must
// end its response short. Thread-safe.
class Filling {
 public:
  virtual ~Filling() = default;
  virtual std::uint64_t size() const = 0;
  // A read-only descriptor of the file (owned by the Filling; dup() it to keep it).
  virtual int fd() const = 0;
  virtual Result<std::uint64_t> available() const = 0;
  // Calls `cb` once, from any thread, as soon as available() has grown past `have` or the
  // copy ended (at once when that is already so). `cb` must not block.
  virtual void on_progress(std::uint64_t have, std::function<void()> cb) = 0;
};

class BlobStore {
 public:
  virtual ~BlobStore() = default;
  // Size of the blob, or nullopt when absent. `sha256` must be 64 lowercase hex.
  virtual Result<std::optional<std::uint64_t>> stat(const std::string& sha256) = 0;
  // Errc::not_found when absent.
  virtual Result<Blob> open(const std::string& sha256) = 0;
  // Stores `data`; returns its digest.
  virtual Result<std::string> put(std::string_view data) = 0;
  // Takes ownership of the file at `path` (moved or copied, then removed) as the blob `sha256`
  // of `size` bytes. With Verify::yes the content is re-hashed first (Errc::corrupt on mismatch).
  virtual Result<void> adopt(const std::string& path, const std::string& sha256, std::uint64_t size,
                             Verify verify) = 0;
  // Deletes the blob; true when it existed, false when it was already absent.
  virtual Result<bool> remove(const std::string& sha256) = 0;
  // Every stored digest (unordered).
  virtual Result<std::vector<std::string>> list() = 0;
  // Stores that copy blobs in from elsewhere: the copy of `sha256` in progress (started now when
  // the blob is stored elsewhere but not here), to be read while it grows; nullptr when the blob
  // can be open()ed at once (or the store copies nothing). Errc::not_found when absent.
  virtual Result<std::shared_ptr<Filling>> filling(const std::string& sha256);
};

// Validates a digest string (64 lowercase hex).
Result<void> check_digest(std::string_view sha256);

class DiskStore final : public BlobStore {
 public:
  // Creates `<root>/sha256` and `<root>/tmp` when missing.
  static Result<std::unique_ptr<DiskStore>> open_at(std::string root);
  Result<std::optional<std::uint64_t>> stat(const std::string& sha256) override;
  Result<Blob> open(const std::string& sha256) override;
  Result<std::string> put(std::string_view data) override;
  Result<void> adopt(const std::string& path, const std::string& sha256, std::uint64_t size, Verify verify) override;
  Result<bool> remove(const std::string& sha256) override;
  Result<std::vector<std::string>> list() override;
  // Where a digest lives (whether or not present).
  std::string path_of(const std::string& sha256) const;
  // Scratch folder on the same filesystem (for spooled uploads that will be adopted).
  std::string tmp_dir() const { return root_ + "/tmp"; }

 private:
  explicit DiskStore(std::string root) : root_(std::move(root)) {}
  std::string root_;
};

class MemoryStore final : public BlobStore {
 public:
  Result<std::optional<std::uint64_t>> stat(const std::string& sha256) override;
  Result<Blob> open(const std::string& sha256) override;
  Result<std::string> put(std::string_view data) override;
  Result<void> adopt(const std::string& path, const std::string& sha256, std::uint64_t size, Verify verify) override;
  Result<bool> remove(const std::string& sha256) override;
  Result<std::vector<std::string>> list() override;
  std::size_t count() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<const std::string>> blobs_;
};

// Fails operations on demand: each counter, while > 0, makes the next matching call fail with
// Errc::io (and is decremented). `fail_all` makes every call fail.
class FaultyStore final : public BlobStore {
 public:
  explicit FaultyStore(BlobStore& inner) : inner_(inner) {}
  std::atomic<int> fail_puts{0}, fail_opens{0}, fail_stats{0}, fail_removes{0};
  std::atomic<bool> fail_all{false};
  Result<std::optional<std::uint64_t>> stat(const std::string& sha256) override;
  Result<Blob> open(const std::string& sha256) override;
  Result<std::string> put(std::string_view data) override;
  Result<void> adopt(const std::string& path, const std::string& sha256, std::uint64_t size, Verify verify) override;
  Result<bool> remove(const std::string& sha256) override;
  Result<std::vector<std::string>> list() override;

 private:
  bool trip(std::atomic<int>& counter);
  BlobStore& inner_;
};

// SHA-256 (hex) of a file's content, streamed.
Result<std::string> sha256_file(const std::string& path, std::uint64_t* size_out = nullptr);

}  // namespace hubgate::store
