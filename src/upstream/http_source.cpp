// HttpByteSource: a fill's bytes from an HTTP upstream (fill.hpp), whole or by ranges.
#include <algorithm>

#include "upstream/fill.hpp"
#include "util/parse.hpp"

namespace hubgate::upstream {

namespace {
// "bytes a-b/N" -> a
std::optional<std::uint64_t> content_range_start(std::string_view v) {
  if (!v.starts_with("bytes ")) return std::nullopt;
  v.remove_prefix(6);
  auto dash = v.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  return parse_u64(v.substr(0, dash));
}
}  // namespace

Result<void> HttpByteSource::fetch(const FillSpec& spec, std::uint64_t offset, const DataSink& sink,
                                   const std::atomic<bool>& cancel) {
  return fetch_range(spec, offset, 0, sink, cancel);
}

// length 0: from `offset` to the end (no Range header at offset 0).
Result<void> HttpByteSource::fetch_range(const FillSpec& spec, std::uint64_t offset, std::uint64_t length,
                                         const DataSink& sink, const std::atomic<bool>& cancel) {
  HttpRequest req;
  req.url = spec.url;
  req.headers = spec.headers;
  req.headers.emplace_back("Accept-Encoding", "identity");
  if (length > 0) {
    req.headers.emplace_back("Range", "bytes=" + std::to_string(offset) + "-" + std::to_string(offset + length - 1));
  } else if (offset > 0) {
    req.headers.emplace_back("Range", "bytes=" + std::to_string(offset) + "-");
  }
  std::uint64_t skip = 0;
  std::optional<Error> start_error;
  BodySink body;
  body.on_pause = [&] { sink(ByteView{}); };
  body.on_start = [&](long status, const Headers& headers) {
    if (offset == 0 && length == 0) return true;
    if (status == 200) {
      skip = offset;  // upstream ignored the Range: drop what we already have
      return true;
    }
    for (const auto& [k, v] : headers) {
      if (k == "content-range") {
        auto start = content_range_start(v);
        if (start && *start == offset) return true;
        start_error = Error(Errc::corrupt, "resume at " + std::to_string(offset) + ": upstream answered Content-Range " + v);
        return false;
      }
    }
    start_error = Error(Errc::corrupt, "resume: 206 without Content-Range");
    return false;
  };
  body.on_data = [&](ByteView b) {
    if (skip > 0) {
      std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(skip, b.size()));
      skip -= n;
      b = b.subspan(n);
      if (b.empty()) return true;
    }
    return b.empty() || sink(b);
  };
  auto resp = client_.send(req, &body, &cancel);
  if (start_error) return fail(*start_error);
  if (!resp) return fail(resp.error());
  long s = resp->status;
  if (s >= 200 && s < 300) {
    if (skip > 0) return fail(Errc::unavailable, "upstream restarted the body and ended before the resume offset");
    return {};
  }
  std::string what = "GET " + spec.url + ": upstream status " + std::to_string(s);
  if (s >= 500 || s == 429 || s == 408) return fail(Errc::unavailable, what);
  if (s == 404) return fail(Errc::not_found, what);
  if (s == 401 || s == 403) return fail(Errc::permission_denied, what);
  if (s == 416) return fail(Errc::corrupt, what + " (range not satisfiable: upstream file shorter than declared)");
  return fail(Errc::corrupt, what);
}

}  // namespace hubgate::upstream
