// Headers of a content-addressed response that a CDN may keep forever (blobs by sha256, xorb
// ranges; README.md "A CDN in front").
#pragma once

#include <string>
#include <string_view>

#include "http/message.hpp"

namespace hubgate::http {

// `Cache-Control: public, max-age=31536000, immutable`, the strong `ETag: "<hash>"`,
// `Accept-Ranges: bytes`.
inline void set_immutable(Response& r, std::string_view hash) {
  r.headers.set("Cache-Control", "public, max-age=31536000, immutable");
  r.headers.set("ETag", "\"" + std::string(hash) + "\"");
  r.headers.set("Accept-Ranges", "bytes");
}

}  // namespace hubgate::http
