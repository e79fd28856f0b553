// Standard base64 (RFC 4648, '+' '/' alphabet, '=' padding) encoding and strict decoding.
// Decoding rejects characters outside the alphabet, bad padding and non-zero trailing bits;
// ASCII whitespace (space, \t, \r, \n) is skipped. Pure; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "util/error.hpp"

namespace hubgate {

std::string base64_encode(std::string_view data);
Result<std::string> base64_decode(std::string_view text);

}  // namespace hubgate
