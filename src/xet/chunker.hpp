// Xet content-defined chunker (spec/xet.md §2), bit-exact with xet-core (XC).
//
// Gear rolling hash h = (h << 1) + GEAR[b] over each chunk; a chunk ends after the byte where
// (h & 0xFFFF000000000000) == 0 and the chunk is >= 8 KiB, or at 128 KiB. The first 8127 bytes of
// every chunk are never hashed (the 64-bit shift forgets them before any admissible cut).
//
// Streaming: `Chunker` carries the hash, the chunk length and the skip position between calls,
// so any split of the input into buffers yields the same boundaries as one call over the whole.
// Divergence note: the npm peer `@huggingface/xetchunk-wasm` 0.2.0 lacks the `len >= MIN` test
// and may cut at 8128..8191 bytes; we follow XC (hubgate chunks data itself for dedup).
//
// Thread-safety: a `Chunker` is a small value; one per stream. Free functions are pure.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "util/byte_reader.hpp"

namespace hubgate::xet {

inline constexpr std::size_t kTargetChunk = 65536;
inline constexpr std::size_t kMinChunk = kTargetChunk / 8;   // 8192
inline constexpr std::size_t kMaxChunk = kTargetChunk * 2;   // 131072
inline constexpr std::uint64_t kChunkMask = 0xFFFF000000000000ULL;

extern const std::uint64_t kGearTable[256];

class Chunker {
 public:
  // Consumes `data`; appends to `cuts` the offsets *within data* just past each chunk that ends
  // inside it (strictly increasing, each in 1..data.size()). Bytes after the last cut belong to
  // the pending chunk, which continues in the next call.
  void feed(ByteView data, std::vector<std::size_t>& cuts);
  // Finds the first cut in `data` only: returns the offset within data just past it, or 0 if the
  // whole buffer was consumed without one (the bytes stay part of the pending chunk).
  std::size_t next_cut(ByteView data);
  // End of input: returns the length of the final (pending, non-empty) chunk, or 0; resets.
  std::uint64_t finish();
  // Bytes of the current, not yet cut chunk.
  std::uint64_t pending() const { return len_; }

 private:
  std::uint64_t len_ = 0;  // bytes of the current chunk consumed so far
  std::uint64_t h_ = 0;    // gear hash state
};

// One-shot: chunk lengths of `data` (empty input: no chunks).
std::vector<std::uint32_t> chunk_lengths(ByteView data);

// Reference implementation: the plain byte-at-a-time loop of the spec, for tests and fuzzing.
// `hj_compat` drops the `len >= MIN` test, reproducing xetchunk-wasm 0.2.0 (cuts at 8128..8191);
// only for predicting that client's chunks, never for storing.
std::vector<std::uint32_t> chunk_lengths_reference(ByteView data, bool hj_compat = false);

}  // namespace hubgate::xet
