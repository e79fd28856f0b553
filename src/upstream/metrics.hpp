// Counters of the pull-through engine, exposed for `/metrics` (Prometheus text format).
//
// Plain relaxed atomics: every component that owns a `Metrics*` bumps them from any thread;
// readers get a best-effort snapshot. The object must outlive every component pointing at it.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace hubgate::upstream {

struct Metrics {
  std::atomic<std::uint64_t> cache_hits{0};          // requests answered from the blob cache
  std::atomic<std::uint64_t> cache_misses{0};        // requests that needed a fill (started or joined)
  std::atomic<std::uint64_t> fills_started{0};       // upstream transfers started
  std::atomic<std::uint64_t> fills_joined{0};        // requests that joined a running fill
  std::atomic<std::uint64_t> fills_completed{0};     // fills verified and published
  std::atomic<std::uint64_t> fills_failed{0};        // fills discarded (upstream error, mismatch)
  std::atomic<std::int64_t> fills_in_flight{0};      // gauge
  std::atomic<std::uint64_t> fill_resumes{0};        // Range resumptions after an interruption
  std::atomic<std::uint64_t> range_fetches{0};       // ranges far ahead of a fill, fetched on their own
  std::atomic<std::uint64_t> bytes_from_upstream{0}; // body bytes received for fills
  std::atomic<std::uint64_t> bytes_served_from_cache{0};
  std::atomic<std::uint64_t> upstream_requests{0};   // every HTTP request sent upstream
  std::atomic<std::uint64_t> upstream_errors{0};     // transport failures, 5xx, 429
  std::atomic<std::uint64_t> stale_answers{0};       // answers given from cache because upstream failed
  std::atomic<std::uint64_t> evictions{0};
  std::atomic<std::uint64_t> evicted_bytes{0};
  std::atomic<std::uint64_t> cache_bytes{0};         // gauge: bytes held by the blob cache
  std::atomic<std::uint64_t> cache_entries{0};       // gauge
  // Xet fills (xet_fill.hpp): how much of each file crossed the network as xorb bytes.
  std::atomic<std::uint64_t> xet_fills_started{0};    // fill attempts that took the Xet path
  std::atomic<std::uint64_t> xet_fills_completed{0};  // verified, chunks and index rows committed
  std::atomic<std::uint64_t> xet_fills_failed{0};     // discarded (upstream error, hash mismatch, gate)
  std::atomic<std::uint64_t> xet_fallbacks{0};        // upstream offered no Xet: plain bytes instead
  std::atomic<std::uint64_t> xet_local_files{0};      // whole file already in the chunk store
  std::atomic<std::uint64_t> xet_xorb_ranges{0};      // upstream xorb byte ranges requested
  std::atomic<std::uint64_t> xet_xorb_bytes{0};       // xorb bytes received from upstream
  std::atomic<std::uint64_t> xet_range_joins{0};      // ranges shared with a concurrent fill
  std::atomic<std::uint64_t> xet_range_resumes{0};    // ranges resumed after a transport failure
  std::atomic<std::uint64_t> xet_chunks_fetched{0};   // chunks taken from fetched ranges
  std::atomic<std::uint64_t> xet_bytes_fetched{0};    // their unpacked bytes
  std::atomic<std::uint64_t> xet_chunks_reused{0};    // chunks read from the local chunk store
  std::atomic<std::uint64_t> xet_bytes_reused{0};     // their bytes (whole local files included)

  // "hubgate_upstream_<name> <value>\n" lines, with # TYPE comments.
  std::string render_prometheus() const;
};

}  // namespace hubgate::upstream
