// Fuzz target: scan_gguf on arbitrary bytes must return (findings or none) without crashing,
// reading out of bounds (sanitizer builds) or allocating without bound.
#include <cstdint>

#include "scan/scan.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  hubgate::scan::Report report;
  report.file = "fuzz";
  hubgate::scan::Context ctx(report);
  hubgate::scan::scan_gguf(ctx, hubgate::ByteView(data, size));
  return 0;
}
