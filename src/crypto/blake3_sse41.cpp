// BLAKE3 hash_many with SSE4.1: 4 inputs at once, one input per 32-bit lane of __m128i.
// Each block of the 4 inputs is loaded as 16 vectors and transposed (4x4 word transposes) so
// that vector i holds message word i of every input; the state is word-sliced the same way, so
// the round function is the scalar one on vectors. Compiled with -msse4.1 (see CMakeLists.txt);
// only reached when the CPU supports SSE4.1. Fewer than 4 inputs go to the portable code.
#include <immintrin.h>

#include "crypto/blake3_impl.hpp"

namespace hubgate::crypto::blake3_detail {
namespace {

using V = __m128i;

__attribute__((always_inline)) inline V add(V a, V b) { return _mm_add_epi32(a, b); }
__attribute__((always_inline)) inline V xor_(V a, V b) { return _mm_xor_si128(a, b); }
__attribute__((always_inline)) inline V splat(std::uint32_t x) {
  return _mm_set1_epi32(static_cast<int>(x));
}
__attribute__((always_inline)) inline V rot16(V x) {
  return _mm_shuffle_epi8(x, _mm_set_epi8(13, 12, 15, 14, 9, 8, 11, 10, 5, 4, 7, 6, 1, 0, 3, 2));
}
__attribute__((always_inline)) inline V rot12(V x) {
  return _mm_or_si128(_mm_srli_epi32(x, 12), _mm_slli_epi32(x, 20));
}
__attribute__((always_inline)) inline V rot8(V x) {
  return _mm_shuffle_epi8(x, _mm_set_epi8(12, 15, 14, 13, 8, 11, 10, 9, 4, 7, 6, 5, 0, 3, 2, 1));
}
__attribute__((always_inline)) inline V rot7(V x) {
  return _mm_or_si128(_mm_srli_epi32(x, 7), _mm_slli_epi32(x, 25));
}

#include "crypto/blake3_simd_round.inc"

// Prefetch distance: the same block of the chunk 4 chunks ahead, i.e. what the next group
// of a run of whole chunks (contiguous in memory) reads. Measured on the AVX2 path with a 1 GiB
// mmapped file: 256 bytes ahead was 7% slower than this, no prefetch 20% slower.
// (Integer arithmetic: the address may lie past the input, which a prefetch may touch.)
constexpr std::size_t kPrefetchAhead = 4 * kChunkLen;
__attribute__((always_inline)) inline void prefetch_ahead(const std::uint8_t* p) {
  _mm_prefetch(reinterpret_cast<const char*>(reinterpret_cast<std::uintptr_t>(p) + kPrefetchAhead),
               _MM_HINT_T0);
}

// 4x4 transpose of 32-bit words: afterwards v[k] holds word k of the original v[0..3].
__attribute__((always_inline)) inline void transpose4(V v[4]) {
  V ab01 = _mm_unpacklo_epi32(v[0], v[1]);
  V ab23 = _mm_unpackhi_epi32(v[0], v[1]);
  V cd01 = _mm_unpacklo_epi32(v[2], v[3]);
  V cd23 = _mm_unpackhi_epi32(v[2], v[3]);
  v[0] = _mm_unpacklo_epi64(ab01, cd01);
  v[1] = _mm_unpackhi_epi64(ab01, cd01);
  v[2] = _mm_unpacklo_epi64(ab23, cd23);
  v[3] = _mm_unpackhi_epi64(ab23, cd23);
}

__attribute__((always_inline)) inline V loadu(const std::uint8_t* p) {
  return _mm_loadu_si128(reinterpret_cast<const V*>(p));
}

void hash4(const std::uint8_t* const* inputs, std::size_t blocks, const std::uint32_t key[8],
           std::uint64_t counter, bool increment_counter, std::uint8_t flags,
           std::uint8_t flags_start, std::uint8_t flags_end, std::uint8_t* out) {
  alignas(16) std::uint32_t lo[4], hi[4];
  lane_counters<4>(counter, increment_counter, lo, hi);
  V h[8];
  hash_lanes(inputs, blocks, key, _mm_load_si128(reinterpret_cast<const V*>(lo)),
             _mm_load_si128(reinterpret_cast<const V*>(hi)), flags, flags_start, flags_end, h,
             [](const std::uint8_t* const* in, std::size_t off, V m[16]) {
               for (int q = 0; q < 4; ++q)  // quarter q of the block: words 4q..4q+3
                 for (int j = 0; j < 4; ++j) m[4 * q + j] = loadu(in[j] + off + 16 * q);
               for (int q = 0; q < 4; ++q) transpose4(m + 4 * q);
               for (int j = 0; j < 4; ++j)
                 prefetch_ahead(in[j] + off);
             });
  transpose4(h);      // h[j]: words 0..3 of input j
  transpose4(h + 4);  // h[4 + j]: words 4..7 of input j
  for (int j = 0; j < 4; ++j) {
    _mm_storeu_si128(reinterpret_cast<V*>(out + 32 * j), h[j]);
    _mm_storeu_si128(reinterpret_cast<V*>(out + 32 * j + 16), h[4 + j]);
  }
}

}  // namespace

void hash_many_sse41(const std::uint8_t* const* inputs, std::size_t num_inputs, std::size_t blocks,
                     const std::uint32_t key[8], std::uint64_t counter, bool increment_counter,
                     std::uint8_t flags, std::uint8_t flags_start, std::uint8_t flags_end,
                     std::uint8_t* out) {
  while (num_inputs >= 4) {
    hash4(inputs, blocks, key, counter, increment_counter, flags, flags_start, flags_end, out);
    if (increment_counter) counter += 4;
    inputs += 4;
    num_inputs -= 4;
    out += 4 * 32;
  }
  hash_many_portable(inputs, num_inputs, blocks, key, counter, increment_counter, flags,
                     flags_start, flags_end, out);
}

}  // namespace hubgate::crypto::blake3_detail
