// Portable BLAKE3 compression: the reference round function on 16 32-bit words, one block at a
// time. `hash_many_portable` hashes its inputs one after another; it is the baseline every SIMD
// back end is tested against.
#include <bit>

#include "crypto/blake3_impl.hpp"

namespace hubgate::crypto::blake3_detail {
namespace {

inline void g(std::uint32_t* v, int a, int b, int c, int d, std::uint32_t x, std::uint32_t y) {
  v[a] = v[a] + v[b] + x;
  v[d] = std::rotr(v[d] ^ v[a], 16);
  v[c] = v[c] + v[d];
  v[b] = std::rotr(v[b] ^ v[c], 12);
  v[a] = v[a] + v[b] + y;
  v[d] = std::rotr(v[d] ^ v[a], 8);
  v[c] = v[c] + v[d];
  v[b] = std::rotr(v[b] ^ v[c], 7);
}

inline void round_fn(std::uint32_t v[16], const std::uint32_t m[16], int r) {
  const std::uint8_t* s = kMsgSchedule.s[r];
  g(v, 0, 4, 8, 12, m[s[0]], m[s[1]]);
  g(v, 1, 5, 9, 13, m[s[2]], m[s[3]]);
  g(v, 2, 6, 10, 14, m[s[4]], m[s[5]]);
  g(v, 3, 7, 11, 15, m[s[6]], m[s[7]]);
  g(v, 0, 5, 10, 15, m[s[8]], m[s[9]]);
  g(v, 1, 6, 11, 12, m[s[10]], m[s[11]]);
  g(v, 2, 7, 8, 13, m[s[12]], m[s[13]]);
  g(v, 3, 4, 9, 14, m[s[14]], m[s[15]]);
}

inline void compress_pre(std::uint32_t v[16], const std::uint32_t cv[8],
                         const std::uint8_t block[64], std::uint8_t block_len,
                         std::uint64_t counter, std::uint8_t flags) {
  std::uint32_t m[16];
  for (int i = 0; i < 16; ++i) m[i] = load32(block + 4 * i);
  for (int i = 0; i < 8; ++i) v[i] = cv[i];
  for (int i = 0; i < 4; ++i) v[8 + i] = kIV[i];
  v[12] = static_cast<std::uint32_t>(counter);
  v[13] = static_cast<std::uint32_t>(counter >> 32);
  v[14] = block_len;
  v[15] = flags;
  round_fn(v, m, 0);
  round_fn(v, m, 1);
  round_fn(v, m, 2);
  round_fn(v, m, 3);
  round_fn(v, m, 4);
  round_fn(v, m, 5);
  round_fn(v, m, 6);
}

}  // namespace

void compress_in_place_portable(std::uint32_t cv[8], const std::uint8_t block[64],
                                std::uint8_t block_len, std::uint64_t counter,
                                std::uint8_t flags) {
  std::uint32_t v[16];
  compress_pre(v, cv, block, block_len, counter, flags);
  for (int i = 0; i < 8; ++i) cv[i] = v[i] ^ v[i + 8];
}

void compress_xof_portable(const std::uint32_t cv[8], const std::uint8_t block[64],
                           std::uint8_t block_len, std::uint64_t counter, std::uint8_t flags,
                           std::uint8_t out[64]) {
  std::uint32_t v[16];
  compress_pre(v, cv, block, block_len, counter, flags);
  for (int i = 0; i < 8; ++i) {
    store32(out + 4 * i, v[i] ^ v[i + 8]);
    store32(out + 32 + 4 * i, v[i + 8] ^ cv[i]);
  }
}

void hash_many_portable(const std::uint8_t* const* inputs, std::size_t num_inputs,
                        std::size_t blocks, const std::uint32_t key[8], std::uint64_t counter,
                        bool increment_counter, std::uint8_t flags, std::uint8_t flags_start,
                        std::uint8_t flags_end, std::uint8_t* out) {
  for (std::size_t i = 0; i < num_inputs; ++i) {
    std::uint32_t cv[8];
    for (int w = 0; w < 8; ++w) cv[w] = key[w];
    std::uint8_t block_flags = flags | flags_start;
    for (std::size_t b = 0; b < blocks; ++b) {
      if (b + 1 == blocks) block_flags |= flags_end;
      compress_in_place_portable(cv, inputs[i] + b * kBlockLen, kBlockLen, counter, block_flags);
      block_flags = flags;
    }
    store_cv_words(out + 32 * i, cv);
    if (increment_counter) ++counter;
  }
}

}  // namespace hubgate::crypto::blake3_detail
