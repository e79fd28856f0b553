// HTTP Range header parsing (RFC 9110 §14) for single byte ranges.
//
// `parse_range(value, size)` interprets `bytes=a-b`, `bytes=a-` and `bytes=-n` against a
// representation of `size` bytes:
//   - kind::satisfiable: serve [first, last] inclusive with 206;
//   - kind::unsatisfiable: 416 with `Content-Range: bytes */size`;
//   - kind::multiple: several ranges, at least one satisfiable; hubgate answers 200 with the
//     whole body (allowed by RFC 9110 §14.2); several ranges none of which is satisfiable are
//     kind::unsatisfiable;
//   - Errc::invalid_argument: not a valid byte-range set (another unit, bad numbers, a last
//     position before the first); a download ignores such a field (200, whole body).
// The unit is matched case-insensitively.
// Numbers are parsed strictly (digits only, no overflow). Pure; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "util/error.hpp"

namespace hubgate::http {

struct ByteRange {
  enum class Kind { satisfiable, unsatisfiable, multiple };
  Kind kind = Kind::satisfiable;
  std::uint64_t first = 0;
  std::uint64_t last = 0;  // inclusive
  std::uint64_t length() const { return last - first + 1; }
};

Result<ByteRange> parse_range(std::string_view value, std::uint64_t size);

// "bytes a-b/size"
std::string content_range(const ByteRange& r, std::uint64_t size);

// What a download answers for an optional Range header over `size` bytes:
//   - no header, an invalid one (RFC 9110 §14.2: ignored), or several ranges: 200 with [0, size);
//   - one satisfiable range: 206 with that slice and `Content-Range: bytes a-b/size`;
//   - unsatisfiable: 416 with `Content-Range: bytes */size`;
//   - zero-length representation: 200, empty, with `Content-Range: bytes */0` (hub-api.md §1).
// Never fails today; the Result leaves room for a caller-visible refusal.
struct RangeSelection {
  int status = 200;
  std::uint64_t first = 0;
  std::uint64_t length = 0;
  std::optional<std::string> content_range;  // the Content-Range header to send, if any
};
Result<RangeSelection> select_range(std::optional<std::string_view> header, std::uint64_t size);

}  // namespace hubgate::http
