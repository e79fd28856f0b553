// BLAKE3 hash_many with AVX-512F: 16 inputs at once, one input per 32-bit lane of __m512i.
// Each input's 64-byte block is exactly one vector; a 16x16 word transpose gives vector i =
// message word i of every input. Rotations use the native vprord. Compiled with -mavx512f; only
// reached when the CPU (and OS) support AVX-512F. Fewer than 16 inputs go to the AVX2 path
// (selection requires AVX2 as well).
// GCC 12's avx512fintrin.h initialises its "undefined" vectors from themselves
// (`__m512i __Y = __Y;`), which -W(maybe-)uninitialized reports once inlined here.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include "crypto/blake3_impl.hpp"

namespace hubgate::crypto::blake3_detail {
namespace {

using V = __m512i;

__attribute__((always_inline)) inline V add(V a, V b) { return _mm512_add_epi32(a, b); }
__attribute__((always_inline)) inline V xor_(V a, V b) { return _mm512_xor_si512(a, b); }
__attribute__((always_inline)) inline V splat(std::uint32_t x) {
  return _mm512_set1_epi32(static_cast<int>(x));
}
__attribute__((always_inline)) inline V rot16(V x) { return _mm512_ror_epi32(x, 16); }
__attribute__((always_inline)) inline V rot12(V x) { return _mm512_ror_epi32(x, 12); }
__attribute__((always_inline)) inline V rot8(V x) { return _mm512_ror_epi32(x, 8); }
__attribute__((always_inline)) inline V rot7(V x) { return _mm512_ror_epi32(x, 7); }

#include "crypto/blake3_simd_round.inc"

// Prefetch distance: the same block of the chunk 16 chunks ahead, i.e. what the next group
// of a run of whole chunks (contiguous in memory) reads. Measured on the AVX2 path with a 1 GiB
// mmapped file: 256 bytes ahead was 7% slower than this, no prefetch 20% slower.
// (Integer arithmetic: the address may lie past the input, which a prefetch may touch.)
constexpr std::size_t kPrefetchAhead = 16 * kChunkLen;
__attribute__((always_inline)) inline void prefetch_ahead(const std::uint8_t* p) {
  _mm_prefetch(reinterpret_cast<const char*>(reinterpret_cast<std::uintptr_t>(p) + kPrefetchAhead),
               _MM_HINT_T0);
}

// 128-bit lane shuffles: lo = a.L0 a.L2 b.L0 b.L2, hi = a.L1 a.L3 b.L1 b.L3.
__attribute__((always_inline)) inline V lanes_even(V a, V b) {
  return _mm512_shuffle_i32x4(a, b, 0x88);
}
__attribute__((always_inline)) inline V lanes_odd(V a, V b) {
  return _mm512_shuffle_i32x4(a, b, 0xdd);
}

// 16x16 transpose of 32-bit words: afterwards v[k] holds word k of the original v[0..15].
// Inputs a..p; 128-bit lane L of input x holds words 4L..4L+3.
__attribute__((always_inline)) inline void transpose16(V v[16]) {
  // Pairs: p2[i]_0 lane L = x_{4L} y_{4L} x_{4L+1} y_{4L+1}; _2 the same for 4L+2, 4L+3.
  V p_0[8], p_2[8];
  for (int i = 0; i < 8; ++i) {
    p_0[i] = _mm512_unpacklo_epi32(v[2 * i], v[2 * i + 1]);
    p_2[i] = _mm512_unpackhi_epi32(v[2 * i], v[2 * i + 1]);
  }
  // Quads: q[g][k] lane L = word 4L+k of inputs 4g..4g+3.
  V q[4][4];
  for (int g = 0; g < 4; ++g) {
    q[g][0] = _mm512_unpacklo_epi64(p_0[2 * g], p_0[2 * g + 1]);
    q[g][1] = _mm512_unpackhi_epi64(p_0[2 * g], p_0[2 * g + 1]);
    q[g][2] = _mm512_unpacklo_epi64(p_2[2 * g], p_2[2 * g + 1]);
    q[g][3] = _mm512_unpackhi_epi64(p_2[2 * g], p_2[2 * g + 1]);
  }
  // Octets: o[h][k] (k < 4) = [word k of inputs 8h..8h+3, word k+8 of them,
  //                            word k of inputs 8h+4..8h+7, word k+8 of them];
  //         o[h][4 + k] the same for words k+4 and k+12.
  V o[2][8];
  for (int h = 0; h < 2; ++h)
    for (int k = 0; k < 4; ++k) {
      o[h][k] = lanes_even(q[2 * h][k], q[2 * h + 1][k]);
      o[h][4 + k] = lanes_odd(q[2 * h][k], q[2 * h + 1][k]);
    }
  // Final: even lanes give words k (k < 4) and k+4; odd lanes words k+8 and k+12.
  for (int k = 0; k < 8; ++k) {
    v[k] = lanes_even(o[0][k], o[1][k]);
    v[8 + k] = lanes_odd(o[0][k], o[1][k]);
  }
}

void hash16(const std::uint8_t* const* inputs, std::size_t blocks, const std::uint32_t key[8],
            std::uint64_t counter, bool increment_counter, std::uint8_t flags,
            std::uint8_t flags_start, std::uint8_t flags_end, std::uint8_t* out) {
  alignas(64) std::uint32_t lo[16], hi[16];
  lane_counters<16>(counter, increment_counter, lo, hi);
  V h[8];
  hash_lanes(inputs, blocks, key, _mm512_load_si512(lo), _mm512_load_si512(hi), flags,
             flags_start, flags_end, h,
             [](const std::uint8_t* const* in, std::size_t off, V m[16]) {
               for (int j = 0; j < 16; ++j) m[j] = _mm512_loadu_si512(in[j] + off);
               transpose16(m);
               for (int j = 0; j < 16; ++j)
                 prefetch_ahead(in[j] + off);
             });
  // Transpose the 8 CV word vectors (padded to 16): t[j] low half = chaining value of input j.
  V t[16];
  for (int i = 0; i < 8; ++i) t[i] = h[i];
  for (int i = 8; i < 16; ++i) t[i] = _mm512_setzero_si512();
  transpose16(t);
  for (int j = 0; j < 16; ++j)
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 32 * j), _mm512_castsi512_si256(t[j]));
}

}  // namespace

void hash_many_avx512(const std::uint8_t* const* inputs, std::size_t num_inputs,
                      std::size_t blocks, const std::uint32_t key[8], std::uint64_t counter,
                      bool increment_counter, std::uint8_t flags, std::uint8_t flags_start,
                      std::uint8_t flags_end, std::uint8_t* out) {
  while (num_inputs >= 16) {
    hash16(inputs, blocks, key, counter, increment_counter, flags, flags_start, flags_end, out);
    if (increment_counter) counter += 16;
    inputs += 16;
    num_inputs -= 16;
    out += 16 * 32;
  }
  hash_many_avx2(inputs, num_inputs, blocks, key, counter, increment_counter, flags, flags_start,
                 flags_end, out);
}

}  // namespace hubgate::crypto::blake3_detail
