// S3 requests on libcurl's easy interface. One `Call` describes a request (method, full key,
// pre-encoded query, extra headers, a body read from memory or from a file region, the payload
// hash); `once()` performs it on a pooled easy handle and `run()` retries it per the policy in
// the header, re-signing each attempt (a new perform) and rewinding the body (the read callback
// restarts at the region's start; CURLOPT_SEEKFUNCTION for libcurl's own rewinds).
//
// Response bodies of 2xx GETs go to the caller's sink as they arrive; every other body (XML
// results and errors) is collected, bounded, and parsed with a small tag scanner (S3's XML is
// flat and machine-written; entities are decoded for keys).
#include "store/s3_client.hpp"

#include <curl/curl.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "crypto/sha.hpp"
#include "util/hex.hpp"
#include "util/parse.hpp"

namespace hubgate::store {

namespace {

constexpr const char* kEmptySha = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr std::uint64_t kMaxCollect = 4u << 20;  // XML answers and error bodies

std::string xml_unescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '&') {
      out += s[i];
      continue;
    }
    auto semi = s.find(';', i);
    if (semi == std::string_view::npos) {
      out += s[i];
      continue;
    }
    std::string_view ent = s.substr(i + 1, semi - i - 1);
    if (ent == "amp") out += '&';
    else if (ent == "lt") out += '<';
    else if (ent == "gt") out += '>';
    else if (ent == "quot") out += '"';
    else if (ent == "apos") out += '\'';
    else if (ent.size() > 1 && ent[0] == '#') {
      auto v = ent[1] == 'x' ? std::optional<std::uint64_t>() : parse_u64(ent.substr(1));
      if (v && *v < 128) out += char(*v);
      else out.append(s.substr(i, semi - i + 1));
    } else {
      out.append(s.substr(i, semi - i + 1));
    }
    i = semi;
  }
  return out;
}

// The text of the first <tag>…</tag> at or after `from`; `end` gets the position after it.
std::optional<std::string> xml_tag(std::string_view xml, std::string_view tag, std::size_t from = 0, std::size_t* end = nullptr) {
  std::string open = "<" + std::string(tag) + ">", close = "</" + std::string(tag) + ">";
  auto a = xml.find(open, from);
  if (a == std::string_view::npos) return std::nullopt;
  auto b = xml.find(close, a + open.size());
  if (b == std::string_view::npos) return std::nullopt;
  if (end) *end = b + close.size();
  return xml_unescape(xml.substr(a + open.size(), b - a - open.size()));
}

struct Reply {
  long status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;                            // non-2xx or collected answers
  std::string code() const { return xml_tag(body, "Code").value_or(""); }
  std::string message() const { return xml_tag(body, "Message").value_or(""); }
};

struct Body {
  enum class Kind { none, memory, file } kind = Kind::none;
  std::string_view mem;
  int fd = -1;
  std::uint64_t offset = 0, length = 0;
  std::uint64_t pos = 0;  // next byte of the region to send
};

struct Call {
  std::string method = "GET";
  std::string key;    // full key (prefix included), not encoded; empty: the bucket itself
  std::string query;  // pre-sorted, SigV4-encoded, every parameter with '='
  std::vector<std::string> headers;
  Body body;
  std::string payload_sha = kEmptySha;
  const S3Client::Sink* sink = nullptr;  // where 2xx bodies go (else collected)
  bool collect_2xx = false;              // collect a 2xx body into Reply::body
  bool require_partial = false;          // a resumed GET: a 200 (whole body again) is an error
};

struct Transfer {
  Call* call;
  Reply* reply;
  CURL* h;
  std::uint64_t delivered = 0;  // bytes handed to the sink
  std::optional<Error> sink_error;
  bool overflow = false;
};

