// libcurl glue for the loader (internal.hpp).
#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <mutex>

#include "loader/internal.hpp"

namespace hubgate::loader::detail {
namespace {

struct Ctx {
  HttpReply* reply;
  const std::function<bool(const char*, std::size_t)>* sink;
  CURL* handle;
  long sink_status;
  int use_sink = -1;  // decided at the first body bytes, from the status
  bool aborted = false;
};

std::size_t on_header(char* p, std::size_t size, std::size_t n, void* ud) {
  auto* c = static_cast<Ctx*>(ud);
  std::string_view line(p, size * n);
  auto colon = line.find(':');
  if (colon != std::string_view::npos && !line.starts_with("HTTP/")) {
    std::string name(line.substr(0, colon));
    for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    std::string_view v = line.substr(colon + 1);
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == '\r' || v.back() == '\n' || v.back() == ' ')) v.remove_suffix(1);
    c->reply->headers.emplace_back(std::move(name), std::string(v));
  }
  return size * n;
}

std::size_t on_body(char* p, std::size_t size, std::size_t n, void* ud) {
  auto* c = static_cast<Ctx*>(ud);
  std::size_t len = size * n;
  c->reply->body_bytes += len;
  if (c->use_sink < 0) {
    long code = 0;
    curl_easy_getinfo(c->handle, CURLINFO_RESPONSE_CODE, &code);
    c->use_sink = (c->sink && *c->sink && code == c->sink_status) ? 1 : 0;
  }
  if (c->use_sink == 1) {
    if (!(*c->sink)(p, len)) {
      c->aborted = true;
      return 0;
    }
    return len;
  }
  if (c->sink && *c->sink) {  // an answer other than the expected one: keep its start
    if (c->reply->body.size() < (64u << 10)) c->reply->body.append(p, std::min<std::size_t>(len, (64u << 10)));
    return len;
  }
  if (c->reply->body.size() + len > (64u << 20)) {
    c->aborted = true;
    return 0;
  }
  c->reply->body.append(p, len);
  return len;
}

}  // namespace

std::optional<std::string> HttpReply::header(std::string_view lower_name) const {
  for (const auto& [k, v] : headers)
    if (k == lower_name) return v;
  return std::nullopt;
}

Conn::Conn() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  handle_ = curl_easy_init();
}

Conn::~Conn() { curl_easy_cleanup(static_cast<CURL*>(handle_)); }

Result<HttpReply> Conn::request(const std::string& method, const std::string& url,
                                const std::vector<std::string>& headers,
                                const std::function<bool(const char*, std::size_t)>& sink, long stall_timeout_s,
                                long sink_status) {
  CURL* h = static_cast<CURL*>(handle_);
  if (!h) return fail(Errc::internal, "curl_easy_init failed");
  HttpReply reply;
  Ctx ctx{&reply, &sink, h, sink_status};
  curl_easy_reset(h);
  curl_slist* list = nullptr;
  for (const auto& hd : headers) list = curl_slist_append(list, hd.c_str());
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  if (method == "HEAD") curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 512L * 1024);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, stall_timeout_s);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &ctx);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &ctx);
  CURLcode rc = curl_easy_perform(h);
  curl_slist_free_all(list);
  if (ctx.aborted) return fail(Errc::io, method + " " + url + ": aborted");
  if (rc != CURLE_OK) return fail(Errc::unavailable, method + " " + url + ": " + curl_easy_strerror(rc));
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &reply.status);
  char* eff = nullptr;
  if (curl_easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &eff) == CURLE_OK && eff) reply.effective_url = eff;
  return reply;
}

std::string encode_segment(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') out += static_cast<char>(c);
    else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string resolve_url(const std::string& endpoint, const std::string& repo_type, const std::string& repo,
                        const std::string& rev, const std::string& path) {
  std::string prefix = repo_type == "models" ? "" : repo_type + "/";
  std::string p;
  std::size_t start = 0;
  while (start <= path.size()) {
    auto slash = path.find('/', start);
    if (slash == std::string::npos) slash = path.size();
    if (!p.empty() || start > 0) p += '/';
    p += encode_segment(std::string_view(path).substr(start, slash - start));
    start = slash + 1;
  }
  return endpoint + "/" + prefix + repo + "/resolve/" + encode_segment(rev) + "/" + p;
}

}  // namespace hubgate::loader::detail
