// Single-flight streaming fills: one upstream transfer per content, shared by every reader.
//
// A `Fill` downloads one body (named by its `ContentKey`, with the size upstream declared) into
// a temporary file of the blob cache while hashing it, and publishes "bytes available up to N"
// to its readers as they arrive. When the transfer ends, the size and hash are checked against
// the declaration; only then is the file committed into the cache (state `complete`). A
// transport failure is retried by resuming at the current offset (`Range: bytes=N-`) up to
// `max_attempts` times; a hash/size mismatch, an upstream 4xx or running out of attempts
// discards the temporary file (state `failed`). Readers of a failed fill must end their
// response early (before the declared length), so that no client ever mistakes a prefix for the
// file. A failed or completed fill leaves the registry; the next request starts afresh (or hits
// the cache).
//
// Readers: `pread()` (or `read_fd()` + sendfile) any byte below `status().available`. The last
// byte of the body only becomes available once the body is verified (publication into the
// cache, with its fsync, follows without delaying readers), so a reader can never finish a
// response with unverified content. Waiting
// without blocking a thread: `subscribe(cb)` — `cb` runs on the fill's thread after each
// progress step and once at the end; it must be cheap and must not block (post to an executor).
// Blocking readers (CLI, tests) use `wait_beyond()`.
//
// `FillRegistry` is the single-flight table: `acquire()` returns the cached entry, the fill in
// progress (joined), or a fresh fill (started on its own thread). The registry's destructor
// cancels running fills and waits for their threads.
//
// Thread-safety: all public methods of Fill and FillRegistry are thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "upstream/blob_cache.hpp"
#include "upstream/client.hpp"
#include "upstream/metrics.hpp"
#include "util/error.hpp"

namespace hubgate::upstream {

// The request that started a fill (for the security gate's policy and audit records).
struct FillOrigin {
  std::string repo;      // qualified id: "org/name", "datasets/org/name"
  std::string revision;  // commit
  std::string path;
  std::string client = "anonymous";  // token name, or "anonymous"
  std::string remote;    // "ip:port"
};

// What to fetch: the declared identity and size, and where upstream serves the bytes.
struct FillSpec {
  ContentKey key;
  std::uint64_t size = 0;
  std::string url;   // absolute upstream URL of the bytes (a resolve URL; redirects are followed)
  Headers headers;   // e.g. Authorization for upstream
  FillOrigin origin = {};  // who asked first (security gate); defaulted so aggregate inits may omit it
  // Xet pull-through (xet_fill.hpp): the file's Xet hash upstream declared, and the absolute
  // upstream URL of the repository's xet-read-token for the commit. Empty: plain bytes only.
  std::optional<std::string> xet_hash = {};
  std::string xet_token_url = {};
};

// Where a fill's bytes come from. `fetch` streams the body from `offset` to `sink` and returns
// success when the source ended normally (possibly short: the fill checks the length).
// An empty view given to `sink` marks a pause in the stream (no more bytes without waiting):
// the fill then publishes its progress to readers at once (it batches notifications otherwise).
// Errors: Errc::unavailable (transient: the fill resumes), anything else is final.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  virtual Result<void> fetch(const FillSpec& spec, std::uint64_t offset, const DataSink& sink,
                             const std::atomic<bool>& cancel) = 0;
  // Called once per fill when it ends, on the fill thread: `verified` after size, hash and the
  // security gate passed (before readers get the last byte and before publication), else false.
  virtual void finished(const FillSpec& /*spec*/, bool /*verified*/) {}
  // Called after a verified body was published into the cache, on the fill thread (readers
  // already have every byte): `fd` reads the whole body. E.g. cluster mode uploads it to the
  // object store here.
  virtual void stored(const FillSpec& /*spec*/, int /*fd*/) {}
  // Bytes [first, first+length) only (HTTP: `Range: bytes=first-last`; a 200 is skipped up to
  // `first`). The sink may get more than `length` bytes from an upstream that ignores the end.
  // Sources that cannot read ranges answer Errc::unsupported.
  virtual Result<void> fetch_range(const FillSpec& /*spec*/, std::uint64_t /*first*/, std::uint64_t /*length*/,
                                   const DataSink& /*sink*/, const std::atomic<bool>& /*cancel*/) {
    return fail(Errc::unsupported, "this byte source reads no ranges");
  }
};

// ByteSource over HTTP: GET with `Range: bytes=<offset>-` when resuming. A 206 must start at
// the offset; a 200 to a ranged request restarts the body, so its first `offset` bytes are
// skipped. Statuses: 5xx/429 -> unavailable (resumable); 404 -> not_found; 401/403 ->
// permission_denied; other non-2xx -> corrupt.
class HttpByteSource final : public ByteSource {
 public:
  explicit HttpByteSource(Client& client) : client_(client) {}
  Result<void> fetch(const FillSpec& spec, std::uint64_t offset, const DataSink& sink,
                     const std::atomic<bool>& cancel) override;
  Result<void> fetch_range(const FillSpec& spec, std::uint64_t first, std::uint64_t length, const DataSink& sink,
                           const std::atomic<bool>& cancel) override;

 private:
  Client& client_;
};

enum class FillState { running, complete, failed };

struct FillStatus {
  FillState state = FillState::running;
  std::uint64_t available = 0;  // bytes [0, available) are readable (< size until verified)
  std::uint64_t size = 0;       // declared total
  std::optional<Error> error;   // set when failed
  // The security gate said what it can before the end: the body streams, or it is held and
  // its early verdict (FillGate::verdict_early) found nothing. Without a gate: from the start.
  bool early = false;
};

