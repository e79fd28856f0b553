// Test data generators shared by the xet unit tests.
#pragma once

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "util/byte_reader.hpp"

namespace hubgate::xet::test {

// XC `create_random_data(n, seed)`: SplitMix64 words, little-endian, truncated to n.
inline std::vector<std::uint8_t> splitmix_data(std::size_t n, std::uint64_t seed) {
  std::vector<std::uint8_t> out(n + 8);
  std::uint64_t state = seed;
  for (std::size_t i = 0; i < n; i += 8) {
    state += 0x9E3779B97F4A7C15ULL;
    std::uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    for (int b = 0; b < 8; ++b) out[i + b] = static_cast<std::uint8_t>(z >> (8 * b));
  }
  out.resize(n);
  return out;
}

inline std::vector<std::uint8_t> random_bytes(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::uint8_t> out(n);
  for (auto& b : out) b = static_cast<std::uint8_t>(rng());
  return out;
}

inline ByteView view(const std::vector<std::uint8_t>& v) { return ByteView(v.data(), v.size()); }
inline ByteView view(const std::string& s) { return as_bytes(s); }

}  // namespace hubgate::xet::test