size_t on_write(char* p, size_t sz, size_t n, void* ud) {
  auto* t = static_cast<Transfer*>(ud);
  std::size_t len = sz * n;
  long status = 0;
  curl_easy_getinfo(t->h, CURLINFO_RESPONSE_CODE, &status);
  if (status >= 200 && status < 300 && t->call->sink && !t->call->collect_2xx) {
    if (status != 206 && t->call->require_partial) {
      t->sink_error = Error(Errc::io, "object store ignored the Range of a resumed GET");
      return 0;
    }
    if (auto r = (*t->call->sink)(std::string_view(p, len)); !r) {
      t->sink_error = r.error();
      return 0;
    }
    t->delivered += len;
    return len;
  }
  if (t->reply->body.size() + len > kMaxCollect) {
    t->overflow = true;
    return 0;
  }
  t->reply->body.append(p, len);
  return len;
}

size_t on_header(char* p, size_t sz, size_t n, void* ud) {
  auto* t = static_cast<Transfer*>(ud);
  std::string_view line(p, sz * n);
  if (line.starts_with("HTTP/")) {
    t->reply->headers.clear();
    return sz * n;
  }
  if (auto h = parse_header_line(line)) t->reply->headers[h->first] = std::move(h->second);
  return sz * n;
}

size_t on_read(char* buf, size_t sz, size_t n, void* ud) {
  auto* b = static_cast<Body*>(ud);
  std::size_t want = std::min<std::uint64_t>(sz * n, b->length - b->pos);
  if (want == 0) return 0;
  if (b->kind == Body::Kind::memory) {
    std::memcpy(buf, b->mem.data() + b->pos, want);
  } else {
    ssize_t got;
    do {
      got = ::pread(b->fd, buf, want, off_t(b->offset + b->pos));
    } while (got < 0 && errno == EINTR);
    if (got <= 0) return CURL_READFUNC_ABORT;
    want = std::size_t(got);
  }
  b->pos += want;
  return want;
}

int on_seek(void* ud, curl_off_t off, int origin) {
  auto* b = static_cast<Body*>(ud);
  if (origin != SEEK_SET || off < 0 || std::uint64_t(off) > b->length) return CURL_SEEKFUNC_FAIL;
  b->pos = std::uint64_t(off);
  return CURL_SEEKFUNC_OK;
}

bool retryable_code(const std::string& code) {
  return code == "SlowDown" || code == "InternalError" || code == "ServiceUnavailable" || code == "RequestTimeout" ||
         code == "ConditionalRequestConflict" || code == "OperationAborted";
}

bool retryable(const Reply& r) {
  if (r.status == 500 || r.status == 502 || r.status == 503 || r.status == 504) return true;
  if (r.status == 400 || r.status == 409) return retryable_code(r.code());
  return false;
}

}  // namespace

// ---- helpers ------------------------------------------------------------------------------

std::string s3_uri_encode(std::string_view s, bool keep_slash) {
  static const char* hexd = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
        c == '~' || (keep_slash && c == '/')) {
      out += char(c);
    } else {
      out += '%';
      out += hexd[c >> 4];
      out += hexd[c & 15];
    }
  }
  return out;
}

Result<void> parse_s3_url(std::string_view url, S3Config& cfg) {
  if (!url.starts_with("s3://")) return fail(Errc::invalid_argument, "store URL must be s3://BUCKET[/PREFIX], got '" + std::string(url) + "'");
  std::string_view rest = url.substr(5);
  auto slash = rest.find('/');
  std::string bucket(rest.substr(0, slash));
  std::string prefix(slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1));
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  bool ok = bucket.size() >= 3 && bucket.size() <= 63;
  for (char c : bucket) ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_');
  if (!ok) return fail(Errc::invalid_argument, "invalid bucket name in '" + std::string(url) + "'");
  if (prefix.starts_with("/") || prefix.find("//") != std::string::npos)
    return fail(Errc::invalid_argument, "invalid prefix in '" + std::string(url) + "'");
  cfg.bucket = std::move(bucket);
  cfg.prefix = std::move(prefix);
  return {};
}

std::string aws_endpoint(const std::string& region) { return "https://s3." + region + ".amazonaws.com"; }

// ---- Impl ---------------------------------------------------------------------------------