// Security gate hooks (src/gate/, wired by `hubgate serve`; empty functions = no gate).
// `early` sees the first bytes of the body (growing prefixes, up to `max_prefix`) and says
// whether readers may get bytes before the verdict (stream), only after it (hold), or that it
// needs more bytes; a held fill keeps `available` at 0 until `before_publish` passed.
// `before_publish` runs on the fill thread after the hash and size were verified, with the
// private temporary file; an error (Errc::permission_denied: blocked by policy) fails the fill,
// so the body is discarded, never published, and every reader's response ends short.
enum class EarlyRelease { stream, hold, need_more };
//
// `verdict_early` judges a held file larger than `verdict_min_size` before its end: it sees
// growing prefixes (at the hold decision, then each time the prefix doubled, at least 64 KiB,
// up to `verdict_prefix` bytes or the whole file, the last call with `last` set) and may read
// any byte range of the file from upstream (`read`, e.g. a zip's central directory). `block`
// fails the fill at once with Errc::permission_denied and the message (nothing is published,
// every reader's response ends); `clear` ends the early phase (the bytes stay held until
// `before_publish`); `need_more` asks for a longer prefix. FillStatus::early tells readers
// waiting to send a response head that the early phase is over.
struct EarlyVerdict {
  enum class State { need_more, clear, block } state = State::clear;
  std::string message;  // when blocked
};
using RangeRead = std::function<Result<std::string>(std::uint64_t first, std::uint64_t length)>;
struct FillGate {
  std::function<EarlyRelease(ByteView prefix, std::uint64_t size)> early;
  std::size_t max_prefix = 16u << 20;
  std::function<Result<void>(const FillSpec& spec, const std::string& temp_path)> before_publish;
  std::function<EarlyVerdict(const FillSpec& spec, ByteView prefix, bool last, const RangeRead& read)> verdict_early;
  std::uint64_t verdict_min_size = 0;
  std::size_t verdict_prefix = 16u << 20;
};

struct FillOptions {
  int max_attempts = 4;                               // transfers per fill, first one included
  std::chrono::milliseconds retry_backoff{100};       // doubled after each failed attempt
  std::uint64_t max_file_size = 1ull << 40;           // refuse declarations above this (1 TiB)
  FillGate gate;                                      // security gate hooks (none by default)
  // Readers are woken when this many new bytes arrived, at a pause of the source, or when
  // `publish_interval` passed since the last wake-up, whichever comes first.
  std::uint64_t publish_step = 512u << 10;
  std::chrono::microseconds publish_interval{2000};
};

class FillRegistry;

class Fill {
 public:
  const ContentKey& key() const { return spec_.key; }
  std::uint64_t size() const { return spec_.size; }
  FillStatus status() const;

  using SubscriptionId = std::uint64_t;
  SubscriptionId subscribe(std::function<void()> on_progress);
  void unsubscribe(SubscriptionId id);

  // Blocks until more than `offset` bytes are available, the fill ended, or the timeout passed.
  FillStatus wait_beyond(std::uint64_t offset, std::chrono::milliseconds timeout) const;
  // Blocks until the gate's early phase is over (FillStatus::early), the fill ended, or the
  // timeout passed.
  FillStatus wait_early(std::chrono::milliseconds timeout) const;

  // Copies bytes at [offset, offset+len) ∩ [offset, available). Fails once the fill failed.
  Result<std::size_t> pread(void* buf, std::size_t len, std::uint64_t offset) const;
  // A read-only descriptor on the body (valid for the Fill's lifetime, also after publication).
  int read_fd() const { return read_fd_; }

  void cancel() { cancel_.store(true); }

  Fill(FillSpec spec, int read_fd) : spec_(std::move(spec)), read_fd_(read_fd) {}
  ~Fill();
  Fill(const Fill&) = delete;

 private:
  friend class FillRegistry;
  void advance(std::uint64_t available);
  void mark_early();
  void finish(FillState state, std::optional<Error> error);
  void notify();

  FillSpec spec_;
  int read_fd_ = -1;
  std::atomic<bool> cancel_{false};
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  FillStatus status_;
  SubscriptionId next_id_ = 1;
  std::map<SubscriptionId, std::shared_ptr<std::function<void()>>> subscribers_;
};

// Either a pinned cache entry, or a fill (joined or started).
struct Acquired {
  std::optional<BlobHandle> cached;
  std::shared_ptr<Fill> fill;
  bool started = false;  // this call started the fill
};

class FillRegistry {
 public:
  FillRegistry(BlobCache& cache, ByteSource& source, Metrics* metrics = nullptr, FillOptions options = {});
  ~FillRegistry();
  FillRegistry(const FillRegistry&) = delete;

  // Cached entry, running fill, or a new fill for `spec` (its size is checked against limits).
  Result<Acquired> acquire(const FillSpec& spec);
  // The running fill for `key`, if any.
  std::shared_ptr<Fill> find(const ContentKey& key) const;
  std::size_t in_flight() const;

 private:
  void run(std::shared_ptr<Fill> fill, AtomicFile file);
  Result<void> transfer(Fill& fill, AtomicFile& file);

  BlobCache& cache_;
  ByteSource& source_;
  Metrics* metrics_;
  FillOptions opt_;
  mutable std::mutex mu_;
  std::condition_variable idle_cv_;
  std::unordered_map<ContentKey, std::shared_ptr<Fill>, ContentKeyHash> running_;
  std::size_t threads_ = 0;
  bool stopping_ = false;
};

}  // namespace hubgate::upstream
