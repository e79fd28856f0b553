// libcurl easy-interface client. Each thread keeps one CURL handle (reset per request, which
// keeps its connection cache). Header lines are collected by a callback that starts over at
// every status line, so after redirects only the final response's headers remain. Body bytes
// go to the sink only once the status is known to be 2xx; otherwise they are buffered (capped)
// for error messages. A progress callback implements stall detection and cancellation.
#include "upstream/client.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <mutex>
#include <thread>

#include "util/parse.hpp"

namespace hubgate::upstream {

namespace {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Handle {
  CURL* h = nullptr;
  Handle() { h = curl_easy_init(); }
  ~Handle() {
    if (h) curl_easy_cleanup(h);
  }
};

CURL* thread_handle() {
  thread_local Handle handle;
  return handle.h;
}

struct Transfer {
  HttpResponse* resp;
  const BodySink* sink;
  const std::atomic<bool>* cancel;
  CURL* curl;
  std::uint64_t max_buffered;
  std::int64_t stall_ms;
  std::int64_t last_progress_ms;
  curl_off_t last_dlnow = 0;
  bool started = false;
  bool sink_aborted = false;
  bool too_large = false;
  bool stalled = false;
  bool cancelled = false;
};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * n);
  if (line.starts_with("HTTP/")) {
    t->resp->headers.clear();
    return size * n;
  }
  if (auto h = parse_header_line(line)) t->resp->headers.push_back(std::move(*h));
  return size * n;
}

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t len = size * n;
  t->last_progress_ms = now_ms();
  long status = 0;
  curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
  if (t->sink && status >= 200 && status < 300) {
    if (!t->started) {
      t->started = true;
      if (t->sink->on_start && !t->sink->on_start(status, t->resp->headers)) {
        t->sink_aborted = true;
        return 0;
      }
    }
    if (!t->sink->on_data(ByteView(reinterpret_cast<const std::uint8_t*>(data), len))) {
      t->sink_aborted = true;
      return 0;  // aborts with CURLE_WRITE_ERROR
    }
    return len;
  }
  if (t->resp->body.size() + len > t->max_buffered) {
    t->too_large = true;
    return 0;
  }
  t->resp->body.append(data, len);
  return len;
}

int on_progress(void* user, curl_off_t, curl_off_t dlnow, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  if (t->cancel && t->cancel->load(std::memory_order_relaxed)) {
    t->cancelled = true;
    return 1;
  }
  if (t->started && !t->sink_aborted && t->sink->on_pause) t->sink->on_pause();
  std::int64_t now = now_ms();
  if (dlnow != t->last_dlnow) {
    t->last_dlnow = dlnow;
    t->last_progress_ms = now;
  } else if (t->stall_ms > 0 && now - t->last_progress_ms > t->stall_ms) {
    t->stalled = true;
    return 1;
  }
  return 0;
}

}  // namespace

const std::string* HttpResponse::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return &v;
  }
  return nullptr;
}

std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value) {
  auto v = parse_u64(trim(value));
  if (!v) return std::nullopt;
  return std::chrono::milliseconds(std::min<std::uint64_t>(*v, 86400) * 1000);
}

Client::Client(ClientOptions options, Metrics* metrics) : opt_(std::move(options)), metrics_(metrics) {
  global_init();
}

std::int64_t Client::backoff_left_ms() const {
  return std::max<std::int64_t>(0, backoff_until_ms_.load() - now_ms());
}

Result<HttpResponse> Client::send(const HttpRequest& request, const BodySink* sink,
                                  const std::atomic<bool>* cancel) {
  for (int attempt = 0;; ++attempt) {
    std::int64_t left = backoff_left_ms();
    if (left > 0) {
      if (left > opt_.max_retry_wait.count()) {
        return fail(Errc::unavailable,
                    "upstream rate limit: backing off for " + std::to_string(left) + " ms more");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(left));
    }
    HG_TRY(HttpResponse resp, send_once(request, sink, cancel));
    if (resp.status != 429) return resp;
    auto wait = opt_.default_retry_after;
    if (const auto* ra = resp.header("retry-after")) {
      if (auto parsed = parse_retry_after(*ra)) wait = *parsed;
    }
    std::int64_t until = now_ms() + wait.count();
    std::int64_t cur = backoff_until_ms_.load();
    while (cur < until && !backoff_until_ms_.compare_exchange_weak(cur, until)) {
    }
    if (attempt >= 1 || wait > opt_.max_retry_wait) return resp;
  }
}

Result<HttpResponse> Client::send_once(const HttpRequest& request, const BodySink* sink,
                                       const std::atomic<bool>* cancel) {
  CURL* curl = thread_handle();
  if (!curl) return fail(Errc::internal, "curl_easy_init failed");
  curl_easy_reset(curl);
  HttpResponse resp;
  Transfer t{&resp, sink, cancel, curl, opt_.max_buffered_body, opt_.stall_timeout.count(), now_ms()};

  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, opt_.user_agent.c_str());
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(opt_.connect_timeout.count()));
  if (opt_.request_timeout.count() > 0)
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(opt_.request_timeout.count()));
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, request.follow_redirects ? 1L : 0L);
  curl_easy_setopt(curl, CURLOPT_MAXREDIRS, opt_.max_redirects);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, nullptr);  // identity: sizes must match bytes
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &t);
  curl_easy_setopt(curl, CURLOPT_BUFFERSIZE, 256L * 1024);
  if (request.method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (request.method == "POST") {
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    // `request` outlives the transfer; point curl at its body (no copy).
    std::size_t len = request.body ? request.body->size() : 0;
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(len));
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body ? request.body->data() : "");
  } else if (request.method != "GET") {
    return fail(Errc::invalid_argument, "upstream client: unsupported method " + request.method);
  }
  curl_slist* list = nullptr;
  for (const auto& [k, v] : request.headers) list = curl_slist_append(list, (k + ": " + v).c_str());
  list = curl_slist_append(list, "Expect:");
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);

  if (metrics_) metrics_->upstream_requests.fetch_add(1, std::memory_order_relaxed);
  CURLcode rc = curl_easy_perform(curl);
  curl_slist_free_all(list);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp.status);
  char* eff = nullptr;
  curl_easy_getinfo(curl, CURLINFO_EFFECTIVE_URL, &eff);
  if (eff) resp.effective_url = eff;
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, nullptr);

  auto error = [&](Errc code, std::string what) -> Result<HttpResponse> {
    if (metrics_) metrics_->upstream_errors.fetch_add(1, std::memory_order_relaxed);
    return fail(code, request.method + " " + request.url + ": " + what);
  };
  if (rc != CURLE_OK) {
    if (t.cancelled) return fail(Errc::unavailable, request.method + " " + request.url + ": cancelled");
    if (t.sink_aborted) return fail(Errc::corrupt, request.method + " " + request.url + ": body rejected by receiver");
    if (t.too_large)
      return error(Errc::limit_exceeded, "reply body larger than " + std::to_string(opt_.max_buffered_body) + " bytes");
    if (t.stalled)
      return error(Errc::unavailable, "stalled: no data for " + std::to_string(opt_.stall_timeout.count()) + " ms");
    return error(Errc::unavailable, curl_easy_strerror(rc));
  }
  if (resp.status >= 500 || resp.status == 429) {
    if (metrics_) metrics_->upstream_errors.fetch_add(1, std::memory_order_relaxed);
  }
  return resp;
}

}  // namespace hubgate::upstream
