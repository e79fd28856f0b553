// Why the gear chunker is ~2x, not 5x, the npm peer on this class of CPU: cycles per byte of the
// inner loop alternatives, over the same 256 MiB (every position checked, no chunking logic).
//   seq        one dependent chain h = (h << 1) + T[b]; test per byte (what gearhash-jit does)
//   lanes4     four independent chains (what xet/chunker.cpp does): byte load, table load, lea,
//              fused test+branch = 4 ops/byte and 2 loads/byte, the floor of any scalar scheme
//   lookup     table lookups summed with no hash and no test: the load-port floor alone
//   gather4    AVX2 vpgatherqq, four chains in one register: gathers cost ~1.3 cycles per element
//              on Zen 3, so SIMD loses to scalar (there is no AVX-512 here)
// Reported as MB/s of process CPU time, median of 5 runs, and cycles per byte at the clock given
// with --ghz (default 3.1, the estimate for the bench machine). Usage: xet_gear_floor [--ghz F]
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <random>
#include <string>
#include <vector>

#include "xet/chunker.hpp"

namespace {

using hubgate::xet::kChunkMask;
using hubgate::xet::kGearTable;

double cpu_now() {
  timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

__attribute__((noinline)) std::size_t seq(const std::uint8_t* p, std::size_t n) {
  std::uint64_t h = 0;
  std::size_t hits = 0;
  for (std::size_t i = 0; i < n; ++i) {
    h = (h << 1) + kGearTable[p[i]];
    if ((h & kChunkMask) == 0) [[unlikely]] {
      ++hits;
      asm volatile("" : "+r"(hits));
    }
  }
  return hits;
}

__attribute__((noinline)) std::size_t lanes4(const std::uint8_t* p, std::size_t n) {
  const std::size_t q = n / 4;
  std::uint64_t h[4] = {};
  std::size_t hits = 0;
  for (std::size_t t = 0; t < q; ++t) {
#pragma GCC unroll 4
    for (int s = 0; s < 4; ++s) {
      h[s] = (h[s] << 1) + kGearTable[p[s * q + t]];
      if ((h[s] & kChunkMask) == 0) [[unlikely]] {
        ++hits;
        asm volatile("" : "+r"(hits));
      }
    }
  }
  return hits;
}

__attribute__((noinline)) std::size_t lookup(const std::uint8_t* p, std::size_t n) {
  std::uint64_t a = 0, b = 0, c = 0, d = 0;
  for (std::size_t i = 0; i + 4 <= n; i += 4) {
    a += kGearTable[p[i]];
    b += kGearTable[p[i + 1]];
    c += kGearTable[p[i + 2]];
    d += kGearTable[p[i + 3]];
  }
  return static_cast<std::size_t>(a + b + c + d) & 1;
}

__attribute__((noinline, target("avx2"))) std::size_t gather4(const std::uint8_t* p, std::size_t n) {
  const std::size_t q = n / 4;
  __m256i h = _mm256_setzero_si256();
  const __m256i mask = _mm256_set1_epi64x(static_cast<long long>(kChunkMask));
  std::size_t hits = 0;
  std::vector<std::uint8_t> tr(4 * 64);  // 64 steps of the four streams, transposed
  for (std::size_t t0 = 0; t0 + 64 <= q; t0 += 64) {
    for (std::size_t t = 0; t < 64; ++t)
      for (int s = 0; s < 4; ++s) tr[4 * t + static_cast<std::size_t>(s)] = p[static_cast<std::size_t>(s) * q + t0 + t];
    for (std::size_t t = 0; t < 64; ++t) {
      int idx4;
      std::memcpy(&idx4, tr.data() + 4 * t, 4);
      __m256i idx = _mm256_cvtepu8_epi64(_mm_cvtsi32_si128(idx4));
      __m256i g = _mm256_i64gather_epi64(reinterpret_cast<const long long*>(kGearTable), idx, 8);
      h = _mm256_add_epi64(_mm256_add_epi64(h, h), g);
      __m256i z = _mm256_cmpeq_epi64(_mm256_and_si256(h, mask), _mm256_setzero_si256());
      if (!_mm256_testz_si256(z, z)) [[unlikely]] ++hits;
    }
  }
  return hits;
}

}  // namespace

int main(int argc, char** argv) {
  double ghz = 3.1;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--ghz" && i + 1 < argc) ghz = std::stod(argv[++i]);
  }
  const std::size_t n = 256 << 20;
  std::vector<std::uint8_t> d(n);
  std::mt19937_64 rng(1);
  for (std::size_t i = 0; i + 8 <= n; i += 8) {
    std::uint64_t v = rng();
    std::memcpy(d.data() + i, &v, 8);
  }
  struct Variant {
    const char* name;
    std::size_t (*fn)(const std::uint8_t*, std::size_t);
  };
  std::vector<Variant> vs = {{"seq", seq}, {"lanes4", lanes4}, {"lookup", lookup}};
  if (__builtin_cpu_supports("avx2")) vs.push_back({"gather4", gather4});
  std::vector<std::vector<double>> t(vs.size());
  for (int r = 0; r < 5; ++r) {
    for (std::size_t k = 0; k < vs.size(); ++k) {  // interleaved: load changes hit every variant alike
      double a = cpu_now();
      volatile std::size_t sink = vs[k].fn(d.data(), n);
      (void)sink;
      t[k].push_back(cpu_now() - a);
    }
  }
  std::printf("xet_gear_floor: 256 MiB, median of 5, cycles/byte at %.2f GHz\n", ghz);
  for (std::size_t k = 0; k < vs.size(); ++k) {
    std::sort(t[k].begin(), t[k].end());
    double s = t[k][2];
    std::printf("%-8s %8.1f MB/s  %5.2f cycles/byte\n", vs[k].name, static_cast<double>(n) / 1e6 / s, s * ghz * 1e9 / static_cast<double>(n));
  }
  return 0;
}
