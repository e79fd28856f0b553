// HotCopies: plain reads from whole-file copies or from the chunk store, and the copy budget.
//
// Plain read from chunks: a ChunkProducer walks [first, first + length) in `read_window` steps;
// each step is one ChunkStore::read_pieces run on the worker pool, so no event-loop thread blocks
// on disk or decompression. Records stored as they are (no compression: most weights) become
// slices of the xorb files that the server sends with sendfile(2), like a whole-file copy — no
// byte passes through user space; compressed records are read and decoded. One window is
// planned ahead while the previous one is being sent, so at most two windows of decoded bytes
// per response are in memory. A failed read is delivered as an error chunk: the server closes the connection
// and the client sees a short body.
//
// Budget: a mutex-protected store::CopyLru holds the tracked copies; victims are taken under the
// lock and removed from the blob store outside it, each only after re-checking that the chunk
// store still has the file (never the only representation). Re-materialization runs on one
// background thread (a bounded queue, single flight per object): reconstruct in 16 MiB windows
// into a temporary file while hashing, adopt it only when the sha256 matches, then admit it.
#include "cas/hot_copies.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <atomic>
#include <condition_variable>
#include <ctime>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <functional>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>
#include <vector>

#include "cas/cas.hpp"
#include "crypto/sha.hpp"
#include "store/copy_lru.hpp"
#include "util/atomic_file.hpp"
#include "util/hex.hpp"
#include "xet/chunk_store.hpp"

