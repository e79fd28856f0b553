// BLAKE3 hash_many with AVX2: 8 inputs at once, one input per 32-bit lane of __m256i.
// Same scheme as the SSE4.1 path: each block of the 8 inputs is loaded as 16 vectors (two
// 32-byte halves per input) and transposed 8x8 so that vector i holds message word i of every
// input. Compiled with -mavx2; only reached when the CPU supports AVX2. Fewer than 8 inputs go
// to the SSE4.1 path (every AVX2 CPU has SSE4.1).
#include <immintrin.h>

#include "crypto/blake3_impl.hpp"

namespace hubgate::crypto::blake3_detail {
namespace {

using V = __m256i;

__attribute__((always_inline)) inline V add(V a, V b) { return _mm256_add_epi32(a, b); }
__attribute__((always_inline)) inline V xor_(V a, V b) { return _mm256_xor_si256(a, b); }
__attribute__((always_inline)) inline V splat(std::uint32_t x) {
  return _mm256_set1_epi32(static_cast<int>(x));
}
__attribute__((always_inline)) inline V rot16(V x) {
  return _mm256_shuffle_epi8(
      x, _mm256_set_epi8(13, 12, 15, 14, 9, 8, 11, 10, 5, 4, 7, 6, 1, 0, 3, 2, 13, 12, 15, 14, 9,
                         8, 11, 10, 5, 4, 7, 6, 1, 0, 3, 2));
}
__attribute__((always_inline)) inline V rot12(V x) {
  return _mm256_or_si256(_mm256_srli_epi32(x, 12), _mm256_slli_epi32(x, 20));
}
__attribute__((always_inline)) inline V rot8(V x) {
  return _mm256_shuffle_epi8(
      x, _mm256_set_epi8(12, 15, 14, 13, 8, 11, 10, 9, 4, 7, 6, 5, 0, 3, 2, 1, 12, 15, 14, 13, 8,
                         11, 10, 9, 4, 7, 6, 5, 0, 3, 2, 1));
}
__attribute__((always_inline)) inline V rot7(V x) {
  return _mm256_or_si256(_mm256_srli_epi32(x, 7), _mm256_slli_epi32(x, 25));
}

#include "crypto/blake3_simd_round.inc"

// 8x8 transpose of 32-bit words: afterwards v[k] holds word k of the original v[0..7].
__attribute__((always_inline)) inline void transpose8(V v[8]) {
  // Within each 128-bit half: ab_0145 = a0 b0 a1 b1 | a4 b4 a5 b5, and so on.
  V ab_0145 = _mm256_unpacklo_epi32(v[0], v[1]);
  V ab_2367 = _mm256_unpackhi_epi32(v[0], v[1]);
  V cd_0145 = _mm256_unpacklo_epi32(v[2], v[3]);
  V cd_2367 = _mm256_unpackhi_epi32(v[2], v[3]);
  V ef_0145 = _mm256_unpacklo_epi32(v[4], v[5]);
  V ef_2367 = _mm256_unpackhi_epi32(v[4], v[5]);
  V gh_0145 = _mm256_unpacklo_epi32(v[6], v[7]);
  V gh_2367 = _mm256_unpackhi_epi32(v[6], v[7]);
  // abcd_04 = a0 b0 c0 d0 | a4 b4 c4 d4, and so on.
  V abcd_04 = _mm256_unpacklo_epi64(ab_0145, cd_0145);
  V abcd_15 = _mm256_unpackhi_epi64(ab_0145, cd_0145);
  V abcd_26 = _mm256_unpacklo_epi64(ab_2367, cd_2367);
  V abcd_37 = _mm256_unpackhi_epi64(ab_2367, cd_2367);
  V efgh_04 = _mm256_unpacklo_epi64(ef_0145, gh_0145);
  V efgh_15 = _mm256_unpackhi_epi64(ef_0145, gh_0145);
  V efgh_26 = _mm256_unpacklo_epi64(ef_2367, gh_2367);
  V efgh_37 = _mm256_unpackhi_epi64(ef_2367, gh_2367);
  // Join the 128-bit halves: low halves give words 0-3, high halves words 4-7.
  v[0] = _mm256_permute2x128_si256(abcd_04, efgh_04, 0x20);
  v[4] = _mm256_permute2x128_si256(abcd_04, efgh_04, 0x31);
  v[1] = _mm256_permute2x128_si256(abcd_15, efgh_15, 0x20);
  v[5] = _mm256_permute2x128_si256(abcd_15, efgh_15, 0x31);
  v[2] = _mm256_permute2x128_si256(abcd_26, efgh_26, 0x20);
  v[6] = _mm256_permute2x128_si256(abcd_26, efgh_26, 0x31);
  v[3] = _mm256_permute2x128_si256(abcd_37, efgh_37, 0x20);
  v[7] = _mm256_permute2x128_si256(abcd_37, efgh_37, 0x31);
}

__attribute__((always_inline)) inline V loadu(const std::uint8_t* p) {
  return _mm256_loadu_si256(reinterpret_cast<const V*>(p));
}

void hash8(const std::uint8_t* const* inputs, std::size_t blocks, const std::uint32_t key[8],
           std::uint64_t counter, bool increment_counter, std::uint8_t flags,
           std::uint8_t flags_start, std::uint8_t flags_end, std::uint8_t* out) {
  alignas(32) std::uint32_t lo[8], hi[8];
  lane_counters<8>(counter, increment_counter, lo, hi);
  V h[8];
  hash_lanes(inputs, blocks, key, _mm256_load_si256(reinterpret_cast<const V*>(lo)),
             _mm256_load_si256(reinterpret_cast<const V*>(hi)), flags, flags_start, flags_end, h,
             [](const std::uint8_t* const* in, std::size_t off, V m[16]) {
               for (int j = 0; j < 8; ++j) {
                 m[j] = loadu(in[j] + off);           // words 0..7 of input j
                 m[8 + j] = loadu(in[j] + off + 32);  // words 8..15
               }
               transpose8(m);
               transpose8(m + 8);
               for (int j = 0; j < 8; ++j)
                 _mm_prefetch(reinterpret_cast<const char*>(in[j] + off + 256), _MM_HINT_T0);
             });
  transpose8(h);  // h[j]: the chaining value of input j
  for (int j = 0; j < 8; ++j) _mm256_storeu_si256(reinterpret_cast<V*>(out + 32 * j), h[j]);
}

}  // namespace

void hash_many_avx2(const std::uint8_t* const* inputs, std::size_t num_inputs, std::size_t blocks,
                    const std::uint32_t key[8], std::uint64_t counter, bool increment_counter,
                    std::uint8_t flags, std::uint8_t flags_start, std::uint8_t flags_end,
                    std::uint8_t* out) {
  while (num_inputs >= 8) {
    hash8(inputs, blocks, key, counter, increment_counter, flags, flags_start, flags_end, out);
    if (increment_counter) counter += 8;
    inputs += 8;
    num_inputs -= 8;
    out += 8 * 32;
  }
  hash_many_sse41(inputs, num_inputs, blocks, key, counter, increment_counter, flags, flags_start,
                  flags_end, out);
}

}  // namespace hubgate::crypto::blake3_detail
