// Private to src/loader: one libcurl connection (easy handle, kept alive between requests) and
// the few requests the loader makes. Thread-safety: a Conn belongs to one thread at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/error.hpp"

namespace hubgate::loader::detail {

struct HttpReply {
  long status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // every response's (redirects too), names lower-case
  std::string effective_url;
  std::string body;  // collected when no sink is given (bounded)
  std::uint64_t body_bytes = 0;
  // The value of a header: the first response that has it (redirect hops first).
  std::optional<std::string> header(std::string_view lower_name) const;
};

class Conn {
 public:
  Conn();
  ~Conn();
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  // `sink` gets the body of the final response when its status is `sink_status` (any other
  // answer's body is collected instead, up to 64 KiB); returning false aborts the transfer
  // (the result is then an Errc::io error "aborted"). Without a sink the body is collected up
  // to 64 MiB. Redirects are followed (Authorization is not sent to another host).
  Result<HttpReply> request(const std::string& method, const std::string& url,
                            const std::vector<std::string>& headers,
                            const std::function<bool(const char*, std::size_t)>& sink = {},
                            long stall_timeout_s = 60, long sink_status = 206);

 private:
  void* handle_;
};

// "http://h/{prefix}{repo}/resolve/{rev}/{path}" with each path segment percent-encoded.
std::string resolve_url(const std::string& endpoint, const std::string& repo_type, const std::string& repo,
                        const std::string& rev, const std::string& path);
std::string encode_segment(std::string_view s);

}  // namespace hubgate::loader::detail