struct S3Client::Impl {
  const S3Config& cfg;
  std::mutex pool_mu;
  std::vector<CURL*> pool;
  std::atomic<std::uint64_t> requests{0}, retries{0}, multiparts{0}, parts{0}, bytes_up{0}, bytes_down{0};
  std::string sigv4;  // "aws:amz:REGION:s3"
  std::string userpwd;

  explicit Impl(const S3Config& c) : cfg(c), sigv4("aws:amz:" + c.region + ":s3") {}
  ~Impl() {
    for (CURL* h : pool) curl_easy_cleanup(h);
  }

  CURL* acquire() {
    {
      std::lock_guard lk(pool_mu);
      if (!pool.empty()) {
        CURL* h = pool.back();
        pool.pop_back();
        return h;
      }
    }
    return curl_easy_init();
  }
  void release(CURL* h) {
    curl_easy_reset(h);  // keeps the connection cache
    std::lock_guard lk(pool_mu);
    if (pool.size() < 32) pool.push_back(h);
    else curl_easy_cleanup(h);
  }

  std::string full_key(const std::string& key) const { return cfg.prefix.empty() ? key : cfg.prefix + "/" + key; }

  std::string url_of(const Call& c) const {
    std::string path = c.key.empty() ? std::string() : "/" + s3_uri_encode(c.key, true);
    std::string url;
    if (cfg.addressing == S3Addressing::path) {
      url = cfg.endpoint + "/" + cfg.bucket + path;
    } else {
      auto scheme_end = cfg.endpoint.find("://");
      url = cfg.endpoint.substr(0, scheme_end + 3) + cfg.bucket + "." + cfg.endpoint.substr(scheme_end + 3) + (path.empty() ? "/" : path);
    }
    if (!c.query.empty()) url += "?" + c.query;
    return url;
  }

  std::string what(const Call& c) const { return "s3 " + c.method + " " + cfg.bucket + "/" + c.key + (c.query.empty() ? "" : "?" + c.query); }

