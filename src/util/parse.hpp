// Strict parsing of untrusted numbers and tokens: no atoi, no leading '+', no whitespace,
// no overflow; the whole input must be consumed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hubgate {

// Decimal digits only, at most 19 of them (fits in u64 without overflow checks failing).
std::optional<std::uint64_t> parse_u64(std::string_view s);
// "true"/"false"/"1"/"0", case-insensitive.
std::optional<bool> parse_bool(std::string_view s);
// One received header line "Name: value\r\n" as (lowercase name, value without surrounding
// blanks and CR/LF); nullopt for a line without a colon (status line, the blank end line).
std::optional<std::pair<std::string, std::string>> parse_header_line(std::string_view line);
// "a/b//c" -> {"a", "b", "", "c"} (views into `s`): a raw path's segments, empty ones kept.
std::vector<std::string_view> split_segments(std::string_view s);

}  // namespace hubgate
