// URL helpers: strict percent-decoding, query strings and form bodies, percent-encoding.
//
// Decoding is strict: a '%' must be followed by two hex digits, and a decoded NUL is rejected
// (Errc::invalid_argument with a precise message). `+` means space only in query/form values
// (`decode_form_component`), never in paths. Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/error.hpp"

namespace hubgate::http {

// "%2F" -> "/"; fails on malformed escapes or a decoded NUL byte.
Result<std::string> percent_decode(std::string_view s);
// As percent_decode, and '+' -> ' ' (application/x-www-form-urlencoded).
Result<std::string> decode_form_component(std::string_view s);

// Parses "a=1&b=2&a=3" (form or query) into decoded pairs in order; empty items are skipped.
Result<std::vector<std::pair<std::string, std::string>>> parse_query(std::string_view q);

// First value of `key`, or "".
std::string query_get(const std::vector<std::pair<std::string, std::string>>& q, std::string_view key);
std::vector<std::string> query_all(const std::vector<std::pair<std::string, std::string>>& q, std::string_view key);

// A request target in absolute-form ("http://host:8080/a?b", RFC 9112 §3.2.2), which every
// server must accept, split into its authority ("host:8080") and origin-form ("/a?b"; "/" when
// the URL has no path). nullopt when `target` is not absolute-form (origin-form, "*", …).
struct AbsoluteTarget {
  std::string authority;
  std::string origin_form;
};
std::optional<AbsoluteTarget> split_absolute_form(std::string_view target);

// Encodes everything except unreserved characters (and '/' when keep_slash).
std::string percent_encode(std::string_view s, bool keep_slash);

}  // namespace hubgate::http