namespace hubgate::cas {

namespace {

// A fixed set of threads running posted jobs in order; the destructor runs what is queued, then joins.
class Pool {
 public:
  explicit Pool(unsigned n) {
    for (unsigned i = 0; i < std::max(1u, n); ++i) threads_.emplace_back([this] { run(); });
  }
  ~Pool() {
    {
      std::lock_guard lk(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }
  void post(std::function<void()> job) {
    {
      std::lock_guard lk(mu_);
      jobs_.push_back(std::move(job));
    }
    cv_.notify_one();
  }

 private:
  void run() {
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock lk(mu_);
        cv_.wait(lk, [&] { return stop_ || !jobs_.empty(); });
        if (jobs_.empty()) return;
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      job();
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

std::int64_t now_s() { return std::int64_t(std::time(nullptr)); }

}  // namespace

struct HotCopies::Impl {
  HotCopiesOptions opts;
  Service& xet;
  store::BlobStore& store;

  mutable std::mutex mu;
  store::CopyLru lru;
  std::unordered_map<std::string, std::int64_t> persisted;  // sha256 -> last mtime update we made

  std::atomic<std::uint64_t> evicted{0}, evicted_bytes{0}, remove_errors{0};
  std::atomic<std::uint64_t> reads_copy{0}, reads_chunks{0}, bytes_copy{0}, bytes_chunks{0}, chunk_read_errors{0};
  std::atomic<std::uint64_t> materialized{0}, materialize_errors{0};
  std::atomic<std::uint64_t> seq{0};  // temp file names

  // Background re-materialization.
  std::mutex bg_mu;
  std::condition_variable bg_cv;
  std::set<std::string> bg_pending;  // queued or running
  std::unique_ptr<Pool> bg;          // one thread
  std::unique_ptr<Pool> readers;     // read_threads

  Impl(HotCopiesOptions o, Service& x, store::BlobStore& s) : opts(std::move(o)), xet(x), store(s), lru(opts.max_bytes) {}

  // The copy may be removed: the chunk store rebuilds exactly these bytes.
  bool evictable(const std::string& sha, std::uint64_t size) const {
    auto rec = xet.file_for_sha256(sha);
    return rec && rec->size == size && size > 0;
  }

  void enforce() {
    std::vector<std::pair<std::string, std::uint64_t>> victims;
    {
      std::lock_guard lk(mu);
      victims = lru.take_victims();
      for (const auto& v : victims) persisted.erase(v.first);
    }
    for (const auto& [sha, size] : victims) remove_copy(sha, size);
  }

  // Removes a copy the chunk store can rebuild (never the only representation), counted as evicted.
  void remove_copy(const std::string& sha, std::uint64_t size) {
    if (!evictable(sha, size)) return;
    auto r = store.remove(sha);
    if (!r) {
      ++remove_errors;
      std::fprintf(stderr, "hubgate: hot copies: cannot remove %s: %s\n", sha.c_str(), r.error().message.c_str());
    } else if (*r) {
      ++evicted;
      evicted_bytes += size;
    }
  }

  void track(const std::string& sha) {
    auto have = store.stat(sha);
    if (!have || !*have || !evictable(sha, **have)) return;
    {
      std::lock_guard lk(mu);
      lru.insert(sha, **have);
    }
    enforce();
  }

  void used(const std::string& sha, const std::string& path) {
    bool persist = false;
    {
      std::lock_guard lk(mu);
      if (!lru.touch(sha)) return;
      auto& last = persisted[sha];
      std::int64_t now = now_s();
      if (now - last >= opts.persist_interval_s) {
        last = now;
        persist = true;
      }
    }
    if (persist && !path.empty()) ::utimensat(AT_FDCWD, path.c_str(), nullptr, 0);  // mtime = now
  }

  // Reconstructs the object into a temp file while hashing; its path when the sha256 matches.
  Result<std::string> reconstruct(const std::string& sha, const xet::FileRecord& rec) {
    std::string dest = opts.tmp_dir + "/hot-" + sha + "." + std::to_string(++seq);  // unique per call
    HG_TRY(auto out, AtomicFile::create(dest));
    crypto::Sha256 h;
    std::string buf;
    constexpr std::uint64_t kWindow = 16ull << 20;
    for (std::uint64_t off = 0; off < rec.size; off += kWindow) {
      buf.clear();
      HG_TRY_VOID(xet.chunks().read(rec, off, std::min(kWindow, rec.size - off), buf));
      h.update(buf);
      HG_TRY_VOID(out.write(buf));
    }
    auto d = h.final();
    if (to_hex(ByteView(d.data(), 32)) != sha)
      return fail(Errc::corrupt, "Xet file " + rec.file_hash.hex() + " does not reconstruct to sha256 " + sha);
    // Published under a private name for the caller to adopt (which fsyncs) or scan.
    HG_TRY_VOID(out.commit(AtomicFile::Durability::none));
    return dest;
  }

  void materialize(const std::string& sha) {
    auto rec = xet.file_for_sha256(sha);
    auto have = store.stat(sha);
    if (rec && have && !*have) {
      auto tmp = reconstruct(sha, *rec);
      if (!tmp) {
        ++materialize_errors;
        std::fprintf(stderr, "hubgate: hot copies: cannot rebuild %s: %s\n", sha.c_str(), tmp.error().message.c_str());
      } else if (auto a = store.adopt(*tmp, sha, rec->size, store::Verify::no); !a) {
        ++materialize_errors;
        ::unlink(tmp->c_str());
        std::fprintf(stderr, "hubgate: hot copies: cannot adopt %s: %s\n", sha.c_str(), a.error().message.c_str());
      } else {
        track(sha);      // admits the copy (evicting others over the budget) ...
        ++materialized;  // ... before the counter says it is done
      }
    }
    {
      std::lock_guard lk(bg_mu);
      bg_pending.erase(sha);
    }
    bg_cv.notify_all();
  }

  void schedule_materialize(const std::string& sha, std::uint64_t size) {
    if (!opts.rematerialize) return;
    {
      std::lock_guard lk(mu);
      if (!lru.fits(size)) return;
    }
    {
      std::lock_guard lk(bg_mu);
      if (bg_pending.count(sha) || bg_pending.size() >= 64) return;
      bg_pending.insert(sha);
    }
    bg->post([this, sha] { materialize(sha); });
  }
};

namespace {

// Streams bytes [first, first + length) of a Xet file from the chunk store (see the top).
class ChunkProducer final : public http::BodyProducer, public std::enable_shared_from_this<ChunkProducer> {
 public:
  ChunkProducer(HotCopies::Impl& m, xet::FileRecord rec, std::uint64_t first, std::uint64_t length)
      : m_(m), rec_(std::move(rec)), next_(first), left_(length) {}

  void pull(std::function<void(http::Chunk)> deliver) override {
    std::unique_lock lk(mu_);
    if (ready_) {
      http::Chunk c = std::move(*ready_);
      ready_.reset();
      lk.unlock();
      bool more = !c.end && !c.error;
      deliver(std::move(c));
      if (more) start();
      return;
    }
    waiting_ = std::move(deliver);
    lk.unlock();
    start();
  }

 private:
  void start() {
    {
      std::lock_guard lk(mu_);
      if (reading_ || ready_ || finished_) return;
      reading_ = true;
    }
    m_.readers->post([self = shared_from_this()] { self->read_next(); });
  }

  // Bytes [next_, next_ + n) as the chunk's parts: slices of the xorb files for records stored
  // as they are (sent with sendfile), decoded bytes for the others.
  Result<void> read_window(std::uint64_t n, http::Chunk& c) {
    std::vector<xet::ReadPiece> pieces;
    HG_TRY_VOID(m_.xet.chunks().read_pieces(rec_, next_, n, pieces));
    for (auto& p : pieces) {
      if (p.path.empty()) {
        c.parts.emplace_back(std::move(p.bytes));
        continue;
      }
      if (p.path != open_path_) {
        HG_TRY(open_file_, http::FileHandle::open(p.path));
        open_path_ = p.path;
      }
      c.parts.emplace_back(http::FileBody{open_file_, p.offset, p.length});
    }
    return {};
  }

  void read_next() {
    http::Chunk c;
    std::uint64_t n = std::min(m_.opts.read_window, left_);
    if (n > 0) {
      if (auto r = read_window(n, c); !r) {
        c.parts.clear();
        c.error = r.error();
        ++m_.chunk_read_errors;
        std::fprintf(stderr, "hubgate: plain read of Xet file %s from chunks failed: %s\n", rec_.file_hash.hex().c_str(),
                     r.error().message.c_str());
      } else {
        next_ += n;
        left_ -= n;
        m_.bytes_chunks += n;
      }
    }
    if (!c.error && left_ == 0) c.end = true;
    const bool more = !c.end && !c.error;
    std::function<void(http::Chunk)> d;
    {
      std::lock_guard lk(mu_);
      reading_ = false;
      if (!more) finished_ = true;
      if (waiting_) {
        d = std::move(waiting_);
        waiting_ = nullptr;
      } else {
        ready_ = std::move(c);
      }
    }
    if (d) {
      d(std::move(c));
      if (more) start();
    }
  }

  HotCopies::Impl& m_;
  xet::FileRecord rec_;
  std::uint64_t next_, left_;  // touched only by the one running read
  std::string open_path_;      // the xorb file of the last slice, kept open across windows
  std::shared_ptr<http::FileHandle> open_file_;
  std::mutex mu_;
  bool reading_ = false, finished_ = false;
  std::optional<http::Chunk> ready_;
  std::function<void(http::Chunk)> waiting_;
};

// Bytes [next, end) of a blob being copied in (store::Filling): each pull hands over what has
// landed as a slice of the file (sendfile), or waits for progress without blocking a thread.
// A failed copy ends the body with an error (the connection is closed short).
class FillingProducer final : public http::BodyProducer, public std::enable_shared_from_this<FillingProducer> {
 public:
  FillingProducer(std::shared_ptr<store::Filling> f, std::shared_ptr<http::FileHandle> fh, std::uint64_t first, std::uint64_t length)
      : f_(std::move(f)), fh_(std::move(fh)), next_(first), end_(first + length) {}

  void pull(std::function<void(http::Chunk)> deliver) override {
    http::Chunk c;
    if (next_ >= end_) {
      c.end = true;
      deliver(std::move(c));
      return;
    }
    auto avail = f_->available();
    if (!avail) {
      c.error = avail.error();
      deliver(std::move(c));
      return;
    }
    if (*avail > next_) {
      std::uint64_t n = std::min(*avail, end_) - next_;
      c.file = http::FileBody{fh_, next_, n};
      next_ += n;
      c.end = next_ == end_;
      deliver(std::move(c));
      return;
    }
    f_->on_progress(next_, [self = shared_from_this(), d = std::move(deliver)]() mutable { self->pull(std::move(d)); });
  }

 private:
  std::shared_ptr<store::Filling> f_;
  std::shared_ptr<http::FileHandle> fh_;
  std::uint64_t next_, end_;
};

}  // namespace

Result<std::shared_ptr<http::BodyProducer>> filling_body(std::shared_ptr<store::Filling> f, std::uint64_t first, std::uint64_t length) {
  int fd = ::dup(f->fd());
  if (fd < 0) return fail(os_error("dup", "blob copy", errno));
  auto fh = std::make_shared<http::FileHandle>(fd);
  return std::shared_ptr<http::BodyProducer>(std::make_shared<FillingProducer>(std::move(f), std::move(fh), first, length));
}

HotCopies::HotCopies(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HotCopies::~HotCopies() {
  impl_->bg.reset();       // finishes queued re-materializations
  impl_->readers.reset();
}

Result<std::unique_ptr<HotCopies>> HotCopies::open(HotCopiesOptions opts, Service& xet, store::BlobStore& store) {
  if (opts.tmp_dir.empty()) return fail(Errc::invalid_argument, "hot copies: no scratch folder given");
  if (opts.read_window == 0) return fail(Errc::invalid_argument, "hot copies: read window must be > 0");
  HG_TRY_VOID(make_dirs(opts.tmp_dir));
  {  // leftovers of a crash
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(opts.tmp_dir, ec))
      if (e.path().filename().string().starts_with("hot-")) std::filesystem::remove(e.path(), ec);
  }
  auto impl = std::make_unique<Impl>(std::move(opts), xet, store);
  // Existing copies of Xet-backed files, oldest use (mtime) first.
  std::vector<std::string> digests;
  if (impl->opts.scan_store) {
    HG_TRY(auto listed, store.list());
    digests = std::move(listed);
  }
  struct Found {
    std::int64_t mtime;
    std::string sha;
    std::uint64_t size;
  };
  std::vector<Found> found;
  for (auto& d : digests) {
    auto b = store.open(d);
    if (!b || !impl->evictable(d, b->size)) continue;
    std::int64_t mtime = 0;
    struct stat st {};
    if (!b->path.empty() && ::stat(b->path.c_str(), &st) == 0) mtime = std::int64_t(st.st_mtim.tv_sec);
    found.push_back({mtime, d, b->size});
  }
  std::sort(found.begin(), found.end(), [](const Found& a, const Found& b) { return a.mtime < b.mtime; });
  for (const auto& f : found) impl->lru.insert(f.sha, f.size);
  impl->enforce();
  impl->bg = std::make_unique<Pool>(1);
  impl->readers = std::make_unique<Pool>(impl->opts.read_threads);
  return std::unique_ptr<HotCopies>(new HotCopies(std::move(impl)));
}

Result<HotCopies::Body> HotCopies::body(const std::string& sha, std::uint64_t size, std::uint64_t first, std::uint64_t length,
                                        bool probe) {
  Impl& m = *impl_;
  // Cluster mode: a blob without a local copy streams to the client while it is copied in.
  auto fl = m.store.filling(sha);
  if (!fl && fl.error().code != Errc::not_found) return fail(fl.error());
  if (fl && *fl) {
    if ((*fl)->size() != size)
      return fail(Errc::corrupt, "stored copy of " + sha + " has " + std::to_string((*fl)->size()) + " bytes, expected " + std::to_string(size));
    HG_TRY(auto producer, filling_body(*fl, first, length));
    Body b;
    b.body = std::move(producer);
    return b;
  }
  auto blob = m.store.open(sha);
  if (blob) {
    if (blob->size != size)
      return fail(Errc::corrupt, "stored copy of " + sha + " has " + std::to_string(blob->size) + " bytes, expected " + std::to_string(size));
    Body b;
    if (blob->data) {
      b.body = blob->data->substr(std::size_t(first), std::size_t(length));
    } else {
      auto fh = http::FileHandle::open(blob->path);
      if (!fh && fh.error().code != Errc::not_found) return fail(fh.error());
      if (fh) b.body = http::FileBody{*fh, first, length};
      if (!fh) blob = fail(Errc::not_found, "removed");  // evicted between stat and open: use the chunks
    }
    if (blob) {
      if (!probe) {
        ++m.reads_copy;
        m.bytes_copy += length;
        m.used(sha, blob->path);
      }
      return b;
    }
  } else if (blob.error().code != Errc::not_found) {
    return fail(blob.error());
  }
  auto rec = m.xet.file_for_sha256(sha);
  if (!rec || rec->size != size) return fail(Errc::not_found, "no stored copy and no Xet file for " + sha);
  if (!probe) {
    ++m.reads_chunks;
    m.schedule_materialize(sha, size);
  }
  Body b;
  b.body = std::shared_ptr<http::BodyProducer>(std::make_shared<ChunkProducer>(m, std::move(*rec), first, length));
  b.from_chunks = true;
  return b;
}

void HotCopies::admit(const std::string& sha) {
  if (!is_lower_hex(sha, 64)) return;
  Impl& m = *impl_;
  if (m.opts.max_bytes) {  // a bounded cache: filled by plain reads, not by commits
    {
      std::lock_guard lk(m.mu);
      if (m.lru.contains(sha)) return;  // already a cached copy that plain reads filled: keep it
    }
    if (auto have = m.store.stat(sha); have && *have) m.remove_copy(sha, **have);
    return;
  }
  m.track(sha);
}

void HotCopies::forget(const std::string& sha) {
  std::lock_guard lk(impl_->mu);
  impl_->lru.erase(sha);
  impl_->persisted.erase(sha);
}

Result<std::string> HotCopies::temp_copy(const std::string& sha) {
  auto rec = impl_->xet.file_for_sha256(sha);
  if (!rec) return fail(Errc::not_found, "no Xet file for " + sha);
  return impl_->reconstruct(sha, *rec);
}

void HotCopies::wait_idle() {
  std::unique_lock lk(impl_->bg_mu);
  impl_->bg_cv.wait(lk, [&] { return impl_->bg_pending.empty(); });
}

std::string HotCopies::metrics_text() const {
  const Impl& m = *impl_;
  std::uint64_t bytes = 0, count = 0;
  {
    std::lock_guard lk(m.mu);
    bytes = m.lru.bytes();
    count = m.lru.count();
  }
  std::string t;
  auto line = [&](const std::string& name, const std::string& labels, std::uint64_t v) {
    t += name + (labels.empty() ? "" : "{" + labels + "}") + " " + std::to_string(v) + "\n";
  };
  t += "# TYPE hubgate_hot_copy_bytes gauge\n";
  line("hubgate_hot_copy_bytes", "", bytes);
  line("hubgate_hot_copies", "", count);
  if (m.opts.max_bytes) line("hubgate_hot_copy_budget_bytes", "", *m.opts.max_bytes);
  t += "# TYPE hubgate_hot_copies_evicted_total counter\n";
  line("hubgate_hot_copies_evicted_total", "", m.evicted);
  line("hubgate_hot_copy_evicted_bytes_total", "", m.evicted_bytes);
  line("hubgate_hot_copy_remove_errors_total", "", m.remove_errors);
  line("hubgate_hot_copies_materialized_total", "", m.materialized);
  line("hubgate_hot_copy_materialize_errors_total", "", m.materialize_errors);
  t += "# TYPE hubgate_plain_reads_total counter\n";
  line("hubgate_plain_reads_total", "source=\"copy\"", m.reads_copy);
  line("hubgate_plain_reads_total", "source=\"chunks\"", m.reads_chunks);
  line("hubgate_plain_read_bytes_total", "source=\"copy\"", m.bytes_copy);
  line("hubgate_plain_read_bytes_total", "source=\"chunks\"", m.bytes_chunks);
  line("hubgate_plain_read_chunk_errors_total", "", m.chunk_read_errors);
  return t;
}

}  // namespace hubgate::cas
