// Fill state machine and the single-flight registry.
//
// A fill runs on its own thread: transfer() loops over attempts, each streaming from the
// current offset into the AtomicFile and the hasher (so a resumed transfer continues the same
// hash), publishing `available` to readers in steps (every `publish_step` bytes, at each pause
// of the source, at the end of each attempt: each wake-up costs a reader a trip through the
// server's event loop). Bytes are staged in 128 KiB blocks; each block is written by the fill
// thread and then hashed by a second thread from the same memory (HashPipe), so receiving and
// hashing overlap (a hasher reading the file back cost more than it saved). Then size and
// hash are compared with the declaration; publish() commits the temporary file into the cache. The fill leaves the
// registry *before* readers learn the final state, so a reader that sees `failed` and retries
// starts a fresh fill instead of joining the dead one; a reader that raced with publication
// finds the entry in the cache (acquire() checks the cache under the registry lock).
#include "upstream/fill.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <deque>
#include <thread>
#include <variant>
#include <vector>

#include "crypto/sha.hpp"
#include "util/hex.hpp"

namespace hubgate::upstream {

// ---------------------------------------------------------------- security gate: early release

namespace {
// How many bytes of a fill readers may see before the verdict (FillGate::early): all that
// arrived once the format is known to stream, none while it is held or still being classified.
// A held file larger than FillGate::verdict_min_size then goes through the early verdict
// (FillGate::verdict_early) on growing prefixes; a block is kept in `refusal`.
class EarlyGate {
 public:
  EarlyGate(const FillGate& g, const FillSpec& spec, std::function<void()> mark_early, RangeRead read)
      : g_(g), spec_(spec), mark_(std::move(mark_early)), read_(std::move(read)),
        state_(g.early ? EarlyRelease::need_more : EarlyRelease::stream) {}
  std::uint64_t releasable(ByteView chunk, std::uint64_t offset_after) {
    if (state_ == EarlyRelease::need_more) {
      std::size_t take = std::min(chunk.size(), g_.max_prefix - prefix_.size());
      prefix_.insert(prefix_.end(), chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(take));
      state_ = g_.early(ByteView(prefix_.data(), prefix_.size()), spec_.size);
      if (state_ == EarlyRelease::need_more && (prefix_.size() >= g_.max_prefix || offset_after >= spec_.size))
        state_ = EarlyRelease::hold;
      if (state_ == EarlyRelease::hold && g_.verdict_early && spec_.size > g_.verdict_min_size) {
        judging_ = true;
        next_call_ = 0;  // at once
      } else if (state_ != EarlyRelease::need_more) {
        std::vector<std::uint8_t>().swap(prefix_);
        mark_();
      }
    } else if (judging_) {
      std::size_t window = static_cast<std::size_t>(std::min<std::uint64_t>(g_.verdict_prefix, spec_.size));
      std::size_t take = std::min(chunk.size(), window > prefix_.size() ? window - prefix_.size() : 0);
      prefix_.insert(prefix_.end(), chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(take));
    }
    if (judging_) judge(offset_after);
    return state_ == EarlyRelease::stream ? offset_after : 0;
  }
  bool streaming() const { return state_ == EarlyRelease::stream; }
  const std::optional<Error>& refusal() const { return refusal_; }

 private:
  void judge(std::uint64_t offset_after) {
    std::size_t window = static_cast<std::size_t>(std::min<std::uint64_t>(g_.verdict_prefix, spec_.size));
    bool last = prefix_.size() >= window || offset_after >= spec_.size;
    if (!last && prefix_.size() < next_call_) return;
    EarlyVerdict v = g_.verdict_early(spec_, ByteView(prefix_.data(), prefix_.size()), last, read_);
    if (v.state == EarlyVerdict::State::need_more && !last) {
      next_call_ = std::max<std::size_t>(64u << 10, prefix_.size() * 2);
      return;
    }
    judging_ = false;
    std::vector<std::uint8_t>().swap(prefix_);
    if (v.state == EarlyVerdict::State::block) refusal_ = Error(Errc::permission_denied, v.message);
    else mark_();
  }

