// S3Store: local DiskStore copies in front of S3Client. A miss starts one Copy per blob: a
// thread streams the object into an AtomicFile next to its final place, hashing as it goes,
// publishing progress to readers (store::Filling), and renames it in only after the digest
// matched (no fsync: a local copy that a crash loses is fetched again). open() waits for the
// copy; filling() hands it out at once. Eviction removes the local copy only.
#include "store/s3_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <thread>
#include <tuple>

#include "crypto/sha.hpp"
#include "util/atomic_file.hpp"
#include "util/hex.hpp"

namespace hubgate::store {

namespace {
constexpr const char* kNs = "blob";
constexpr std::uint64_t kPublishStep = 1 << 20;
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

// One local copy in progress: the object streamed into an AtomicFile by its own thread;
// readers follow `avail` (never the last byte before the hash check).
class S3Store::Copy final : public Filling {
 public:
  Copy(std::uint64_t size, int fd) : size_(size), fd_(fd) {}
  ~Copy() override { ::close(fd_); }
  std::uint64_t size() const override { return size_; }
  int fd() const override { return fd_; }
  Result<std::uint64_t> available() const override {
    std::lock_guard lk(mu_);
    if (err_) return fail(*err_);
    return avail_;
  }
  void on_progress(std::uint64_t have, std::function<void()> cb) override {
    {
      std::lock_guard lk(mu_);
      if (!(avail_ > have || done_)) {
        waiters_.emplace_back(have, std::move(cb));
        return;
      }
    }
    cb();
  }
  void advance(std::uint64_t n) {
    std::vector<std::function<void()>> run;
    {
      std::lock_guard lk(mu_);
      avail_ = n;
      for (auto it = waiters_.begin(); it != waiters_.end();) {
        if (it->first < avail_) {
          run.push_back(std::move(it->second));
          it = waiters_.erase(it);
        } else {
          ++it;
        }
      }
    }
    for (auto& f : run) f();
  }
  void finish(std::optional<Error> err) {
    std::vector<std::pair<std::uint64_t, std::function<void()>>> run;
    {
      std::lock_guard lk(mu_);
      done_ = true;
      if (err) err_ = std::move(err);
      else avail_ = size_;
      run.swap(waiters_);
    }
    cv_.notify_all();
    for (auto& [h, f] : run) f();
  }
  Result<void> wait() {
    std::unique_lock lk(mu_);
    cv_.wait(lk, [&] { return done_; });
    if (err_) return fail(*err_);
    return {};
  }

 private:
  const std::uint64_t size_;
  const int fd_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::uint64_t avail_ = 0;
  bool done_ = false;
  std::optional<Error> err_;
  std::vector<std::pair<std::uint64_t, std::function<void()>>> waiters_;
};

S3Store::~S3Store() {
  std::unique_lock lk(copies_mu_);
  copies_cv_.wait(lk, [&] { return running_ == 0; });
}

Result<std::shared_ptr<S3Store::Copy>> S3Store::start_copy(const std::string& d) {
  {
    std::lock_guard lk(copies_mu_);
    if (auto it = copies_.find(d); it != copies_.end()) return it->second;
  }
  HG_TRY(auto here, local_->stat(d));
  if (here) return std::shared_ptr<Copy>();
  HG_TRY(auto size, client_->head(key_of(d)));
  if (!size) return fail(Errc::not_found, "blob " + d + " is not stored");
  HG_TRY(auto f, AtomicFile::create(local_->path_of(d)));
  int rfd = ::open(f.temp_path().c_str(), O_RDONLY | O_CLOEXEC);
  if (rfd < 0) return fail(os_error("open", f.temp_path(), errno));
  auto copy = std::make_shared<Copy>(*size, rfd);
  {
    std::lock_guard lk(copies_mu_);
    if (auto it = copies_.find(d); it != copies_.end()) return it->second;  // another request won
    copies_.emplace(d, copy);
    ++running_;
  }
  ++misses_;
  std::thread([this, d, copy, file = std::move(f)]() mutable {
    std::optional<Error> err;
    crypto::Sha256 h;
    std::uint64_t got = 0, published = 0;
    const std::uint64_t size = copy->size();
    S3Client::Sink sink = [&](std::string_view bytes) -> Result<void> {
      if (got + bytes.size() > size) return fail(Errc::corrupt, "object store copy of blob " + d + " is longer than its HEAD said");
      h.update(bytes);
      HG_TRY_VOID(file.write(bytes));
      got += bytes.size();
      if (got - published >= kPublishStep) {  // wake readers per MiB, not per network read
        published = got;
        copy->advance(std::min(got, size > 0 ? size - 1 : 0));  // the last byte waits for the hash
      }
      return {};
    };
    if (auto r = client_->get(key_of(d), sink); !r) {
      err = r.error();
    } else if (got != size) {
      err = Error(Errc::corrupt, "object store copy of blob " + d + " has " + std::to_string(got) + " bytes, expected " + std::to_string(size));
    } else if (std::string sum = to_hex(h.final()); sum != d) {
      err = Error(Errc::corrupt, "object store copy of blob " + d + " hashes to " + sum);
    } else if (auto c = file.commit(AtomicFile::Durability::none); !c) {
      err = c.error();
    }
    if (err) {
      file.abandon();
    } else {
      fetched_bytes_ += size;
      cache_->insert(kNs, d, size);
    }
    copy->finish(err);
    std::lock_guard lk(copies_mu_);
    copies_.erase(d);
    --running_;
    copies_cv_.notify_all();
  }).detach();
  return copy;
}

Result<std::shared_ptr<Filling>> S3Store::filling(const std::string& d) {
  HG_TRY_VOID(check_digest(d));
  HG_TRY(auto copy, start_copy(d));
  return std::shared_ptr<Filling>(std::move(copy));
}

Result<Blob> S3Store::open(const std::string& d) {
  HG_TRY_VOID(check_digest(d));
  if (auto b = local_->open(d); b) {
    ++hits_;
    cache_->touch(kNs, d);
    return b;
  }
  HG_TRY(auto copy, start_copy(d));
  if (copy) HG_TRY_VOID(copy->wait());
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
