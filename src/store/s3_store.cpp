// S3Store: local DiskStore copies in front of S3Client. A miss streams the object into an
// AtomicFile next to its final place, hashing as it goes, and renames it in only after the
// digest matched (no fsync: a local copy that a crash loses is fetched again). Eviction removes
// the local copy only.
#include "store/s3_store.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <tuple>

#include "crypto/sha.hpp"
#include "util/atomic_file.hpp"
#include "util/hex.hpp"

namespace hubgate::store {

namespace {
constexpr const char* kNs = "blob";
}

Result<std::unique_ptr<S3Store>> S3Store::open(std::shared_ptr<S3Client> client, S3StoreOptions opts) {
  HG_TRY(auto local, DiskStore::open_at(opts.cache_dir));
  auto cache = opts.cache ? opts.cache : std::make_shared<NodeCache>(std::nullopt);
  std::unique_ptr<S3Store> s(new S3Store(std::move(client), std::move(local), std::move(cache)));
  // Local copies from an earlier run count against the budget (oldest first by mtime).
  HG_TRY(auto have, s->local_->list());
  std::vector<std::tuple<std::int64_t, std::string, std::uint64_t>> found;
  for (auto& d : have) {
    struct stat st {};
    if (::stat(s->local_->path_of(d).c_str(), &st) == 0) found.emplace_back(st.st_mtime, d, std::uint64_t(st.st_size));
  }
  std::sort(found.begin(), found.end());
  DiskStore* l = s->local_.get();
  s->cache_->on_evict(kNs, [l](const std::string& d) { (void)l->remove(d); });
  for (auto& [t, d, size] : found) s->cache_->insert(kNs, d, size);
  return s;
}

Result<std::optional<std::uint64_t>> S3Store::stat(const std::string& d) {
  HG_TRY(auto here, local_->stat(d));
  if (here) return here;
  return client_->head(key_of(d));
}

Result<void> S3Store::fetch(const std::string& d) {
  HG_TRY(auto here, local_->stat(d));
  if (here) return {};  // another flight finished it
  ++misses_;
  HG_TRY(auto f, AtomicFile::create(local_->path_of(d)));
  crypto::Sha256 h;
  S3Client::Sink sink = [&](std::string_view bytes) -> Result<void> {
    h.update(bytes);
    return f.write(bytes);
  };
  HG_TRY_VOID(client_->get(key_of(d), sink));
  std::string got = to_hex(h.final());
  if (got != d) {
    f.abandon();
    return fail(Errc::corrupt, "object store copy of blob " + d + " hashes to " + got);
  }
  std::uint64_t size = f.size();
  HG_TRY_VOID(f.commit(AtomicFile::Durability::none));
  fetched_bytes_ += size;
  cache_->insert(kNs, d, size);
  return {};
}

Result<Blob> S3Store::open(const std::string& d) {
  HG_TRY_VOID(check_digest(d));
  if (auto b = local_->open(d); b) {
    ++hits_;
    cache_->touch(kNs, d);
    return b;
  }
  HG_TRY_VOID(flights_.run(d, [&] { return fetch(d); }));
  return local_->open(d);
}

Result<std::string> S3Store::put(std::string_view data) {
  std::string d = to_hex(crypto::sha256(data));
  HG_TRY(bool created, client_->put_if_absent(key_of(d), data, d));
  (void)created;
  HG_TRY(auto here, local_->stat(d));
  if (!here) {
    HG_TRY(auto stored, local_->put(data));
    (void)stored;
    cache_->insert(kNs, d, data.size());
  }
  return d;
}

Result<void> S3Store::adopt(const std::string& path, const std::string& d, std::uint64_t size, Verify verify) {
  if (auto r = check_digest(d); !r) {
    ::unlink(path.c_str());
    return r;
  }
  if (verify == Verify::yes) {
    std::uint64_t got_size = 0;
    auto got = sha256_file(path, &got_size);
    if (!got || *got != d || got_size != size) {
      ::unlink(path.c_str());
      if (!got) return fail(got.error());
      return fail(Errc::corrupt, "content hashes to " + *got + " (" + std::to_string(got_size) + " bytes), expected " + d +
                                     " (" + std::to_string(size) + " bytes)");
    }
  }
  if (auto up = client_->put_file_if_absent(key_of(d), path, d); !up) {
    ::unlink(path.c_str());
    return fail(up.error());
  }
  HG_TRY_VOID(local_->adopt(path, d, size, Verify::no));
  cache_->insert(kNs, d, size);
  return {};
}

Result<bool> S3Store::remove(const std::string& d) {
  HG_TRY_VOID(check_digest(d));
  HG_TRY(auto there, client_->head(key_of(d)));
  if (there) HG_TRY_VOID(client_->remove(key_of(d)));
  HG_TRY(bool here, local_->remove(d));
  cache_->erase(kNs, d);
  return there.has_value() || here;
}

Result<std::vector<std::string>> S3Store::list() {
  HG_TRY(auto objs, client_->list("blobs/"));
  std::vector<std::string> out;
  for (auto& o : objs) {
    std::string d = o.key.substr(6);
    if (is_lower_hex(d, 64)) out.push_back(std::move(d));
  }
  return out;
}

}  // namespace hubgate::store
