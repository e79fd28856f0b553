// Private to src/loader: the state of one Stream, shared by open.cpp (resolution, headers) and
// stream.cpp (the transfer: workers, hasher, hand-out).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "loader/internal.hpp"
#include "loader/loader.hpp"

namespace hubgate::loader {

// One range request: [offset, offset + len) of one file, landing in consecutive tensors.
struct Piece {
  std::size_t tensor;
  std::uint64_t at;   // offset inside the tensor's buffer
  std::uint64_t len;
};
struct Request {
  std::size_t file;
  std::uint64_t offset = 0, len = 0;
  std::vector<Piece> pieces;
};

struct Slot {
  Buffer buf;
  std::atomic<std::uint64_t> missing{0};  // bytes not yet written
  bool hashed = false;                    // under Impl::mu
};

struct Stream::Impl {
  Options opts;
  std::string commit;
  std::vector<FileInfo> files;
  std::vector<std::string> file_urls;  // where the ranges are read (redirect followed once)
  std::vector<TensorInfo> tensors;
  std::vector<std::size_t> file_last;  // per file: index of its last tensor + 1 (prefix sums)
  std::vector<std::string> auth;       // request headers

  // Transfer state, under mu.
  std::mutex mu;
  std::condition_variable work_cv;   // workers: a request or ring space became available
  std::condition_variable ready_cv;  // hasher and consumer: bytes landed, a tensor was hashed
  std::unique_ptr<Slot[]> slots;
  std::deque<Request> queue;
  Request building;                  // the request being filled as tensors get buffers
  bool building_open = false;
  std::size_t next_alloc = 0;        // next tensor to get a buffer
  std::size_t next_out = 0;          // next tensor to hand out
  std::uint64_t inflight = 0, peak_inflight = 0;
  std::optional<Error> error;
  bool started = false, cancel = false, hash_done = false;
  std::atomic<bool> halt{false};     // cancel or error: transfers stop at their next bytes
  std::vector<FileStats> stats;
  std::chrono::steady_clock::time_point t0;
  std::vector<std::thread> threads;

  double since_start() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  void start();
  void stop();
  void fail_with(Error e);
  bool take_request(Request& out);
  void allocate_more();
  void worker();
  void hasher();
  Result<void> run_request(detail::Conn& conn, Request& r);
};

}  // namespace hubgate::loader
