// xet::S3ObjectStore: the ObjectStore of cluster mode — xorbs and shards live in an
// S3-compatible object store (keys `<prefix>/xet/xorbs/<hex>`, `<prefix>/xet/shards/<hex>`), and
// each node keeps local copies in a LocalObjectStore (its data dir's `xet/objects`) bounded by the
// node's store::NodeCache budget.
//
// Contract (ObjectStore's, plus): an object is in the object store before its local copy is
// visible, so a local copy always has a durable original and wiping the local folder loses
// nothing. put()/put_parts()/writer() write the local copy (a temporary file for streamed
// writes: never the whole object in memory), upload it with create-if-absent (in parts when
// large) and publish it locally only then. get()/local_file() serve the local copy, fetching the
// whole object once per node on a miss (SingleFlight); get_range() of an object without a local
// copy is a ranged GET. A store that cannot be reached gives Errc::unavailable. Thread-safe.
#pragma once

#include <atomic>
#include <memory>

#include "store/node_cache.hpp"
#include "store/s3_client.hpp"
#include "xet/object_store.hpp"

namespace hubgate::xet {

struct S3ObjectStoreOptions {
  std::string cache_dir;                     // root of the local LocalObjectStore (created)
  std::shared_ptr<store::NodeCache> cache;   // the node's budget; null: a private unbounded one
};

class S3ObjectStore final : public ObjectStore {
 public:
  static Result<std::unique_ptr<S3ObjectStore>> open(std::shared_ptr<store::S3Client> client, S3ObjectStoreOptions opts);
  Result<bool> put(ObjectKind kind, const MerkleHash& key, ByteView data) override;
  Result<bool> put_parts(ObjectKind kind, const MerkleHash& key, std::span<const ByteView> parts) override;
  Result<std::unique_ptr<ObjectWriter>> writer(ObjectKind kind) override;
  Result<std::string> get(ObjectKind kind, const MerkleHash& key) override;
  Result<std::string> get_range(ObjectKind kind, const MerkleHash& key, std::uint64_t offset, std::uint64_t length) override;
  Result<std::optional<std::uint64_t>> size(ObjectKind kind, const MerkleHash& key) override;
  Result<void> remove(ObjectKind kind, const MerkleHash& key) override;
  Result<std::vector<MerkleHash>> list(ObjectKind kind) override;
  Result<std::string> local_file(ObjectKind kind, const MerkleHash& key) override;

  static std::string key_of(ObjectKind kind, const MerkleHash& key) {
    return std::string("xet/") + object_kind_name(kind) + "/" + key.hex();
  }
  LocalObjectStore& local() { return *local_; }
  // Called by writers: uploads the published local copy, removing it again when that fails.
  Result<bool> upload_local(ObjectKind kind, const MerkleHash& key);

  struct Stats {
    std::uint64_t hits = 0, misses = 0, fetched_bytes = 0, ranged_reads = 0;
  };
  Stats stats() const { return {hits_, misses_, fetched_bytes_, ranged_reads_}; }

 private:
  S3ObjectStore(std::shared_ptr<store::S3Client> c, std::unique_ptr<LocalObjectStore> l, std::shared_ptr<store::NodeCache> cache)
      : client_(std::move(c)), local_(std::move(l)), cache_(std::move(cache)) {}
  Result<void> ensure_local(ObjectKind kind, const MerkleHash& key);
  std::shared_ptr<store::S3Client> client_;
  std::unique_ptr<LocalObjectStore> local_;
  std::shared_ptr<store::NodeCache> cache_;
  store::SingleFlight flights_;
  std::atomic<std::uint64_t> hits_{0}, misses_{0}, fetched_bytes_{0}, ranged_reads_{0};
};

}  // namespace hubgate::xet
