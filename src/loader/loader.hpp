// Streaming safetensors loader: weights from a Hub-compatible endpoint (hubgate, an edge, the
// Hub) straight into host memory, verified, with no intermediate file. Used by `hubgate load`
// (src/loader/cli.cpp) and the Python package (python/, a thin nanobind binding).
//
// `Stream::open` pins the revision to a commit (`/api/{type}/{repo}/revision/{rev}`), picks the
// files (the given names, else the shards named by `model.safetensors.index.json`, else every
// `*.safetensors`), HEADs each for its size and digest (`X-Linked-Etag` sha256 for LFS files,
// the git blob id otherwise) and reads and validates each header with the scanner's validator
// (`scan/safetensors_layout.hpp`: no overlap, no hole, nothing out of bounds, dtype × shape =
// bytes). Nothing of the data section is read yet: `files()` and `tensors()` describe it.
//
// `next()` then yields tensors in file order. `connections` worker threads each keep one HTTP
// connection and fetch byte ranges (≤ `request_bytes`, several small tensors per request)
// straight into each tensor's own aligned buffer, which is allocated as the scheduler reaches it
// while the bytes allocated but not yet handed out stay within `ring_bytes` (a tensor larger
// than the ring goes alone). A hasher thread feeds every file's bytes in order to SHA-256 (or
// the git blob hash) as they complete; a tensor is handed out once hashed, and a file's last
// tensor only after the file's digest matched, so a wrong byte raises before the file's
// tensors are all out — never silently wrong weights. Peak memory: the ring plus what the
// caller keeps. Transient failures (connection errors, short bodies, 5xx) are retried from the
// byte reached; anything else, or a digest mismatch, fails the stream: every later `next()`
// returns that error.
//
// Thread-safety: one Stream is driven by one caller thread; its workers are internal.
// Destroying a Stream cancels the transfer and joins its threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "scan/safetensors_layout.hpp"
#include "util/error.hpp"

namespace hubgate::loader {

struct Options {
  std::string endpoint;                 // "http://127.0.0.1:8080"
  std::string repo_id;                  // "org/name"
  std::string revision = "main";        // branch, tag or commit
  std::string repo_type = "models";     // models | datasets | spaces
  std::vector<std::string> filenames;   // empty: every safetensors file of the revision
  std::string token;                    // Bearer token, empty for none
  unsigned connections = 8;             // parallel HTTP connections
  std::uint64_t ring_bytes = 1ull << 30;     // bytes in flight (allocated, not yet handed out)
  std::uint64_t request_bytes = 16ull << 20;  // most bytes one range request asks for
  bool verify = true;                   // check each file's digest
  unsigned retries = 4;                 // per range request, for transient failures
  long stall_timeout_s = 60;            // a connection silent this long is a transient failure
};

struct FileInfo {
  std::string path;
  std::uint64_t size = 0;
  std::string sha256;    // hex, from X-Linked-Etag (LFS files)
  std::string git_sha1;  // hex, from ETag when the file is not LFS
  std::string header;    // the 8 + N header bytes, as read
  scan::SafetensorsLayout layout;
};

// A tensor's description: `file` indexes files(); offsets are absolute in the file.
struct TensorInfo {
  std::string name;
  std::size_t file = 0;
  std::string dtype;
  std::vector<std::uint64_t> shape;
  std::uint64_t offset = 0, nbytes = 0;
};

// Tensor buffers: from 1 MiB their own mapping (returned to the system when freed, so the
// memory bound holds whatever the allocator's thresholds), smaller ones from the heap. A
// released pointer is freed with `free_buffer` (a plain function: DLPack deleters call it).
std::uint8_t* allocate_buffer(std::uint64_t n);  // nullptr when out of memory
void free_buffer(void* p) noexcept;
struct FreeBuffer {
  void operator()(std::uint8_t* p) const noexcept { free_buffer(p); }
};
using Buffer = std::unique_ptr<std::uint8_t, FreeBuffer>;

// A tensor handed out: its bytes belong to the caller (aligned to 64, 4096 from 1 MiB; a
// zero-byte tensor still has a valid pointer).
struct Tensor {
  const TensorInfo* info = nullptr;  // owned by the Stream
  Buffer bytes;
};

struct FileStats {
  std::uint64_t bytes = 0;
  double first_request_s = -1;  // seconds since the transfer began
  double done_s = -1;           // last tensor hashed (and the digest checked)
  bool verified = false;
};

class Stream {
 public:
  static Result<std::unique_ptr<Stream>> open(const Options& opts);
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  const std::string& commit() const;
  const std::vector<FileInfo>& files() const;
  const std::vector<TensorInfo>& tensors() const;  // file order, then data order

  // The next tensor in file order; nullopt when all were handed out. Blocks. The transfer
  // starts at the first call.
  Result<std::optional<Tensor>> next();

  std::vector<FileStats> stats() const;
  std::uint64_t peak_inflight_bytes() const;  // the most bytes allocated and not handed out

  struct Impl;

 private:
  explicit Stream(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Files of a revision as `open` picks them, from the revision's file list and (when listed)
// the text of `model.safetensors.index.json`: the index's shards in name order, else every
// `*.safetensors` in name order. Errors name a shard the index lists but the revision lacks.
Result<std::vector<std::string>> pick_safetensors(const std::vector<std::string>& siblings,
                                                  const std::string* index_json);

}  // namespace hubgate::loader
