// The transfer of a Stream (loader.hpp): range workers writing into tensor buffers under the
// ring budget, the in-order hasher, and the hand-out.
#include <sys/mman.h>

#include <cstdlib>
#include <cstring>
#include <thread>

#include "crypto/sha.hpp"
#include "loader/stream_impl.hpp"
#include "util/hex.hpp"

namespace hubgate::loader {
namespace {

// Every buffer is preceded by a 16-byte record {size, kind} so that free_buffer needs only the
// pointer; mapped buffers start one page into their mapping.
constexpr std::uint64_t kMapFrom = 1u << 20;
constexpr std::uint64_t kHeap = 1, kMapped = 2;

Buffer allocate(std::uint64_t n) { return Buffer(allocate_buffer(n)); }

bool transient(long status) { return status == 429 || status >= 500; }

}  // namespace

std::uint8_t* allocate_buffer(std::uint64_t n) {
  if (n >= kMapFrom) {
    std::uint64_t len = 4096 + n;
    void* m = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return nullptr;
    auto* base = static_cast<std::uint8_t*>(m);
    std::uint64_t rec[2] = {len, kMapped};
    std::memcpy(base + 4096 - 16, rec, 16);
    return base + 4096;
  }
  void* p = nullptr;
  if (::posix_memalign(&p, 64, 64 + n) != 0) return nullptr;
  auto* base = static_cast<std::uint8_t*>(p);
  std::uint64_t rec[2] = {64 + n, kHeap};
  std::memcpy(base + 64 - 16, rec, 16);
  return base + 64;
}

void free_buffer(void* p) noexcept {
  if (!p) return;
  auto* q = static_cast<std::uint8_t*>(p);
  std::uint64_t rec[2];
  std::memcpy(rec, q - 16, 16);
  if (rec[1] == kMapped) ::munmap(q - 4096, rec[0]);
  else std::free(q - 64);
}

Stream::Stream(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Stream::~Stream() { impl_->stop(); }
const std::string& Stream::commit() const { return impl_->commit; }
const std::vector<FileInfo>& Stream::files() const { return impl_->files; }
const std::vector<TensorInfo>& Stream::tensors() const { return impl_->tensors; }

std::vector<FileStats> Stream::stats() const {
  std::lock_guard lock(impl_->mu);
  return impl_->stats;
}

std::uint64_t Stream::peak_inflight_bytes() const {
  std::lock_guard lock(impl_->mu);
  return impl_->peak_inflight;
}

Result<std::optional<Tensor>> Stream::next() {
  Impl& s = *impl_;
  std::unique_lock lock(s.mu);
  if (!s.started) {
    lock.unlock();
    s.start();
    lock.lock();
  }
  s.ready_cv.wait(lock, [&] {
    return s.error || (s.next_out == s.tensors.size() && s.hash_done) ||
           (s.next_out < s.tensors.size() && s.slots[s.next_out].hashed);
  });
  if (s.error) return fail(*s.error);
  if (s.next_out == s.tensors.size()) return std::optional<Tensor>();
  std::size_t k = s.next_out++;
  Tensor t{&s.tensors[k], std::move(s.slots[k].buf)};
  s.inflight -= s.tensors[k].nbytes;
  s.work_cv.notify_all();
  return std::optional<Tensor>(std::move(t));
}

void Stream::Impl::start() {
  std::lock_guard lock(mu);
  started = true;
  t0 = std::chrono::steady_clock::now();
  slots = std::make_unique<Slot[]>(tensors.size());
  for (std::size_t i = 0; i < tensors.size(); ++i) slots[i].missing = tensors[i].nbytes;
  threads.emplace_back([this] { hasher(); });
  for (unsigned i = 0; i < opts.connections; ++i) threads.emplace_back([this] { worker(); });
}

void Stream::Impl::stop() {
  {
    std::lock_guard lock(mu);
    cancel = true;
    halt = true;
  }
  work_cv.notify_all();
  ready_cv.notify_all();
  for (auto& t : threads) t.join();
  threads.clear();
}

void Stream::Impl::fail_with(Error e) {
  {
    std::lock_guard lock(mu);
    if (!error) error = std::move(e);
    halt = true;
  }
  work_cv.notify_all();
  ready_cv.notify_all();
}

// Gives buffers to the next tensors while the ring has room (a tensor larger than the ring
// goes when nothing else is in flight) and cuts their bytes into requests. Holds mu.
void Stream::Impl::allocate_more() {
  auto flush = [&] {
    if (building_open && building.len > 0) queue.push_back(std::move(building));
    building = Request{};
    building_open = false;
  };
  while (next_alloc < tensors.size()) {
    const TensorInfo& t = tensors[next_alloc];
    if (inflight > 0 && inflight + t.nbytes > opts.ring_bytes) break;
    Buffer b = allocate(t.nbytes);
    if (!b) {
      error = Error(Errc::limit_exceeded, "cannot allocate " + std::to_string(t.nbytes) + " bytes for tensor '" + t.name + "'");
      halt = true;
      ready_cv.notify_all();
      return;
    }
    slots[next_alloc].buf = std::move(b);
    inflight += t.nbytes;
    peak_inflight = std::max(peak_inflight, inflight);
    for (std::uint64_t done = 0; done < t.nbytes;) {
      if (building_open && (building.file != t.file || building.offset + building.len != t.offset + done ||
                            building.len >= opts.request_bytes)) {
        flush();
      }
      if (!building_open) {
        building = Request{t.file, t.offset + done, 0, {}};
        building_open = true;
      }
      std::uint64_t take = std::min(t.nbytes - done, opts.request_bytes - building.len);
      building.pieces.push_back({next_alloc, done, take});
      building.len += take;
      done += take;
    }
    ++next_alloc;
  }
  flush();
  ready_cv.notify_all();  // zero-byte tensors are complete as soon as they have a buffer
}

bool Stream::Impl::take_request(Request& out) {
  std::unique_lock lock(mu);
  for (;;) {
    if (cancel || error) return false;
    if (queue.empty()) allocate_more();
    if (!queue.empty()) {
      out = std::move(queue.front());
      queue.pop_front();
      return true;
    }
    if (next_alloc == tensors.size()) return false;
    work_cv.wait(lock);
  }
}

void Stream::Impl::worker() {
  detail::Conn conn;
  Request r;
  while (take_request(r)) {
    auto res = run_request(conn, r);
    if (!res) {
      fail_with(res.error());
      return;
    }
  }
}

Result<void> Stream::Impl::run_request(detail::Conn& conn, Request& r) {
  const FileInfo& f = files[r.file];
  {
    std::lock_guard lock(mu);
    if (stats[r.file].first_request_s < 0) stats[r.file].first_request_s = since_start();
  }
  std::uint64_t got = 0;
  std::size_t pi = 0;       // piece being written
  std::uint64_t pofs = 0;   // bytes of it written
  bool too_long = false;
  auto sink = [&](const char* p, std::size_t n) {
    if (halt) return false;
    if (got + n > r.len) {
      too_long = true;
      return false;
    }
    got += n;
    while (n > 0) {
      const Piece& pc = r.pieces[pi];
      std::uint64_t m = std::min<std::uint64_t>(pc.len - pofs, n);
      Slot& slot = slots[pc.tensor];
      std::memcpy(slot.buf.get() + pc.at + pofs, p, m);
      p += m;
      n -= m;
      pofs += m;
      if (pofs == pc.len) {
        ++pi;
        pofs = 0;
      }
      if (slot.missing.fetch_sub(m) == m) {
        std::lock_guard lock(mu);  // the hasher checks `missing` under mu: no lost wake-up
        ready_cv.notify_all();
      }
    }
    return true;
  };
  unsigned failures = 0;
  std::string last_error;
  while (got < r.len) {
    if (halt) return {};
    if (failures > opts.retries) {
      return fail(Errc::unavailable, f.path + ": bytes " + std::to_string(r.offset + got) + "-" +
                                         std::to_string(r.offset + r.len - 1) + " failed " + std::to_string(failures) +
                                         " times; last: " + last_error);
    }
    if (failures > 0) std::this_thread::sleep_for(std::chrono::milliseconds(50u << std::min(failures, 6u)));
    auto hdrs = auth;
    hdrs.push_back("Range: bytes=" + std::to_string(r.offset + got) + "-" + std::to_string(r.offset + r.len - 1));
    std::uint64_t before = got;
    auto reply = conn.request("GET", file_urls[r.file], hdrs, sink, opts.stall_timeout_s, 206);
    if (halt) return {};
    if (too_long) return fail(Errc::corrupt, f.path + ": the server sent more bytes than the range asked for");
    if (!reply) {
      last_error = reply.error().message;
      ++failures;
      continue;
    }
    long st = reply->status;
    if (st != 206) {
      std::string msg = f.path + ": range request answered HTTP " + std::to_string(st);
      if (auto e = reply->header("x-error-message")) msg += " " + *e;
      if (!transient(st)) return fail(st == 404 ? Errc::not_found : Errc::unavailable, msg);
      last_error = msg;
      ++failures;
      continue;
    }
    if (got < r.len) {
      last_error = "short body: " + std::to_string(got - before) + " bytes";
      ++failures;
    }
  }
  return {};
}

void Stream::Impl::hasher() {
  std::size_t k = 0;
  for (std::size_t i = 0; i < files.size(); ++i) {
    const FileInfo& f = files[i];
    std::optional<crypto::Sha256> sha;
    std::optional<crypto::GitBlobHasher> git;
    if (opts.verify && !f.sha256.empty()) sha.emplace();
    else if (opts.verify) git.emplace(f.size);
    auto feed = [&](ByteView b) {
      if (sha) sha->update(b);
      if (git) git->update(b);
    };
    feed(as_bytes(f.header));
    const std::size_t end = file_last[i];
    for (; k < end; ++k) {
      {
        std::unique_lock lock(mu);
        ready_cv.wait(lock, [&] { return halt.load() || (k < next_alloc && slots[k].missing == 0); });
        if (halt) return;
      }
      feed(ByteView(slots[k].buf.get(), tensors[k].nbytes));
      if (k + 1 < end) {
        std::lock_guard lock(mu);
        slots[k].hashed = true;
        ready_cv.notify_all();
      }
    }
    if (opts.verify) {
      std::string want = sha ? f.sha256 : f.git_sha1;
      std::string got = sha ? to_hex(sha->final()) : git->final_hex();
      if (got != want) {
        fail_with(Error(Errc::corrupt, f.path + ": " + (sha ? "sha256" : "git blob id") + " mismatch: the revision says " +
                                           want + ", the bytes read hash to " + got));
        return;
      }
    }
    std::lock_guard lock(mu);
    if (end > 0 && (i == 0 || file_last[i - 1] < end)) slots[end - 1].hashed = true;
    stats[i].done_s = since_start();
    stats[i].verified = opts.verify;
    ready_cv.notify_all();
  }
  std::lock_guard lock(mu);
  hash_done = true;
  ready_cv.notify_all();
}

}  // namespace hubgate::loader
