// libcurl easy interface: headers and body collected by callbacks; uploads read from a FILE*
// (CURLOPT_READDATA) with the size declared up front, so nothing is buffered whole.
#include "http/client.hpp"

#include <curl/curl.h>
#include <sys/stat.h>

#include <cstdio>

namespace hubgate::http {

namespace {
struct Sink {
  ClientResponse* res;
  std::uint64_t limit;
  bool overflow = false;
};

size_t on_body(char* p, size_t sz, size_t n, void* ud) {
  auto* s = static_cast<Sink*>(ud);
  if (s->res->body.size() + sz * n > s->limit) {
    s->overflow = true;
    return 0;
  }
  s->res->body.append(p, sz * n);
  return sz * n;
}

size_t on_header(char* p, size_t sz, size_t n, void* ud) {
  auto* s = static_cast<Sink*>(ud);
  std::string_view line(p, sz * n);
  if (line.starts_with("HTTP/")) {
    s->res->headers = Headers{};  // a new response (after 100 Continue or a redirect)
    return sz * n;
  }
  auto colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string_view name = line.substr(0, colon), value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
      value.remove_suffix(1);
    s->res->headers.add(std::string(name), std::string(value));
  }
  return sz * n;
}

struct Progress {
  const ClientRequest* req;
};

int on_progress(void* ud, curl_off_t, curl_off_t, curl_off_t ultotal, curl_off_t ulnow) {
  auto* p = static_cast<Progress*>(ud);
  if (p->req->progress) p->req->progress(std::uint64_t(ulnow), std::uint64_t(ultotal));
  return 0;
}
}  // namespace

void global_init() { curl_global_init(CURL_GLOBAL_DEFAULT); }

Result<ClientResponse> fetch(const ClientRequest& req) {
  CURL* h = curl_easy_init();
  if (!h) return fail(Errc::internal, "curl_easy_init failed");
  ClientResponse res;
  Sink sink{&res, req.max_response_bytes};
  Progress prog{&req};
  struct curl_slist* hdrs = nullptr;
  for (const auto& [k, v] : req.headers) hdrs = curl_slist_append(hdrs, (k + ": " + v).c_str());
  hdrs = curl_slist_append(hdrs, "Expect:");
  std::FILE* upload = nullptr;

  curl_easy_setopt(h, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &sink);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  // Large receive buffer: a body arrives in up to 512 KiB pieces (libcurl's default is 16 KiB),
  // so a fill writes, hashes and wakes its readers per 512 KiB instead of per 16 KiB.
  curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 512L * 1024);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
  if (req.timeout_s > 0) curl_easy_setopt(h, CURLOPT_TIMEOUT, req.timeout_s);
  if (req.progress) {
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, &prog);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  }
  if (!req.upload_file.empty()) {
    struct stat st {};
    upload = std::fopen(req.upload_file.c_str(), "rb");
    if (!upload || ::fstat(fileno(upload), &st) != 0) {
      if (upload) std::fclose(upload);
      curl_slist_free_all(hdrs);
      curl_easy_cleanup(h);
      return fail(Errc::io, "cannot open " + req.upload_file);
    }
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_READDATA, upload);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, curl_off_t(st.st_size));
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  } else if (req.method == "GET") {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  } else if (req.method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, req.body.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(req.body.size()));
  }
  CURLcode rc = curl_easy_perform(h);
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  res.status = int(status);
  if (upload) std::fclose(upload);
  curl_slist_free_all(hdrs);
  curl_easy_cleanup(h);
  if (sink.overflow) return fail(Errc::limit_exceeded, "response from " + req.url + " exceeds the size limit");
  if (rc != CURLE_OK) return fail(Errc::unavailable, req.method + " " + req.url + ": " + curl_easy_strerror(rc));
  return res;
}

}  // namespace hubgate::http
