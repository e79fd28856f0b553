// Shared helpers for the upstream unit tests: temp dirs and an in-memory, scriptable ByteSource.
#pragma once

#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "crypto/sha.hpp"
#include "http/message.hpp"
#include "upstream/fill.hpp"
#include "util/hex.hpp"

namespace hubgate::upstream::testing {

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    static std::atomic<int> n{0};
    path = std::filesystem::temp_directory_path() /
           ("hubgate-up-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
    std::filesystem::create_directories(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string str() const { return path.string(); }
};

inline std::string pattern(std::size_t n, unsigned seed = 1) {
  std::string s(n, '\0');
  std::uint32_t x = seed * 2654435761u + 1;
  for (auto& c : s) {
    x = x * 1103515245u + 12345u;
    c = static_cast<char>(x >> 24);
  }
  return s;
}

inline ContentKey sha_key(const std::string& body) {
  return *ContentKey::make(ContentKey::Algo::sha256, crypto::sha256_hex(body));
}

// Serves `body` from memory. Knobs: cut each of the first `truncations` attempts after
// `cut_at` more bytes; corrupt byte 0; hold every chunk until release() (to keep a fill running).
class MemorySource : public ByteSource {
 public:
  std::string body;
  std::size_t chunk = 4096;
  int truncations = 0;
  std::size_t cut_at = 0;
  bool corrupt = false;
  bool gated = false;
  Errc fail_with = Errc::unavailable;
  bool fail_always = false;
  std::size_t pause_every = 0;  // after every this many chunks, mark a pause (empty view)

  std::atomic<int> fetches{0};
  std::vector<std::uint64_t> offsets;  // offsets asked for, in order

  void release() {
    std::lock_guard l(mu_);
    gated = false;
    cv_.notify_all();
  }

  std::atomic<int> range_reads{0};
  Result<void> fetch_range(const FillSpec&, std::uint64_t first, std::uint64_t length, const DataSink& sink,
                           const std::atomic<bool>&) override {
    range_reads++;
    if (first + length > body.size()) return fail(Errc::corrupt, "range past the end");
    std::string part = body.substr(static_cast<std::size_t>(first), static_cast<std::size_t>(length));
    sink(ByteView(reinterpret_cast<const std::uint8_t*>(part.data()), part.size()));
    return {};
  }

  Result<void> fetch(const FillSpec&, std::uint64_t offset, const DataSink& sink,
                     const std::atomic<bool>& cancel) override {
    int n = fetches++;
    {
      std::lock_guard l(mu_);
      offsets.push_back(offset);
    }
    if (fail_always) return fail(fail_with, "scripted failure");
    std::string data = body;
    if (corrupt && !data.empty()) data[0] = static_cast<char>(data[0] ^ 1);
    std::size_t end = data.size();
    if (n < truncations) end = std::min<std::size_t>(end, offset + cut_at);
    for (std::size_t pos = offset; pos < end; pos += chunk) {
      {
        std::unique_lock l(mu_);
        // Cancellation is a plain flag (nobody notifies cv_ for it): poll it.
        while (!cv_.wait_for(l, std::chrono::milliseconds(5), [&] { return !gated || cancel.load(); })) {
        }
      }
      if (cancel.load()) return fail(Errc::unavailable, "cancelled");
      std::size_t len = std::min(chunk, end - pos);
      if (!sink(as_bytes(std::string_view(data).substr(pos, len)))) return fail(Errc::corrupt, "sink refused");
      if (pause_every > 0 && ((pos - offset) / chunk + 1) % pause_every == 0 && !sink(ByteView{}))
        return fail(Errc::corrupt, "sink refused a pause");
    }
    return {};
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
};

// Reads a whole fill through pread, waiting for bytes as they arrive (like a server reader).
inline Result<std::string> read_all(Fill& fill) {
  std::string out;
  char buf[10000];
  for (int guard = 0; guard < 1000000; ++guard) {
    auto st = fill.wait_beyond(out.size(), std::chrono::milliseconds(5000));
    if (st.state == FillState::failed) return fail(*st.error);
    HG_TRY(std::size_t n, fill.pread(buf, sizeof buf, out.size()));
    out.append(buf, n);
    if (out.size() == fill.size() && st.state == FillState::complete) return out;
    if (n == 0 && st.state == FillState::complete) return fail(Errc::internal, "complete but short");
  }
  return fail(Errc::internal, "read_all: no progress");
}

inline std::string read_fd_all(int fd, std::uint64_t size) {
  std::string out(size, '\0');
  std::size_t done = 0;
  while (done < size) {
    ssize_t r = ::pread(fd, out.data() + done, size - done, static_cast<off_t>(done));
    if (r <= 0) break;
    done += static_cast<std::size_t>(r);
  }
  out.resize(done);
  return out;
}

// Pulls a producer to the end, like the server does (one pull in flight at a time).
inline Result<std::string> drain(http::BodyProducer& p) {
  std::string out;
  for (int i = 0; i < 100000; ++i) {
    std::mutex mu;
    std::condition_variable cv;
    std::optional<http::Chunk> got;
    p.pull([&](http::Chunk c) {
      std::lock_guard l(mu);
      got = std::move(c);
      cv.notify_all();
    });
    std::unique_lock l(mu);
    if (!cv.wait_for(l, std::chrono::seconds(10), [&] { return got.has_value(); }))
      return fail(Errc::internal, "pull timed out");
    // A body that fails: the error, or the line the server would send in its place (the error
    // chunk's bytes).
    if (got->error) return fail(got->data.empty() ? *got->error : Error(got->error->code, got->data));
    out += got->data;
    if (got->file) {  // a slice of the fill's file, as the server would sendfile it
      std::string part(static_cast<std::size_t>(got->file->length), '\0');
      ssize_t n = ::pread(got->file->file->fd(), part.data(), part.size(), static_cast<off_t>(got->file->offset));
      if (n != static_cast<ssize_t>(part.size())) return fail(Errc::io, "short pread of a produced file slice");
      out += part;
    }
    if (got->end) return out;
  }
  return fail(Errc::internal, "no end");
}

}  // namespace hubgate::upstream::testing
