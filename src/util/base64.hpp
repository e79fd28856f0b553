// Standard base64 (RFC 4648, '+' '/' alphabet, '=' padding) encoding and strict decoding.
// Decoding rejects characters outside the alphabet, bad padding and non-zero trailing bits;
// By default ASCII whitespace (space, \t, \r, \n) is skipped; Base64DecodeOptions selects the
// strict variant used for JSON/protobuf fields (no whitespace, URL-safe '-' '_' accepted, padding
// optional but, when present, complete). Pure; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "util/error.hpp"

namespace hubgate {

struct Base64DecodeOptions {
  bool skip_whitespace = true;   // false: any whitespace is an error
  bool accept_url_safe = false;  // true: '-' and '_' decode as '+' and '/'
  bool require_padding = true;   // false: unpadded input (length % 4 of 2 or 3) is accepted
};

std::string base64_encode(std::string_view data);
Result<std::string> base64_decode(std::string_view text, const Base64DecodeOptions& opts = {});

}  // namespace hubgate
