// Internal to src/upstream/: the end and failure steps of the edge's produced bodies.
#pragma once

#include "http/message.hpp"
#include "util/error.hpp"

namespace hubgate::upstream {

inline http::Chunk end_chunk() {
  http::Chunk c;
  c.end = true;
  return c;
}

inline http::Chunk error_chunk(Error e) {
  http::Chunk c;
  c.error = std::move(e);
  return c;
}

}  // namespace hubgate::upstream
