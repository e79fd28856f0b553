// S3ObjectStore: local LocalObjectStore copies in front of store::S3Client. Writes go through a
// local temporary file that is uploaded from disk before (for put/put_parts: right after) it is
// published locally; a failed upload removes the local copy again, so no local copy exists
// without its original. Misses stream the whole object into an AtomicFile and rename it in when
// the transfer delivered every byte the object store declared. Cache namespaces: "xorbs",
// "shards" (eviction removes the local copy only).
#include "xet/s3_object_store.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <tuple>

#include "util/atomic_file.hpp"
#include "util/hex.hpp"

namespace hubgate::xet {

namespace {


// Writes into the local store's temporary file; commit publishes locally, then uploads.
class S3Writer final : public ObjectWriter {
 public:
  S3Writer(S3ObjectStore& s, ObjectKind kind, std::unique_ptr<ObjectWriter> inner) : s_(s), kind_(kind), inner_(std::move(inner)) {}
  Result<void> write(ByteView data) override { return inner_->write(data); }
  Result<bool> commit(const MerkleHash& key) override {
    HG_TRY(bool fresh, inner_->commit(key));
    if (!fresh) return false;  // a local copy exists: its original is in the object store
    return s_.upload_local(kind_, key);
  }

 private:
  S3ObjectStore& s_;
  ObjectKind kind_;
  std::unique_ptr<ObjectWriter> inner_;
};

}  // namespace

Result<std::unique_ptr<S3ObjectStore>> S3ObjectStore::open(std::shared_ptr<store::S3Client> client, S3ObjectStoreOptions opts) {
  HG_TRY(auto local, LocalObjectStore::open(opts.cache_dir));
  auto cache = opts.cache ? opts.cache : std::make_shared<store::NodeCache>(std::nullopt);
  std::unique_ptr<S3ObjectStore> s(new S3ObjectStore(std::move(client), std::move(local), std::move(cache)));
  std::vector<std::tuple<std::int64_t, std::string, std::string, std::uint64_t>> found;
  for (ObjectKind k : {ObjectKind::xorb, ObjectKind::shard}) {
    LocalObjectStore* l = s->local_.get();
    s->cache_->on_evict(object_kind_name(k), [l, k](const std::string& hex) {
      if (auto h = MerkleHash::from_hex(hex)) (void)l->remove(k, *h);
    });
    HG_TRY(auto have, s->local_->list(k));
    for (auto& h : have) {
      struct stat st {};
      if (::stat(s->local_->path_of(k, h).c_str(), &st) == 0)
        found.emplace_back(st.st_mtime, object_kind_name(k), h.hex(), std::uint64_t(st.st_size));
    }
  }
  std::sort(found.begin(), found.end());
  for (auto& [t, ns, hex, size] : found) s->cache_->insert(ns, hex, size);
  return s;
}

Result<bool> S3ObjectStore::upload_local(ObjectKind kind, const MerkleHash& key) {
  std::string path = local_->path_of(kind, key);
  auto up = client_->put_file_if_absent(key_of(kind, key), path);
  if (!up) {
    (void)local_->remove(kind, key);
    return fail(up.error());
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) cache_->insert(object_kind_name(kind), key.hex(), std::uint64_t(st.st_size));
  return *up;
}

Result<bool> S3ObjectStore::put(ObjectKind kind, const MerkleHash& key, ByteView data) {
  HG_TRY(auto here, local_->size(kind, key));
  if (here) return false;
  std::string_view bytes(reinterpret_cast<const char*>(data.data()), data.size());
  HG_TRY(bool created, client_->put_if_absent(key_of(kind, key), bytes));
  HG_TRY(bool fresh, local_->put(kind, key, data));
  if (fresh) cache_->insert(object_kind_name(kind), key.hex(), data.size());
  return created;
}

Result<bool> S3ObjectStore::put_parts(ObjectKind kind, const MerkleHash& key, std::span<const ByteView> parts) {
  HG_TRY(bool fresh, local_->put_parts(kind, key, parts));
  if (!fresh) return false;
  return upload_local(kind, key);
}

Result<std::unique_ptr<ObjectWriter>> S3ObjectStore::writer(ObjectKind kind) {
  HG_TRY(auto inner, local_->writer(kind));
  return std::unique_ptr<ObjectWriter>(new S3Writer(*this, kind, std::move(inner)));
}

Result<void> S3ObjectStore::ensure_local(ObjectKind kind, const MerkleHash& key) {
  HG_TRY(auto here, local_->size(kind, key));
  if (here) {
    ++hits_;
    cache_->touch(object_kind_name(kind), key.hex());
    return {};
  }
  return flights_.run(key_of(kind, key), [&]() -> Result<void> {
    HG_TRY(auto again, local_->size(kind, key));
    if (again) return {};
    ++misses_;
    HG_TRY(auto f, AtomicFile::create(local_->path_of(kind, key)));
    store::S3Client::Sink sink = [&](std::string_view bytes) { return f.write(bytes); };
    HG_TRY_VOID(client_->get(key_of(kind, key), sink));
    std::uint64_t size = f.size();
    HG_TRY_VOID(f.commit(AtomicFile::Durability::none));
    fetched_bytes_ += size;
    cache_->insert(object_kind_name(kind), key.hex(), size);
    return {};
  });
}

Result<std::string> S3ObjectStore::get(ObjectKind kind, const MerkleHash& key) {
  HG_TRY_VOID(ensure_local(kind, key));
  return local_->get(kind, key);
}

Result<std::string> S3ObjectStore::get_range(ObjectKind kind, const MerkleHash& key, std::uint64_t offset, std::uint64_t length) {
  HG_TRY(auto here, local_->size(kind, key));
  if (here) {
    ++hits_;
    cache_->touch(object_kind_name(kind), key.hex());
    return local_->get_range(kind, key, offset, length);
  }
  ++ranged_reads_;
  if (length == 0) {
    HG_TRY(auto size, client_->head(key_of(kind, key)));
    if (!size) return fail(Errc::not_found, key_of(kind, key) + " not found");
    if (offset > *size) return fail(Errc::invalid_argument, "object range past the end");
    return std::string();
  }
  return client_->get_bytes(key_of(kind, key), offset, length);
}

Result<std::optional<std::uint64_t>> S3ObjectStore::size(ObjectKind kind, const MerkleHash& key) {
  HG_TRY(auto here, local_->size(kind, key));
  if (here) return here;
  return client_->head(key_of(kind, key));
}

Result<void> S3ObjectStore::remove(ObjectKind kind, const MerkleHash& key) {
  HG_TRY_VOID(client_->remove(key_of(kind, key)));
  HG_TRY_VOID(local_->remove(kind, key));
  cache_->erase(object_kind_name(kind), key.hex());
  return {};
}

Result<std::vector<MerkleHash>> S3ObjectStore::list(ObjectKind kind) {
  std::string prefix = std::string("xet/") + object_kind_name(kind) + "/";
  HG_TRY(auto objs, client_->list(prefix));
  std::vector<MerkleHash> out;
  for (auto& o : objs) {
    std::string hex = o.key.substr(prefix.size());
    if (!is_lower_hex(hex, 64)) continue;
    if (auto h = MerkleHash::from_hex(hex)) out.push_back(*h);
  }
  return out;
}

Result<std::string> S3ObjectStore::local_file(ObjectKind kind, const MerkleHash& key) {
  HG_TRY_VOID(ensure_local(kind, key));
  return local_->path_of(kind, key);
}

}  // namespace hubgate::xet
