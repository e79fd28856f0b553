// Digest-keyed object storage for the Xet chunk store: xorbs and shards, addressed by a
// MerkleHash, in a small narrow interface (so the server's `store/` can adapt it later).
//
// Contract for every implementation:
//  - put() is atomic and durable: the object becomes visible to get()/list() only complete and
//    (for disk) fsynced; a failed put leaves nothing visible. Putting an existing key is a no-op
//    that returns false (content addressing makes the bytes equal).
//  - get_range() reads [offset, offset+length) and fails (Errc::invalid_argument) past the end.
//  - Thread-safe: implementations may be called from several threads.
//
// Implementations: `LocalObjectStore` (fan-out folders root/<kind>/<h[0:2]>/<h[2:4]>/<hex>, written
// with AtomicFile), `MemoryObjectStore`, and `FaultyObjectStore` (wraps another; injects failures
// and counts reads, for tests).
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "util/byte_reader.hpp"
#include "util/error.hpp"
#include "xet/hash.hpp"

namespace hubgate::xet {

// Object namespaces; the names are folder names on disk (persisted: do not rename).
enum class ObjectKind : std::uint8_t { xorb = 0, shard = 1 };
const char* object_kind_name(ObjectKind k);

// A put whose bytes arrive in pieces and whose key is known only at the end (a xorb being
// packed: its hash is the merkle root of chunks still to come). commit() has put()'s contract;
// a writer destroyed without commit() leaves nothing visible.
class ObjectWriter {
 public:
  virtual ~ObjectWriter() = default;
  virtual Result<void> write(ByteView data) = 0;
  // true if stored now, false if the key already existed. At most once.
  virtual Result<bool> commit(const MerkleHash& key) = 0;
};

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;
  // true if stored now, false if it already existed.
  virtual Result<bool> put(ObjectKind kind, const MerkleHash& key, ByteView data) = 0;
  // Stores the concatenation of `parts` (e.g. a received xorb and the footer computed for it)
  // with put()'s semantics. The default joins them in memory; stores that can write pieces
  // (LocalObjectStore) avoid that copy.
  virtual Result<bool> put_parts(ObjectKind kind, const MerkleHash& key, std::span<const ByteView> parts);
  // A streaming put. The default gathers the bytes in memory and put()s them at commit;
  // LocalObjectStore writes them to a temporary file as they come (no copy of the object is
  // kept, and the bytes go to the page cache while still hot).
  virtual Result<std::unique_ptr<ObjectWriter>> writer(ObjectKind kind);
  virtual Result<std::string> get(ObjectKind kind, const MerkleHash& key) = 0;  // Errc::not_found if absent
  virtual Result<std::string> get_range(ObjectKind kind, const MerkleHash& key, std::uint64_t offset, std::uint64_t length) = 0;
  virtual Result<std::optional<std::uint64_t>> size(ObjectKind kind, const MerkleHash& key) = 0;
  virtual Result<void> remove(ObjectKind kind, const MerkleHash& key) = 0;  // absent is not an error
  virtual Result<std::vector<MerkleHash>> list(ObjectKind kind) = 0;
  // The local file that holds a stored object, for stores that keep objects as files (readers
  // may then pread it or sendfile(2) slices of it); "" for stores that do not (the default).
  virtual std::string local_path(ObjectKind /*kind*/, const MerkleHash& /*key*/) const { return ""; }
  // A local file holding the whole object (served with sendfile): the object's own file, or for
  // stores that keep objects elsewhere (S3ObjectStore) the node's cached copy, fetched first.
  // Errc::not_found when absent; Errc::unsupported for stores without files (memory).
  virtual Result<std::string> local_file(ObjectKind kind, const MerkleHash& key);
};

class LocalObjectStore final : public ObjectStore {
 public:
  // Creates `root` if needed. Stale temporaries from a crash are ignored by list().
  static Result<std::unique_ptr<LocalObjectStore>> open(std::string root);
  Result<bool> put(ObjectKind kind, const MerkleHash& key, ByteView data) override;
  Result<bool> put_parts(ObjectKind kind, const MerkleHash& key, std::span<const ByteView> parts) override;
  Result<std::unique_ptr<ObjectWriter>> writer(ObjectKind kind) override;
  Result<std::string> get(ObjectKind kind, const MerkleHash& key) override;
  Result<std::string> get_range(ObjectKind kind, const MerkleHash& key, std::uint64_t offset, std::uint64_t length) override;
  Result<std::optional<std::uint64_t>> size(ObjectKind kind, const MerkleHash& key) override;
  Result<void> remove(ObjectKind kind, const MerkleHash& key) override;
  Result<std::vector<MerkleHash>> list(ObjectKind kind) override;
  Result<std::string> local_file(ObjectKind kind, const MerkleHash& key) override;
  std::string path_of(ObjectKind kind, const MerkleHash& key) const;
  std::string local_path(ObjectKind kind, const MerkleHash& key) const override { return path_of(kind, key); }

 private:
  explicit LocalObjectStore(std::string root) : root_(std::move(root)) {}
  std::string root_;
};

class MemoryObjectStore final : public ObjectStore {
 public:
  Result<bool> put(ObjectKind kind, const MerkleHash& key, ByteView data) override;
  Result<std::string> get(ObjectKind kind, const MerkleHash& key) override;
  Result<std::string> get_range(ObjectKind kind, const MerkleHash& key, std::uint64_t offset, std::uint64_t length) override;
  Result<std::optional<std::uint64_t>> size(ObjectKind kind, const MerkleHash& key) override;
  Result<void> remove(ObjectKind kind, const MerkleHash& key) override;
  Result<std::vector<MerkleHash>> list(ObjectKind kind) override;
  std::uint64_t total_bytes(ObjectKind kind) const;

 private:
  mutable std::mutex mu_;
  std::map<std::pair<ObjectKind, MerkleHash>, std::string> objects_;
};

// Wraps a store; fails operations on demand and counts what was read. Thread-safe.
class FaultyObjectStore final : public ObjectStore {
 public:
  explicit FaultyObjectStore(std::shared_ptr<ObjectStore> inner) : inner_(std::move(inner)) {}
  // The next `n` puts succeed, then every put fails (Errc::io) until reset (-1 = never fail).
  void fail_puts_after(std::int64_t n) { puts_left_ = n; }
  void fail_reads(bool on) { fail_reads_ = on; }
  std::uint64_t bytes_read() const { return bytes_read_; }
  std::uint64_t reads() const { return reads_; }
  void reset_counters() { bytes_read_ = 0; reads_ = 0; }

  Result<bool> put(ObjectKind kind, const MerkleHash& key, ByteView data) override;
  Result<std::string> get(ObjectKind kind, const MerkleHash& key) override;
  Result<std::string> get_range(ObjectKind kind, const MerkleHash& key, std::uint64_t offset, std::uint64_t length) override;
  Result<std::optional<std::uint64_t>> size(ObjectKind kind, const MerkleHash& key) override;
  Result<void> remove(ObjectKind kind, const MerkleHash& key) override;
  Result<std::vector<MerkleHash>> list(ObjectKind kind) override;

 private:
  std::shared_ptr<ObjectStore> inner_;
  std::atomic<std::int64_t> puts_left_{-1};
  std::atomic<bool> fail_reads_{false};
  std::atomic<std::uint64_t> bytes_read_{0}, reads_{0};
};

}  // namespace hubgate::xet
