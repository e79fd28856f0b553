// Private to src/crypto: BLAKE3 constants and the compression back ends.
//
// A back end provides the single-block compression (for the chunk being filled, parent nodes at
// the top of the tree and the root's output blocks) and `hash_many`, which hashes N equal-length
// inputs (whole chunks, or 64-byte parent nodes) in SIMD lanes and writes N 32-byte chaining
// values. `hash_many` accepts any N; each SIMD back end hashes full groups of its width and hands
// the rest to the next narrower one. Every back end must give bit-identical results.
#pragma once
// The helpers below are `static` (internal linkage) on purpose: the SIMD translation units are
// compiled with different -m flags, and a shared COMDAT copy could carry wide instructions.

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace hubgate::crypto::blake3_detail {

static_assert(std::endian::native == std::endian::little, "BLAKE3 code assumes little-endian");

inline constexpr std::size_t kBlockLen = 64;
inline constexpr std::size_t kChunkLen = 1024;
inline constexpr std::size_t kMaxSimdDegree = 16;

// Domain flags (part of the BLAKE3 specification).
inline constexpr std::uint8_t kChunkStart = 1 << 0;
inline constexpr std::uint8_t kChunkEnd = 1 << 1;
inline constexpr std::uint8_t kParent = 1 << 2;
inline constexpr std::uint8_t kRoot = 1 << 3;
inline constexpr std::uint8_t kKeyedHash = 1 << 4;
inline constexpr std::uint8_t kDeriveKeyContext = 1 << 5;
inline constexpr std::uint8_t kDeriveKeyMaterial = 1 << 6;

inline constexpr std::uint32_t kIV[8] = {0x6A09E667u, 0xBB67AE85u, 0x3C6EF372u, 0xA54FF53Au,
                                         0x510E527Fu, 0x9B05688Cu, 0x1F83D9ABu, 0x5BE0CD19u};

// kMsgSchedule[r] = the message word order of round r: the permutation applied r times.
struct MsgSchedule {
  std::uint8_t s[7][16];
};
inline constexpr MsgSchedule kMsgSchedule = [] {
  constexpr std::uint8_t perm[16] = {2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8};
  MsgSchedule m{};
  for (int i = 0; i < 16; ++i) m.s[0][i] = static_cast<std::uint8_t>(i);
  for (int r = 1; r < 7; ++r)
    for (int i = 0; i < 16; ++i) m.s[r][i] = m.s[r - 1][perm[i]];
  return m;
}();

static inline std::uint32_t load32(const void* p) {
  std::uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
static inline void store32(void* p, std::uint32_t v) { std::memcpy(p, &v, 4); }
static inline void load_key_words(const std::uint8_t key[32], std::uint32_t out[8]) {
  for (int i = 0; i < 8; ++i) out[i] = load32(key + 4 * i);
}
static inline void store_cv_words(std::uint8_t out[32], const std::uint32_t cv[8]) {
  std::memcpy(out, cv, 32);
}

// Compress one block into `cv` (the new chaining value).
using CompressInPlaceFn = void (*)(std::uint32_t cv[8], const std::uint8_t block[64],
                                   std::uint8_t block_len, std::uint64_t counter,
                                   std::uint8_t flags);
// Compress one block and write all 64 output bytes (extended output).
using CompressXofFn = void (*)(const std::uint32_t cv[8], const std::uint8_t block[64],
                               std::uint8_t block_len, std::uint64_t counter, std::uint8_t flags,
                               std::uint8_t out[64]);
// Hash `num_inputs` inputs of `blocks` 64-byte blocks each, starting from `key`; input i uses
// counter `counter + i` if `increment_counter`, else `counter`. The first block adds
// `flags_start`, the last `flags_end`. Writes 32 bytes per input to `out`.
using HashManyFn = void (*)(const std::uint8_t* const* inputs, std::size_t num_inputs,
                            std::size_t blocks, const std::uint32_t key[8], std::uint64_t counter,
                            bool increment_counter, std::uint8_t flags, std::uint8_t flags_start,
                            std::uint8_t flags_end, std::uint8_t* out);

struct Backend {
  const char* name;
  std::size_t degree;  // inputs hashed in parallel by one hash_many group
  CompressInPlaceFn compress_in_place;
  CompressXofFn compress_xof;
  HashManyFn hash_many;
};

void compress_in_place_portable(std::uint32_t cv[8], const std::uint8_t block[64],
                                std::uint8_t block_len, std::uint64_t counter, std::uint8_t flags);
void compress_xof_portable(const std::uint32_t cv[8], const std::uint8_t block[64],
                           std::uint8_t block_len, std::uint64_t counter, std::uint8_t flags,
                           std::uint8_t out[64]);
void hash_many_portable(const std::uint8_t* const* inputs, std::size_t num_inputs,
                        std::size_t blocks, const std::uint32_t key[8], std::uint64_t counter,
                        bool increment_counter, std::uint8_t flags, std::uint8_t flags_start,
                        std::uint8_t flags_end, std::uint8_t* out);

// x86-64 only; callable only where the CPU supports the instruction set. Their translation
// units are compiled with -msse4.1 / -mavx2 / -mavx512f and use nothing but intrinsics and
// functions of internal linkage, so no wide instruction can leak into shared inline code.
void hash_many_sse41(const std::uint8_t* const* inputs, std::size_t num_inputs, std::size_t blocks,
                     const std::uint32_t key[8], std::uint64_t counter, bool increment_counter,
                     std::uint8_t flags, std::uint8_t flags_start, std::uint8_t flags_end,
                     std::uint8_t* out);
void hash_many_avx2(const std::uint8_t* const* inputs, std::size_t num_inputs, std::size_t blocks,
                    const std::uint32_t key[8], std::uint64_t counter, bool increment_counter,
                    std::uint8_t flags, std::uint8_t flags_start, std::uint8_t flags_end,
                    std::uint8_t* out);
void hash_many_avx512(const std::uint8_t* const* inputs, std::size_t num_inputs,
                      std::size_t blocks, const std::uint32_t key[8], std::uint64_t counter,
                      bool increment_counter, std::uint8_t flags, std::uint8_t flags_start,
                      std::uint8_t flags_end, std::uint8_t* out);

// The back end in use (chosen once; see blake3.hpp).
const Backend& active_backend();

}  // namespace hubgate::crypto::blake3_detail
