#include "upstream/metrics.hpp"

namespace hubgate::upstream {

namespace {
void line(std::string& out, const char* name, const char* type, std::uint64_t v) {
  out += "# TYPE hubgate_upstream_";
  out += name;
  out += ' ';
  out += type;
  out += "\nhubgate_upstream_";
  out += name;
  out += ' ';
  out += std::to_string(v);
  out += '\n';
}
}  // namespace

std::string Metrics::render_prometheus() const {
  std::string out;
  auto r = [](const std::atomic<std::uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  line(out, "cache_hits_total", "counter", r(cache_hits));
  line(out, "cache_misses_total", "counter", r(cache_misses));
  line(out, "fills_started_total", "counter", r(fills_started));
  line(out, "fills_joined_total", "counter", r(fills_joined));
  line(out, "fills_completed_total", "counter", r(fills_completed));
  line(out, "fills_failed_total", "counter", r(fills_failed));
  auto inflight = fills_in_flight.load(std::memory_order_relaxed);
  line(out, "fills_in_flight", "gauge", inflight < 0 ? 0 : static_cast<std::uint64_t>(inflight));
  line(out, "fill_resumes_total", "counter", r(fill_resumes));
  line(out, "range_fetches_total", "counter", r(range_fetches));
  line(out, "bytes_from_upstream_total", "counter", r(bytes_from_upstream));
  line(out, "bytes_served_from_cache_total", "counter", r(bytes_served_from_cache));
  line(out, "requests_total", "counter", r(upstream_requests));
  line(out, "errors_total", "counter", r(upstream_errors));
  line(out, "stale_answers_total", "counter", r(stale_answers));
  line(out, "evictions_total", "counter", r(evictions));
  line(out, "evicted_bytes_total", "counter", r(evicted_bytes));
  line(out, "cache_bytes", "gauge", r(cache_bytes));
  line(out, "cache_entries", "gauge", r(cache_entries));
  line(out, "xet_fills_started_total", "counter", r(xet_fills_started));
  line(out, "xet_fills_completed_total", "counter", r(xet_fills_completed));
  line(out, "xet_fills_failed_total", "counter", r(xet_fills_failed));
  line(out, "xet_fallbacks_total", "counter", r(xet_fallbacks));
  line(out, "xet_local_files_total", "counter", r(xet_local_files));
  line(out, "xet_xorb_ranges_total", "counter", r(xet_xorb_ranges));
  line(out, "xet_xorb_bytes_total", "counter", r(xet_xorb_bytes));
  line(out, "xet_range_joins_total", "counter", r(xet_range_joins));
  line(out, "xet_range_resumes_total", "counter", r(xet_range_resumes));
  line(out, "xet_chunks_fetched_total", "counter", r(xet_chunks_fetched));
  line(out, "xet_bytes_fetched_total", "counter", r(xet_bytes_fetched));
  line(out, "xet_chunks_reused_total", "counter", r(xet_chunks_reused));
  line(out, "xet_bytes_reused_total", "counter", r(xet_bytes_reused));
  return out;
}

}  // namespace hubgate::upstream
