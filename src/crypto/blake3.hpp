// BLAKE3, implemented in the project: plain, keyed and derive-key modes, incremental.
//
// The compression of many chunks in parallel uses SIMD (SSE4.1 / AVX2 / AVX-512), chosen once
// at run time from the CPU's features; the portable path gives identical output everywhere.
// `Blake3` objects are cheap value types (the hasher state, ~2 KB); not thread-safe.
//
// Tree hashing: `update` hashes whole power-of-two runs of 1 KiB chunks straight from the
// caller's buffer with the widest SIMD path (no copy); only a trailing partial chunk is buffered.
// The SIMD path is chosen once per process (the first time any hasher is used): the best one the
// CPU supports, or the one named by the environment variable HUBGATE_BLAKE3_IMPL
// (portable|sse41|avx2|avx512; meant for tests). An unknown or unsupported name there is refused:
// one warning line goes to stderr and the best supported path is used instead, so callers that
// care check `implementation()`. `force_implementation` switches paths at run time (tests).
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "util/byte_reader.hpp"
#include "util/error.hpp"

namespace hubgate::crypto {

class Blake3 {
 public:
  static constexpr std::size_t kKeyLen = 32;
  static constexpr std::size_t kOutLen = 32;
  using Key = std::array<std::uint8_t, kKeyLen>;
  using Hash = std::array<std::uint8_t, kOutLen>;

  Blake3();                                          // plain hash
  explicit Blake3(const Key& key);                   // keyed hash
  static Blake3 derive_key(std::string_view context);  // key-derivation mode

  void update(ByteView data);
  void update(std::string_view data) { update(as_bytes(data)); }
  // Extendable output: any length; the hasher may keep being updated afterwards.
  void finalize(std::uint8_t* out, std::size_t len) const;
  Hash finalize() const;

  // One-shot helpers.
  static Hash hash(ByteView data);
  static Hash keyed(const Key& key, ByteView data);

  // Name of the SIMD path chosen at run time ("avx512", "avx2", "sse41", "portable").
  static const char* implementation();
  // Switch every hasher in the process to the named path ("portable", "sse41", "avx2",
  // "avx512"). Fails (Errc::unsupported) for an unknown name or one this CPU cannot run; the
  // current path is then unchanged. Output never depends on the path. Meant for tests and
  // benchmarks; safe to call concurrently with hashing (the switch is atomic).
  static Result<void> force_implementation(std::string_view name);

 private:
  static constexpr std::size_t kMaxDepth = 54;  // 2^54 chunks of 1 KiB = 2^64 bytes
  Blake3(const std::uint32_t key[8], std::uint8_t flags);
  void push_cv(const std::uint8_t cv[32], std::uint64_t chunk_counter);
  void merge_cv_stack(std::uint64_t total_chunks);
  void reset_chunk(std::uint64_t chunk_counter);
  std::size_t chunk_len() const;
  void chunk_update(const std::uint8_t* data, std::size_t len);

  std::uint32_t key_[8];        // key words (IV for plain hashing)
  std::uint32_t chunk_cv_[8];   // chaining value of the current chunk
  std::uint64_t chunk_counter_ = 0;  // index of the current chunk
  alignas(16) std::uint8_t buf_[64];  // pending bytes of the current block
  std::uint8_t buf_len_ = 0;
  std::uint8_t blocks_compressed_ = 0;  // blocks of the current chunk already compressed
  std::uint8_t flags_ = 0;              // mode flags (keyed / derive-key)
  std::uint8_t cv_stack_len_ = 0;
  std::uint8_t cv_stack_[(kMaxDepth + 1) * 32];  // chaining values of completed subtrees
};

}  // namespace hubgate::crypto