  const FillGate& g_;
  const FillSpec& spec_;
  std::function<void()> mark_;  // the early phase is over (Fill::mark_early)
  RangeRead read_;
  EarlyRelease state_;
  bool judging_ = false;
  std::size_t next_call_ = 0;
  std::vector<std::uint8_t> prefix_;
  std::optional<Error> refusal_;
};
}  // namespace

// ---------------------------------------------------------------- Fill

Fill::~Fill() {
  if (read_fd_ >= 0) ::close(read_fd_);
}

FillStatus Fill::status() const {
  std::lock_guard lock(mu_);
  return status_;
}

Fill::SubscriptionId Fill::subscribe(std::function<void()> on_progress) {
  std::lock_guard lock(mu_);
  SubscriptionId id = next_id_++;
  subscribers_.emplace(id, std::make_shared<std::function<void()>>(std::move(on_progress)));
  return id;
}

void Fill::unsubscribe(SubscriptionId id) {
  std::lock_guard lock(mu_);
  subscribers_.erase(id);
}

FillStatus Fill::wait_early(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, timeout, [&] { return status_.state != FillState::running || status_.early; });
  return status_;
}

void Fill::mark_early() {
  {
    std::lock_guard lock(mu_);
    if (status_.early) return;
    status_.early = true;
  }
  cv_.notify_all();
}

FillStatus Fill::wait_beyond(std::uint64_t offset, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, timeout, [&] { return status_.state != FillState::running || status_.available > offset; });
  return status_;
}

Result<std::size_t> Fill::pread(void* buf, std::size_t len, std::uint64_t offset) const {
  std::uint64_t avail;
  {
    std::lock_guard lock(mu_);
    if (status_.state == FillState::failed) {
      return fail(status_.error ? *status_.error : Error(Errc::unavailable, "fill failed"));
    }
    avail = status_.available;
  }
  if (offset >= avail) return std::size_t{0};
  std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(len, avail - offset));
  std::size_t done = 0;
  while (done < n) {
    ssize_t r = ::pread(read_fd_, static_cast<char*>(buf) + done, n - done, static_cast<off_t>(offset + done));
    if (r < 0) {
      if (errno == EINTR) continue;
      return fail(os_error("pread", "fill " + spec_.key.str(), errno));
    }
    if (r == 0) break;
    done += static_cast<std::size_t>(r);
  }
  return done;
}

void Fill::notify() {
  std::vector<std::shared_ptr<std::function<void()>>> subs;
  {
    std::lock_guard lock(mu_);
    subs.reserve(subscribers_.size());
    for (auto& [id, cb] : subscribers_) subs.push_back(cb);
  }
  for (auto& cb : subs) (*cb)();
}

void Fill::advance(std::uint64_t available) {
  {
    std::lock_guard lock(mu_);
    status_.available = available;
  }
  cv_.notify_all();
  notify();
}

void Fill::finish(FillState state, std::optional<Error> error) {
  {
    std::lock_guard lock(mu_);
    status_.state = state;
    status_.error = std::move(error);
    if (state == FillState::complete) status_.available = spec_.size;
  }
  cv_.notify_all();
  notify();
}

// ---------------------------------------------------------------- FillRegistry

FillRegistry::FillRegistry(BlobCache& cache, ByteSource& source, Metrics* metrics, FillOptions options)
    : cache_(cache), source_(source), metrics_(metrics), opt_(options) {}

FillRegistry::~FillRegistry() {
  std::unique_lock lock(mu_);
  stopping_ = true;
  for (auto& [k, f] : running_) f->cancel();
  idle_cv_.wait(lock, [&] { return threads_ == 0; });
}

std::shared_ptr<Fill> FillRegistry::find(const ContentKey& key) const {
  std::lock_guard lock(mu_);
  auto it = running_.find(key);
  return it == running_.end() ? nullptr : it->second;
}

