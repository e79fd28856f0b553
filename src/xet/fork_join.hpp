// Internal to the xet module: a tiny fork-join pool for the ingest pipeline (chunk_store.cpp).
//
// `ForkJoin(h)` owns h helper threads. `run(n, fn)` calls fn(i) once for every i in [0, n),
// spread dynamically over the caller and the helpers, and returns when every call has
// returned (so fn may reference the caller's stack and buffers). One run at a time: run() is
// called by one thread (the FileWriter's user); fn must not throw. With h = 0 everything runs
// inline on the caller. The destructor stops and joins the helpers.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace hubgate::xet {

class ForkJoin {
 public:
  explicit ForkJoin(unsigned helpers);
  ~ForkJoin();
  ForkJoin(const ForkJoin&) = delete;
  ForkJoin& operator=(const ForkJoin&) = delete;

  void run(std::size_t n, const std::function<void(std::size_t)>& fn);
  unsigned threads() const { return static_cast<unsigned>(threads_.size()) + 1; }

 private:
  void loop();
  void work();

  std::mutex mu_;
  std::condition_variable start_cv_, done_cv_;
  const std::function<void(std::size_t)>* fn_ = nullptr;
  std::size_t n_ = 0;
  std::atomic<std::size_t> next_{0};
  std::uint64_t generation_ = 0;
  unsigned busy_ = 0;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace hubgate::xet