  // One attempt. Transport failures come back as Errc::unavailable; a sink's error as itself
  // (with `*sink_failed` set).
  Result<Reply> once(Call& c, std::uint64_t* delivered, bool* sink_failed) {
    CURL* h = acquire();
    if (!h) return fail(Errc::internal, "curl_easy_init failed");
    Reply reply;
    Transfer t{&c, &reply, h, 0, std::nullopt, false};
    std::string url = url_of(c);
    struct curl_slist* hdrs = nullptr;
    std::string sha_header = "x-amz-content-sha256: " + c.payload_sha;
    hdrs = curl_slist_append(hdrs, sha_header.c_str());
    if (!cfg.session_token.empty()) hdrs = curl_slist_append(hdrs, ("x-amz-security-token: " + cfg.session_token).c_str());
    for (const auto& hd : c.headers) hdrs = curl_slist_append(hdrs, hd.c_str());
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_AWS_SIGV4, sigv4.c_str());
    curl_easy_setopt(h, CURLOPT_USERNAME, cfg.access_key.c_str());
    curl_easy_setopt(h, CURLOPT_PASSWORD, cfg.secret_key.c_str());
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 512L * 1024);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, cfg.connect_timeout_s);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1024L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, cfg.low_speed_time_s);
    c.body.pos = 0;
    if (c.method == "HEAD") {
      curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (c.method == "GET") {
      curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else if (c.method == "PUT") {
      curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
      curl_easy_setopt(h, CURLOPT_READDATA, &c.body);
      curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, on_seek);
      curl_easy_setopt(h, CURLOPT_SEEKDATA, &c.body);
      curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, curl_off_t(c.body.length));
    } else if (c.method == "POST") {
      curl_easy_setopt(h, CURLOPT_POST, 1L);
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, c.body.mem.data());
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(c.body.mem.size()));
    } else {
      curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, c.method.c_str());
    }
    CURLcode rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &reply.status);
    curl_off_t up = 0;
    curl_easy_getinfo(h, CURLINFO_SIZE_UPLOAD_T, &up);
    curl_slist_free_all(hdrs);
    release(h);
    ++requests;
    bytes_up += std::uint64_t(up);
    bytes_down += t.delivered;
    if (delivered) *delivered += t.delivered;
    if (t.sink_error) {
      if (sink_failed) *sink_failed = true;
      return fail(*t.sink_error);
    }
    if (t.overflow) return fail(Errc::limit_exceeded, what(c) + ": answer larger than " + std::to_string(kMaxCollect) + " bytes");
    if (rc != CURLE_OK) return fail(Errc::unavailable, what(c) + ": " + curl_easy_strerror(rc));
    return reply;
  }

  void backoff(int attempt, bool slow_down) {
    auto base = cfg.backoff_base.count() << std::min(attempt, 16);
    if (slow_down) base *= 2;
    auto d = std::min<long long>(base, cfg.backoff_cap.count());
    thread_local std::mt19937_64 rng{std::random_device{}()};
    auto ms = d / 2 + (d > 1 ? std::int64_t(rng() % std::uint64_t(d / 2 + 1)) : 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  }

  // Performs `c` with retries. `prepare(attempt)` runs before each attempt (GET resumes).
  // A reply that is not retryable is returned whatever its status; running out of attempts on
  // transport errors or 5xx gives Errc::unavailable.
  Result<Reply> run(Call& c, const std::function<void(int)>& prepare = {}, std::uint64_t* delivered = nullptr) {
    std::string last;
    for (int attempt = 0; attempt < std::max(1, cfg.max_attempts); ++attempt) {
      if (attempt > 0) ++retries;
      if (prepare) prepare(attempt);
      bool sink_failed = false;
      auto r = once(c, delivered, &sink_failed);
      if (!r) {
        if (sink_failed || r.error().code != Errc::unavailable) return r;
        last = r.error().message;
      } else if (retryable(*r)) {
        last = what(c) + ": " + std::to_string(r->status) + " " + r->code() + " " + r->message();
        if (attempt + 1 < cfg.max_attempts) backoff(attempt, r->code() == "SlowDown");
        continue;
      } else {
        return r;
      }
      if (attempt + 1 < cfg.max_attempts) backoff(attempt, false);
    }
    return fail(Errc::unavailable, "object store unavailable after " + std::to_string(cfg.max_attempts) + " attempts: " + last);
  }

  Error status_error(const Call& c, const Reply& r) const {
    std::string msg = what(c) + ": " + std::to_string(r.status);
    if (!r.code().empty()) msg += " " + r.code();
    if (!r.message().empty()) msg += ": " + r.message();
    if (r.status == 404) return Error(Errc::not_found, msg);
    if (r.status == 403 || r.status == 401) return Error(Errc::permission_denied, msg);
    if (r.status == 416) return Error(Errc::invalid_argument, msg);
    if (r.status >= 500) return Error(Errc::unavailable, msg);
    return Error(Errc::io, msg);
  }

  // PUT with If-None-Match: * (no HEAD first).
  Result<bool> raw_put(const std::string& fkey, Body body, std::string sha) {
    Call c;
    c.method = "PUT";
    c.key = fkey;
    c.body = body;
    c.payload_sha = sha.empty() ? "UNSIGNED-PAYLOAD" : std::move(sha);
    c.headers = {"If-None-Match: *", "Content-Type: application/octet-stream"};
    HG_TRY(auto r, run(c));
    if (r.status == 412) return false;
    if (r.status / 100 != 2) return fail(status_error(c, r));
    return true;
  }

  Result<void> abort_upload(const std::string& fkey, const std::string& upload_id) {
    Call c;
    c.method = "DELETE";
    c.key = fkey;
    c.query = "uploadId=" + s3_uri_encode(upload_id, false);
    HG_TRY(auto r, run(c));
    if (r.status / 100 != 2 && r.status != 404) return fail(status_error(c, r));
    return {};
  }

  Result<bool> multipart(const std::string& fkey, int fd, std::uint64_t size);
};