std::size_t FillRegistry::in_flight() const {
  std::lock_guard lock(mu_);
  return running_.size();
}

Result<Acquired> FillRegistry::acquire(const FillSpec& spec) {
  if (spec.size > opt_.max_file_size) {
    return fail(Errc::limit_exceeded, "fill " + spec.key.str() + ": declared size " + std::to_string(spec.size) +
                                          " exceeds the limit of " + std::to_string(opt_.max_file_size));
  }
  std::unique_lock lock(mu_);
  if (stopping_) return fail(Errc::unavailable, "fill registry is shutting down");
  if (auto it = running_.find(spec.key); it != running_.end()) {
    if (metrics_) metrics_->fills_joined.fetch_add(1, std::memory_order_relaxed);
    return Acquired{std::nullopt, it->second, false};
  }
  if (auto handle = cache_.open(spec.key)) return Acquired{std::move(*handle), nullptr, false};
  HG_TRY(AtomicFile file, cache_.begin(spec.key));
  int rfd = ::open(file.temp_path().c_str(), O_RDONLY | O_CLOEXEC);
  if (rfd < 0) return fail(os_error("open", file.temp_path(), errno));
  auto fill = std::make_shared<Fill>(spec, rfd);
  fill->status_.size = spec.size;
  fill->status_.early = !opt_.gate.early;
  running_.emplace(spec.key, fill);
  threads_++;
  if (metrics_) {
    metrics_->fills_started.fetch_add(1, std::memory_order_relaxed);
    metrics_->fills_in_flight.fetch_add(1, std::memory_order_relaxed);
  }
  std::thread([this, fill, f = std::move(file)]() mutable { run(std::move(fill), std::move(f)); }).detach();
  return Acquired{std::nullopt, fill, true};
}

void FillRegistry::run(std::shared_ptr<Fill> fill, AtomicFile file) {
  auto r = transfer(*fill, file);
  // Security gate: scan the verified private temp file before anything completes or publishes.
  if (r && opt_.gate.before_publish) r = opt_.gate.before_publish(fill->spec_, file.temp_path());
  source_.finished(fill->spec_, static_cast<bool>(r));  // e.g. the Xet source commits its chunks
  // Verified: readers may have the last byte now; publication (fsync + rename) need not delay them.
  if (r) fill->advance(fill->size());
  if (r) r = cache_.publish(fill->key(), std::move(file));
  else file.abandon();
  if (r) source_.stored(fill->spec_, fill->read_fd());
  {
    std::lock_guard lock(mu_);
    running_.erase(fill->key());
  }
  if (metrics_) {
    (r ? metrics_->fills_completed : metrics_->fills_failed).fetch_add(1, std::memory_order_relaxed);
    metrics_->fills_in_flight.fetch_sub(1, std::memory_order_relaxed);
  }
  if (r) fill->finish(FillState::complete, std::nullopt);
  else fill->finish(FillState::failed, r.error().context("fill " + fill->key().str()));
  fill.reset();
  std::lock_guard lock(mu_);
  threads_--;
  idle_cv_.notify_all();
}

namespace {

using BodyHasher = std::variant<crypto::Sha256, crypto::GitBlobHasher>;

// Hashes blocks on its own thread, in the order they were submitted. The fill thread takes an
// empty block (`take`, which waits while `kBlocks` are queued), fills and writes it, and hands it
// over (`submit`); `drain` waits until every submitted block is in the hash.
class HashPipe {
 public:
  static constexpr std::size_t kBlockBytes = 128u << 10;
  static constexpr std::size_t kBlocks = 8;

  explicit HashPipe(BodyHasher& hasher) : hasher_(hasher), thread_([this] { loop(); }) {}
  ~HashPipe() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  HashPipe(const HashPipe&) = delete;
  HashPipe& operator=(const HashPipe&) = delete;

