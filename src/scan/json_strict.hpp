// Strict JSON parsing for scanners: nlohmann::json's SAX parser (which validates UTF-8 and the
// grammar, strict about trailing content) wrapped to also reject duplicate object keys and to
// bound nesting depth, without exceptions crossing the call.
//
// Duplicate keys matter because parsers disagree on them (first wins vs last wins): a file that
// one loader reads one way and the scanner another is the classic bypass. Depth is bounded so
// hostile input cannot make the scanner recurse or allocate without limit.
// Thread-safety: pure function.
#pragma once

#include <cstddef>
#include <string_view>

#include <nlohmann/json.hpp>

#include "util/error.hpp"

namespace hubgate::scan {

struct JsonLimits {
  std::size_t max_depth = 128;  // nested objects/arrays
};

// Errors: Errc::corrupt with "offset N: <reason>" for invalid UTF-8/JSON (a NUL byte included), "duplicate key 'k'
// at offset N", or Errc::limit_exceeded for nesting deeper than max_depth.
Result<nlohmann::json> parse_json_strict(std::string_view text, JsonLimits limits = {});

}  // namespace hubgate::scan
