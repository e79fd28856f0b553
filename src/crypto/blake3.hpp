// BLAKE3, implemented in the project: plain, keyed and derive-key modes, incremental.
//
// The compression of many chunks in parallel uses SIMD (SSE4.1 / AVX2 / AVX-512), chosen once
// at run time from the CPU's features; the portable path gives identical output everywhere.
// `Blake3` objects are cheap value types (the hasher state, ~2 KB); not thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "util/byte_reader.hpp"

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

 private:
  struct State;
  alignas(64) std::uint8_t state_[2048];  // opaque storage for the hasher state
};

}  // namespace hubgate::crypto
