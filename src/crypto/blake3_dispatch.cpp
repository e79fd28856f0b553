// Choice of the BLAKE3 back end: once per process, from the CPU's features
// (__builtin_cpu_supports) or the HUBGATE_BLAKE3_IMPL environment variable; switchable by
// Blake3::force_implementation. The active back end is an atomic pointer to a static table.
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "crypto/blake3.hpp"
#include "crypto/blake3_impl.hpp"

namespace hubgate::crypto {
namespace blake3_detail {
namespace {

constexpr Backend kPortable{"portable", 1, compress_in_place_portable, compress_xof_portable,
                            hash_many_portable};

constexpr Backend kSse41{"sse41", 4, compress_in_place_portable, compress_xof_portable,
                         hash_many_sse41};
constexpr Backend kAvx2{"avx2", 8, compress_in_place_portable, compress_xof_portable,
                        hash_many_avx2};
constexpr Backend kAvx512{"avx512", 16, compress_in_place_portable, compress_xof_portable,
                          hash_many_avx512};

// Narrow to wide. Each SIMD path hands leftover inputs to the next narrower one, so it needs
// that one's features as well.
const Backend* const kAll[] = {&kPortable, &kSse41, &kAvx2, &kAvx512};

bool supported(const Backend& b) {
  __builtin_cpu_init();
  const bool sse41 = __builtin_cpu_supports("sse4.1");
  const bool avx2 = sse41 && __builtin_cpu_supports("avx2");
  // libgcc's check also requires the OS to save the AVX-512 state (XCR0).
  const bool avx512 = avx2 && __builtin_cpu_supports("avx512f");
  if (&b == &kSse41) return sse41;
  if (&b == &kAvx2) return avx2;
  if (&b == &kAvx512) return avx512;
  return true;
}

const Backend* best() {
  const Backend* chosen = &kPortable;
  for (const Backend* b : kAll)
    if (supported(*b)) chosen = b;  // kAll is ordered narrow to wide
  return chosen;
}

const Backend* by_name(std::string_view name) {
  for (const Backend* b : kAll)
    if (name == b->name) return b;
  return nullptr;
}

const Backend* initial() {
  const char* env = std::getenv("HUBGATE_BLAKE3_IMPL");
  if (env == nullptr || *env == '\0') return best();
  const Backend* b = by_name(env);
  if (b == nullptr || !supported(*b)) {
    std::fprintf(stderr,
                 "hubgate: HUBGATE_BLAKE3_IMPL=%s refused (%s); using %s\n", env,
                 b == nullptr ? "unknown path" : "not supported by this CPU", best()->name);
    return best();
  }
  return b;
}

std::atomic<const Backend*>& active() {
  static std::atomic<const Backend*> a{initial()};
  return a;
}

}  // namespace

const Backend& active_backend() { return *active().load(std::memory_order_relaxed); }

}  // namespace blake3_detail

Result<void> Blake3::force_implementation(std::string_view name) {
  using namespace blake3_detail;
  const Backend* b = by_name(name);
  if (b == nullptr)
    return fail(Errc::unsupported, "blake3: unknown implementation '" + std::string(name) + "'");
  if (!supported(*b))
    return fail(Errc::unsupported,
                "blake3: implementation '" + std::string(name) + "' not supported by this CPU");
  active().store(b, std::memory_order_relaxed);
  return {};
}

}  // namespace hubgate::crypto
