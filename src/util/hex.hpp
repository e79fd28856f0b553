// Lowercase hex encoding and strict decoding.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "util/byte_reader.hpp"
#include "util/error.hpp"

namespace hubgate {

// The value of one hex digit (either case), or -1 when `c` is not one.
constexpr int hex_digit_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string to_hex(ByteView bytes);
inline std::string to_hex(std::string_view bytes) { return to_hex(as_bytes(bytes)); }

// Accepts upper- or lowercase; fails on odd length or a non-hex character.
Result<std::vector<std::uint8_t>> from_hex(std::string_view hex);

// True when `s` is exactly `n` lowercase hex digits.
bool is_lower_hex(std::string_view s, std::size_t n);

}  // namespace hubgate
