// Request metrics for /metrics (Prometheus text format 0.0.4): request counts by route and
// status, body bytes sent and received, open connections. Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace hubgate::hub {

class Metrics {
 public:
  void record(const std::string& route, int status, std::uint64_t sent, std::uint64_t received);
  std::string render(std::uint64_t open_connections) const;

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, std::uint64_t> requests_;
  std::atomic<std::uint64_t> sent_{0}, received_{0};
};

}  // namespace hubgate::hub
