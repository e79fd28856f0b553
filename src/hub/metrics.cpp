#include "hub/metrics.hpp"

namespace hubgate::hub {

void Metrics::record(const std::string& route, int status, std::uint64_t sent, std::uint64_t received) {
  sent_ += sent;
  received_ += received;
  std::lock_guard lk(mu_);
  requests_[{route, status}]++;
}

std::string Metrics::render(std::uint64_t open_connections) const {
  std::string out;
  out += "# HELP hubgate_http_requests_total HTTP requests by route and status.\n";
  out += "# TYPE hubgate_http_requests_total counter\n";
  {
    std::lock_guard lk(mu_);
    for (const auto& [k, v] : requests_) {
      out += "hubgate_http_requests_total{route=\"" + k.first + "\",status=\"" + std::to_string(k.second) + "\"} " +
             std::to_string(v) + "\n";
    }
  }
  out += "# HELP hubgate_http_sent_bytes_total Response body bytes sent.\n";
  out += "# TYPE hubgate_http_sent_bytes_total counter\n";
  out += "hubgate_http_sent_bytes_total " + std::to_string(sent_.load()) + "\n";
  out += "# HELP hubgate_http_received_bytes_total Request body bytes received.\n";
  out += "# TYPE hubgate_http_received_bytes_total counter\n";
  out += "hubgate_http_received_bytes_total " + std::to_string(received_.load()) + "\n";
  out += "# HELP hubgate_http_open_connections Connections currently open.\n";
  out += "# TYPE hubgate_http_open_connections gauge\n";
  out += "hubgate_http_open_connections " + std::to_string(open_connections) + "\n";
  return out;
}

}  // namespace hubgate::hub
