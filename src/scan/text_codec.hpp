// Text codecs shared by the scanner's readers of Python-written data: UTF-8 encoding of a code
// point, the `codecs.escape_decode` / `raw_unicode_escape` decodings that pickle's text opcodes
// use, UTF-8 validation and strict decimal integers. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hubgate::scan {

// Appends code point `cp` (<= 0x10FFFF) as UTF-8.
void append_utf8(std::string& out, std::uint32_t cp);
// codecs.escape_decode (the STRING opcode's body between the quotes); nullopt when invalid.
std::optional<std::string> escape_decode(std::string_view s);
// raw_unicode_escape decoding to UTF-8 (UNICODE opcode); nullopt when invalid.
std::optional<std::string> raw_unicode_decode(std::string_view s);
bool valid_utf8(std::string_view s);
// [+-]digits fitting int64; nullopt otherwise.
std::optional<std::int64_t> parse_decimal(std::string_view s);

}  // namespace hubgate::scan