Result<bool> S3Client::Impl::multipart(const std::string& fkey, int fd, std::uint64_t size) {
  ++multiparts;
  std::uint64_t part = std::max<std::uint64_t>(cfg.part_size, 5ull << 20);
  if (size / part >= 10000) part = ((size / 9999) + (1 << 20)) & ~std::uint64_t((1 << 20) - 1);
  Call create;
  create.method = "POST";
  create.key = fkey;
  create.query = "uploads=";
  create.headers = {"Content-Type: application/octet-stream"};
  HG_TRY(auto cr, run(create));
  if (cr.status / 100 != 2) return fail(status_error(create, cr));
  auto upload_id = xml_tag(cr.body, "UploadId");
  if (!upload_id || upload_id->empty()) return fail(Errc::io, what(create) + ": no UploadId in the answer");
  auto give_up = [&](Error e) -> Result<bool> {
    (void)abort_upload(fkey, *upload_id);
    return fail(std::move(e));
  };
  std::string complete_xml = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">";
  std::uint64_t n = 0;
  for (std::uint64_t off = 0; off < size || (size == 0 && n == 0); off += part) {
    ++n;
    Call up;
    up.method = "PUT";
    up.key = fkey;
    up.query = "partNumber=" + std::to_string(n) + "&uploadId=" + s3_uri_encode(*upload_id, false);
    up.body.kind = Body::Kind::file;
    up.body.fd = fd;
    up.body.offset = off;
    up.body.length = std::min(part, size - off);
    up.payload_sha = "UNSIGNED-PAYLOAD";
    auto r = run(up);
    if (!r) return give_up(r.error());
    if (r->status / 100 != 2) return give_up(status_error(up, *r));
    auto etag = r->headers.find("etag");
    if (etag == r->headers.end()) return give_up(Error(Errc::io, what(up) + ": no ETag for the part"));
    ++parts;
    std::string tag = etag->second;
    std::string esc;
    for (char ch : tag) esc += ch == '&' ? std::string("&amp;") : ch == '<' ? std::string("&lt;") : ch == '>' ? std::string("&gt;") : std::string(1, ch);
    complete_xml += "<Part><PartNumber>" + std::to_string(n) + "</PartNumber><ETag>" + esc + "</ETag></Part>";
    if (size == 0) break;
  }
  complete_xml += "</CompleteMultipartUpload>";
  Call done;
  done.method = "POST";
  done.key = fkey;
  done.query = "uploadId=" + s3_uri_encode(*upload_id, false);
  done.body.kind = Body::Kind::memory;
  done.body.mem = complete_xml;
  done.body.length = complete_xml.size();
  done.payload_sha = crypto::sha256_hex(complete_xml);
  done.headers = {"Content-Type: application/xml", "If-None-Match: *"};
  for (int attempt = 0;; ++attempt) {
    auto r = run(done);
    if (!r) return give_up(r.error());
    if (r->status == 412) {
      (void)abort_upload(fkey, *upload_id);
      return false;
    }
    if (r->status == 404 && attempt > 0) {  // a retried Complete whose first try went through
      Call h;
      h.method = "HEAD";
      h.key = fkey;
      HG_TRY(auto hr, run(h));
      if (hr.status == 200) return true;
    }
    if (r->status / 100 != 2) return give_up(status_error(done, *r));
    if (r->body.find("<Error>") != std::string::npos) {  // 200 with an error body
      if (retryable_code(r->code()) && attempt + 1 < cfg.max_attempts) {
        ++retries;
        backoff(attempt, r->code() == "SlowDown");
        continue;
      }
      return give_up(Error(Errc::io, what(done) + ": " + r->code() + " " + r->message()));
    }
    return true;
  }
}

// ---- S3Client -----------------------------------------------------------------------------

