// Fork-join: run() publishes (fn, n) under a new generation number and wakes the helpers; every
// participant claims indices with one atomic fetch_add until they run out; the caller then
// waits until each helper has reported back for this generation.
#include "xet/fork_join.hpp"

namespace hubgate::xet {

ForkJoin::ForkJoin(unsigned helpers) {
  threads_.reserve(helpers);
  for (unsigned i = 0; i < helpers; ++i) threads_.emplace_back([this] { loop(); });
}

ForkJoin::~ForkJoin() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  start_cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void ForkJoin::work() {
  for (std::size_t i = next_.fetch_add(1, std::memory_order_relaxed); i < n_; i = next_.fetch_add(1, std::memory_order_relaxed))
    (*fn_)(i);
}

void ForkJoin::run(std::size_t n, const std::function<void(std::size_t)>& fn) {
  if (n == 0) return;
  if (threads_.empty() || n == 1) {
    for (std::size_t i = 0; i < n; ++i) fn(i);
    return;
  }
  {
    std::lock_guard lock(mu_);
    fn_ = &fn;
    n_ = n;
    next_.store(0, std::memory_order_relaxed);
    busy_ = static_cast<unsigned>(threads_.size());
    ++generation_;
  }
  start_cv_.notify_all();
  work();
  std::unique_lock lock(mu_);
  done_cv_.wait(lock, [&] { return busy_ == 0; });
  fn_ = nullptr;
}

void ForkJoin::loop() {
  std::uint64_t seen = 0;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      start_cv_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
    }
    work();
    std::lock_guard lock(mu_);
    if (--busy_ == 0) done_cv_.notify_one();
  }
}

}  // namespace hubgate::xet
