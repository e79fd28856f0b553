// Fuzz the .npy header parser (and the object-array pickle path) plus format detection.
#include <cstdint>

#include "scan/scan.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace hubgate::scan;
  hubgate::ByteView in(data, size);
  Report report;
  Limits limits;
  limits.max_pickle_ops = 100000;
  Context ctx(report, limits);
  scan_npy(ctx, in);
  (void)detect(in);
  return 0;
}