S3Client::S3Client(S3Config cfg) : cfg_(std::move(cfg)) {
  static std::once_flag curl_once;
  std::call_once(curl_once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  while (!cfg_.endpoint.empty() && cfg_.endpoint.back() == '/') cfg_.endpoint.pop_back();
  while (!cfg_.prefix.empty() && cfg_.prefix.back() == '/') cfg_.prefix.pop_back();
  impl_ = std::make_unique<Impl>(cfg_);
}

S3Client::~S3Client() = default;

Result<std::optional<std::uint64_t>> S3Client::head(const std::string& key) {
  Call c;
  c.method = "HEAD";
  c.key = impl_->full_key(key);
  HG_TRY(auto r, impl_->run(c));
  if (r.status == 404) return std::optional<std::uint64_t>();
  if (r.status / 100 != 2) return fail(impl_->status_error(c, r));
  auto it = r.headers.find("content-length");
  auto n = it == r.headers.end() ? std::nullopt : parse_u64(it->second);
  if (!n) return fail(Errc::io, impl_->what(c) + ": no valid Content-Length");
  return std::optional<std::uint64_t>(*n);
}

Result<void> S3Client::get(const std::string& key, const Sink& sink, std::optional<std::uint64_t> first,
                           std::optional<std::uint64_t> length) {
  if (length && *length == 0) return {};
  Call c;
  c.method = "GET";
  c.key = impl_->full_key(key);
  c.sink = &sink;
  std::uint64_t delivered = 0;
  auto prepare = [&](int) {
    c.headers.clear();
    c.require_partial = first.has_value() || delivered > 0;  // a Range is sent: only a 206 will do
    if (!first && delivered == 0) return;
    std::uint64_t from = first.value_or(0) + delivered;
    std::string range = "Range: bytes=" + std::to_string(from) + "-";
    if (length) range += std::to_string(first.value_or(0) + *length - 1);
    c.headers.push_back(range);
  };
  HG_TRY(auto r, impl_->run(c, prepare, &delivered));
  if (r.status / 100 != 2) return fail(impl_->status_error(c, r));
  if (length && delivered != *length) {
    auto cr = r.headers.find("content-range");
    auto slash = cr == r.headers.end() ? std::string::npos : cr->second.rfind('/');
    auto total = slash == std::string::npos ? std::nullopt : parse_u64(cr->second.substr(slash + 1));
    if (total && first.value_or(0) + *length > *total)
      return fail(Errc::invalid_argument, impl_->what(c) + ": range " + std::to_string(first.value_or(0)) + "+" +
                                              std::to_string(*length) + " past the end (" + std::to_string(*total) + " bytes)");
    return fail(Errc::io, impl_->what(c) + ": got " + std::to_string(delivered) + " of " + std::to_string(*length) + " bytes");
  }
  if (!length) {  // a whole-object GET must end with every byte the object has
    std::optional<std::uint64_t> expect;
    auto cr = r.headers.find("content-range");
    auto cl = r.headers.find("content-length");
    if (cr != r.headers.end()) {
      auto slash = cr->second.rfind('/');
      auto total = slash == std::string::npos ? std::nullopt : parse_u64(cr->second.substr(slash + 1));
      if (total && *total >= first.value_or(0)) expect = *total - first.value_or(0);
    } else if (cl != r.headers.end()) {
      expect = parse_u64(cl->second);  // a 200: the whole body came in this reply
    }
    if (expect && delivered != *expect)
      return fail(Errc::io, impl_->what(c) + ": got " + std::to_string(delivered) + " of " + std::to_string(*expect) + " bytes");
  }
  return {};
}

Result<std::string> S3Client::get_bytes(const std::string& key, std::optional<std::uint64_t> first, std::optional<std::uint64_t> length) {
  std::string out;
  if (length) out.reserve(*length);
  Sink sink = [&](std::string_view d) -> Result<void> {
    out.append(d);
    return {};
  };
  HG_TRY_VOID(get(key, sink, first, length));
  return out;
}

Result<bool> S3Client::put_if_absent(const std::string& key, std::string_view data, std::string sha256_hex) {
  HG_TRY(auto have, head(key));
  if (have) return false;
  if (sha256_hex.empty()) sha256_hex = crypto::sha256_hex(data);
  Body b;
  b.kind = Body::Kind::memory;
  b.mem = data;
  b.length = data.size();
  return impl_->raw_put(impl_->full_key(key), b, std::move(sha256_hex));
}

Result<bool> S3Client::put_file_if_absent(const std::string& key, const std::string& path, std::string sha256_hex) {
  HG_TRY(auto have, head(key));
  if (have) return false;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(os_error("open", path, errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    return fail(os_error("stat", path, e));
  }
  auto size = std::uint64_t(st.st_size);
  Result<bool> r;
  if (size > cfg_.multipart_threshold) {
    r = impl_->multipart(impl_->full_key(key), fd, size);
  } else {
    Body b;
    b.kind = Body::Kind::file;
    b.fd = fd;
    b.length = size;
    r = impl_->raw_put(impl_->full_key(key), b, std::move(sha256_hex));
  }
  ::close(fd);
  return r;
}

Result<void> S3Client::remove(const std::string& key) {
  Call c;
  c.method = "DELETE";
  c.key = impl_->full_key(key);
  HG_TRY(auto r, impl_->run(c));
  if (r.status / 100 != 2 && r.status != 404) return fail(impl_->status_error(c, r));
  return {};
}

Result<std::vector<S3Object>> S3Client::list(const std::string& key_prefix) {
  std::vector<S3Object> out;
  std::string full = impl_->full_key(key_prefix);
  std::string strip = cfg_.prefix.empty() ? std::string() : cfg_.prefix + "/";
  std::string token;
  for (;;) {
    Call c;
    c.method = "GET";
    c.key = "";
    c.collect_2xx = true;
    // Sorted by name, every parameter with '=' (libcurl 7.88 signs the query verbatim).
    c.query = (token.empty() ? std::string() : "continuation-token=" + s3_uri_encode(token, false) + "&") +
              "list-type=2&prefix=" + s3_uri_encode(full, false);
    HG_TRY(auto r, impl_->run(c));
    if (r.status / 100 != 2) return fail(impl_->status_error(c, r));
    std::size_t pos = 0, end = 0;
    while (auto item = xml_tag(r.body, "Contents", pos, &end)) {
      pos = end;
      auto k = xml_tag(*item, "Key");
      auto sz = xml_tag(*item, "Size");
      if (!k || !k->starts_with(strip)) continue;
      S3Object o;
      o.key = k->substr(strip.size());
      o.size = sz ? parse_u64(*sz).value_or(0) : 0;
      out.push_back(std::move(o));
    }
    if (xml_tag(r.body, "IsTruncated").value_or("false") != "true") break;
    token = xml_tag(r.body, "NextContinuationToken").value_or("");
    if (token.empty()) return fail(Errc::io, impl_->what(c) + ": truncated listing without a continuation token");
  }
  return out;
}

Result<S3Client::Probe> S3Client::probe() {
  std::random_device rd;
  std::string key = impl_->full_key(".hubgate-probe/" + std::to_string(rd()) + std::to_string(rd()));
  std::string data = "hubgate create-if-absent probe";
  Body b;
  b.kind = Body::Kind::memory;
  b.mem = data;
  b.length = data.size();
  HG_TRY(bool first, impl_->raw_put(key, b, crypto::sha256_hex(data)));
  HG_TRY(bool second, impl_->raw_put(key, b, crypto::sha256_hex(data)));
  Call c;
  c.method = "DELETE";
  c.key = key;
  (void)impl_->run(c);
  Probe p;
  p.conditional = first && !second;
  return p;
}

S3Client::Counters S3Client::counters() const {
  Counters c;
  c.requests = impl_->requests;
  c.retries = impl_->retries;
  c.multipart_uploads = impl_->multiparts;
  c.parts = impl_->parts;
  c.bytes_up = impl_->bytes_up;
  c.bytes_down = impl_->bytes_down;
  return c;
}

}  // namespace hubgate::store
