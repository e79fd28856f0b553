// A small blocking HTTP client on libcurl (used by `hubgate push`; the pull-through upstream
// client builds on it later).
//
// `fetch()` performs one request: the body comes from memory or is streamed from a file; the
// response body is collected in memory (bounded by `max_response_bytes`). An optional progress
// callback receives bytes uploaded so far. Thread-safety: each call uses its own easy handle;
// call `global_init()` once before any threads start.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "http/message.hpp"
#include "util/error.hpp"

namespace hubgate::http {

struct ClientRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;              // used when upload_file is empty
  std::string upload_file;       // stream this file as the body
  std::uint64_t max_response_bytes = 64ull << 20;
  long timeout_s = 0;            // 0 = none (large uploads)
  std::function<void(std::uint64_t done, std::uint64_t total)> progress;
};

struct ClientResponse {
  int status = 0;
  Headers headers;
  std::string body;
};

void global_init();
Result<ClientResponse> fetch(const ClientRequest& req);

}  // namespace hubgate::http
