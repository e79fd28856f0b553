// Fuzz target: the fast streaming chunker must equal the reference loop for any input and any
// split into buffers (the first bytes choose the split points). Inputs are stretched to cover
// the 8 KiB minimum: the fuzz bytes are repeated with a counter mixed in.
#include <cstdint>
#include <vector>

#include "xet/chunker.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace hubgate;
  if (size < 2) return 0;
  std::size_t reps = 1 + data[0] % 64;
  std::vector<std::uint8_t> buf;
  buf.reserve(size * reps * 16);
  for (std::size_t r = 0; r < reps * 16; ++r)
    for (std::size_t i = 2; i < size; ++i) buf.push_back(static_cast<std::uint8_t>(data[i] + (data[1] & 1 ? r : 0)));
  ByteView in(buf.data(), buf.size());
  auto ref = xet::chunk_lengths_reference(in);
  if (xet::chunk_lengths(in) != ref) __builtin_trap();
  xet::Chunker c;
  std::vector<std::uint32_t> got;
  std::uint64_t fed = 0, last = 0;
  std::size_t step = 1 + (data[1] >> 1) * 997, off = 0;
  while (off < buf.size()) {
    std::size_t n = std::min(step, buf.size() - off);
    std::vector<std::size_t> cuts;
    c.feed(in.subspan(off, n), cuts);
    for (auto cut : cuts) {
      got.push_back(static_cast<std::uint32_t>(fed + cut - last));
      last = fed + cut;
    }
    fed += n;
    off += n;
  }
  if (auto l = c.finish()) got.push_back(static_cast<std::uint32_t>(l));
  if (got != ref) __builtin_trap();
  return 0;
}
