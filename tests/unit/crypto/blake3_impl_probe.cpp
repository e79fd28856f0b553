// Prints the BLAKE3 path this process chose (after HUBGATE_BLAKE3_IMPL) and the hash of "abc".
// Used by ctest to check the environment variable in fresh processes.
#include <cstdio>

#include "crypto/blake3.hpp"
#include "util/hex.hpp"

int main() {
  using hubgate::crypto::Blake3;
  auto h = Blake3::hash(hubgate::as_bytes("abc"));
  std::fflush(stderr);
  std::printf("impl=%s abc=%s\n", Blake3::implementation(),
              hubgate::to_hex(hubgate::ByteView(h)).c_str());
  return 0;
}