  std::vector<std::uint8_t> take() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !free_.empty() || allocated_ < kBlocks; });
    if (free_.empty()) {
      allocated_++;
      lock.unlock();
      std::vector<std::uint8_t> b;
      b.reserve(kBlockBytes);
      return b;
    }
    auto b = std::move(free_.back());
    free_.pop_back();
    b.clear();
    return b;
  }
  void submit(std::vector<std::uint8_t>&& block) {
    {
      std::lock_guard lock(mu_);
      queue_.push_back(std::move(block));
    }
    cv_.notify_all();
  }
  void drain() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return queue_.empty() && !busy_; });
  }

 private:
  void loop() {
    std::unique_lock lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything submitted was hashed
      auto b = std::move(queue_.front());
      queue_.pop_front();
      busy_ = true;
      lock.unlock();
      std::visit([&](auto& h) { h.update(ByteView(b.data(), b.size())); }, hasher_);
      lock.lock();
      busy_ = false;
      free_.push_back(std::move(b));
      cv_.notify_all();
    }
  }

  BodyHasher& hasher_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::vector<std::uint8_t>> queue_;
  std::vector<std::vector<std::uint8_t>> free_;
  std::size_t allocated_ = 0;
  bool busy_ = false;
  bool stop_ = false;
  std::thread thread_;  // last: starts once the members above exist
};

}  // namespace

