// upstream::Client — the gateway's HTTP client to its upstream (another hubgate or the Hub).
//
// One blocking `send()` per request on libcurl's easy interface, with a thread-local handle
// so connections are reused per thread. Redirects (CDN hosts) are followed by the gateway when
// `follow_redirects` is set; libcurl drops the `Authorization` header when a redirect changes
// host or port, so a token is never leaked to a CDN. Response headers are those of the final
// response (names lowercased). A body goes either to `HttpResponse::body` (capped at
// `max_buffered_body`) or, for a 2xx when a sink is given, to the sink as it arrives.
//
// Stalls: a transfer that receives no byte for `stall_timeout` is aborted (Errc::unavailable).
// Rate limits: a 429 sets a client-wide "backoff until" from `Retry-After` (seconds, default
// `default_retry_after`). While backing off, send() waits when the rest of the backoff is at most
// `max_retry_wait` (and then retries the 429 once), otherwise fails fast with Errc::unavailable
// without contacting upstream.
//
// Thread-safety: send() may be called from any number of threads at once.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "upstream/metrics.hpp"
#include "util/byte_reader.hpp"
#include "util/error.hpp"

namespace hubgate::upstream {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method = "GET";  // GET, HEAD or POST
  std::string url;             // absolute
  Headers headers;             // sent as given
  std::optional<std::string> body;  // POST body
  bool follow_redirects = true;
};

struct HttpResponse {
  long status = 0;
  Headers headers;  // names lowercased, final response only
  std::string body;  // for non-streamed replies (and for error replies of streamed ones)
  std::string effective_url;
  // First value of a header (name lowercase), or nullptr.
  const std::string* header(std::string_view name) const;
};

// Receives body bytes as they arrive; return false to abort the transfer.
using DataSink = std::function<bool(ByteView)>;

// Streaming receiver of a 2xx reply: `on_start` (optional) sees the final status and headers
// once, before the first body byte; `on_data` gets the bytes. Either returning false aborts.
// `on_pause` (optional) runs once the body started, each time libcurl has handed over the bytes
// it could read without waiting (from its progress callback): a receiver that batches its own
// work (e.g. progress notifications) flushes there.
struct BodySink {
  std::function<bool(long status, const Headers& headers)> on_start;
  DataSink on_data;
  std::function<void()> on_pause;
};

struct ClientOptions {
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds stall_timeout{30000};   // no byte for this long aborts
  std::chrono::milliseconds request_timeout{0};     // 0 = none (bodies can be huge)
  std::uint64_t max_buffered_body = 64ull << 20;    // metadata bodies larger than this fail
  long max_redirects = 5;
  std::chrono::milliseconds default_retry_after{1000};
  std::chrono::milliseconds max_retry_wait{2000};
  std::string user_agent = "hubgate/0.1";
};

class Client {
 public:
  explicit Client(ClientOptions options = {}, Metrics* metrics = nullptr);

  // Transport failures -> Errc::unavailable (connect, reset, stall) or Errc::io; any HTTP
  // status is a success at this level (callers map statuses). `cancel`, when given, aborts the
  // transfer soon after it becomes true.
  Result<HttpResponse> send(const HttpRequest& request, const BodySink* sink = nullptr,
                            const std::atomic<bool>* cancel = nullptr);

  // Milliseconds of rate-limit backoff left (0 when none).
  std::int64_t backoff_left_ms() const;

 private:
  Result<HttpResponse> send_once(const HttpRequest& request, const BodySink* sink,
                                 const std::atomic<bool>* cancel);
  ClientOptions opt_;
  Metrics* metrics_;
  std::atomic<std::int64_t> backoff_until_ms_{0};  // steady-clock ms
};

// Parses Retry-After: delta-seconds only (dates -> nullopt).
std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value);

}  // namespace hubgate::upstream
