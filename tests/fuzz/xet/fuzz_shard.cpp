// Fuzz target: shard parser; a parsed shard must re-serialize and parse to the same content.
#include <cstdint>

#include "xet/shard.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace hubgate;
  auto s = xet::parse_shard(ByteView(data, size));
  if (!s) return 0;
  for (bool footer : {false, true}) {
    xet::ShardWriteOptions o;
    o.footer = footer;
    std::string bytes = xet::serialize_shard(*s, o);
    auto again = xet::parse_shard(as_bytes(bytes));
    if (!again || again->files.size() != s->files.size() || again->xorbs != s->xorbs) __builtin_trap();
  }
  return 0;
}