Result<void> FillRegistry::transfer(Fill& fill, AtomicFile& file) {
  const FillSpec& spec = fill.spec_;
  // Blocks for the whole body up front: cheaper writes, and a full disk fails the fill at once.
  HG_TRY_VOID(file.reserve(spec.size));
  BodyHasher hasher;
  if (spec.key.algo == ContentKey::Algo::git_sha1) hasher.emplace<crypto::GitBlobHasher>(spec.size);
  HashPipe hash_pipe(hasher);
  std::uint64_t offset = 0;
  // Security gate: held formats release nothing early; an early verdict may read ranges, on a
  // thread of its own (the client's connection handles are per thread, this one is busy).
  RangeRead read_range = [this, &spec, &fill](std::uint64_t first, std::uint64_t length) -> Result<std::string> {
    Result<std::string> out = fail(Errc::unavailable, "range read did not run");
    std::thread([&] {
      std::string got;
      auto r = source_.fetch_range(spec, first, length, [&](ByteView b) {
        std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(b.size(), length - got.size()));
        got.append(reinterpret_cast<const char*>(b.data()), n);
        return got.size() < length;  // enough: stop an upstream that ignores the range's end
      }, fill.cancel_);
      if (got.size() == length) out = std::move(got);
      else out = fail(r ? Error(Errc::unavailable, "upstream range ended early") : r.error());
    }).join();
    return out;
  };
  EarlyGate early(opt_.gate, spec, [&fill] { fill.mark_early(); }, std::move(read_range));
  std::uint64_t releasable = 0;  // bytes the gate lets readers see (all of them when streaming)
  // libcurl hands over at most 16 KiB per callback; written one by one that is ~65,000 write
  // calls per GiB, most of the fill's kernel time. Bytes are staged and written (then hashed on
  // the pipe's thread) in blocks of `kStageBytes`, small enough to stay in cache between the
  // copy, the write and the hash (1 MiB runs cost more in the copy than they saved:
  // bench/upstream/RESULTS.md). Readers only ever see bytes that are in the file (`written`).
  constexpr std::size_t kStageBytes = HashPipe::kBlockBytes;
  std::vector<std::uint8_t> stage = hash_pipe.take();
  std::uint64_t written = 0;
  // Readers learn about new bytes in batches (each wake-up costs them a pass through the
  // server's event loop): see FillOptions::publish_step/publish_interval.
  std::uint64_t published = 0;
  auto last_publish = std::chrono::steady_clock::now();
  auto publish = [&] {
    // Hold back the last byte until the body is verified: no reader can complete a response
    // with unverified content; a mismatch ends every response short of its declared length.
    std::uint64_t avail = std::min({releasable, written, spec.size - 1});
    if (avail <= published) return;
    published = avail;
    last_publish = std::chrono::steady_clock::now();
    fill.advance(avail);
  };
  std::optional<Error> sink_error;
  auto flush = [&] {
    if (stage.empty()) return true;
    if (auto w = file.write(ByteView(stage.data(), stage.size())); !w) {
      sink_error = w.error();
      stage.clear();
      return false;
    }
    written += stage.size();
    hash_pipe.submit(std::move(stage));
    stage = hash_pipe.take();
    return true;
  };
  DataSink sink = [&](ByteView b) {
    if (b.empty()) {  // the source paused: let readers have what arrived
      if (!early.streaming()) return true;
      if (!flush()) return false;
      publish();
      return true;
    }
    if (b.size() > spec.size - offset) {
      sink_error = Error(Errc::corrupt, "upstream sent more than the declared " + std::to_string(spec.size) + " bytes");
      return false;
    }
    offset += b.size();
    if (metrics_) metrics_->bytes_from_upstream.fetch_add(b.size(), std::memory_order_relaxed);
    const bool was_streaming = early.streaming();
    releasable = early.releasable(b, offset);  // the classifier sees the prefix as it arrives
    if (early.refusal()) {  // the early verdict refused the file: stop here
      sink_error = *early.refusal();
      return false;
    }
    while (!b.empty()) {
      if (stage.size() == kStageBytes && !flush()) return false;
      std::size_t n = std::min(b.size(), kStageBytes - stage.size());
      stage.insert(stage.end(), b.begin(), b.begin() + static_cast<std::ptrdiff_t>(n));
      b = b.subspan(n);
    }
    if (stage.size() == kStageBytes && !flush()) return false;
    // Flush and wake readers every `publish_step` bytes, after `publish_interval`, and as soon
    // as the gate lets the body stream; until then nothing can be published, so the stage is
    // only written when full.
    if (early.streaming() && (!was_streaming || offset - published >= opt_.publish_step ||
                              std::chrono::steady_clock::now() - last_publish >= opt_.publish_interval)) {
      if (!flush()) return false;
      publish();
    }
    return true;
  };
  auto backoff = opt_.retry_backoff;
  for (int attempt = 1;; ++attempt) {
    if (fill.cancel_.load()) return fail(Errc::unavailable, "cancelled");
    std::uint64_t before = offset;
    auto r = source_.fetch(spec, offset, sink, fill.cancel_);
    if (!sink_error) flush();
    if (sink_error) return fail(*sink_error);
    publish();
    if (r && offset == spec.size) break;
    Error err = r ? Error(Errc::unavailable, "upstream body ended at " + std::to_string(offset) + " of " +
                                                 std::to_string(spec.size) + " bytes")
                  : r.error();
    if (err.code != Errc::unavailable) return fail(err);
    if (attempt >= opt_.max_attempts) {
      return fail(err.context("giving up after " + std::to_string(attempt) + " attempts"));
    }
    if (offset > before) backoff = opt_.retry_backoff;  // progress was made: reset the backoff
    if (metrics_) metrics_->fill_resumes.fetch_add(1, std::memory_order_relaxed);
    auto deadline = std::chrono::steady_clock::now() + backoff;
    while (std::chrono::steady_clock::now() < deadline && !fill.cancel_.load())
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    backoff *= 2;
  }
  hash_pipe.drain();
  std::string got = std::visit(
      [](auto& h) {
        if constexpr (std::is_same_v<std::decay_t<decltype(h)>, crypto::Sha256>) return to_hex(h.final());
        else return h.final_hex();
      },
      hasher);
  if (got != spec.key.hex) {
    return fail(Errc::corrupt, "hash mismatch: upstream declared " + spec.key.str() + ", body hashes to " + got);
  }
  return {};
}

}  // namespace hubgate::upstream
