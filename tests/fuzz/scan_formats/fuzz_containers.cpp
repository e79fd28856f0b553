// Fuzz target: the container and config scanners (tar, every compressed stream format, Keras
// config JSON, the safetensors index) on arbitrary bytes; the first byte picks the scanner, the
// rest is the input. Nested members go through detect() and every other scanner.
#include <cstdint>

#include "scan/formats.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace hubgate::scan;
  if (size == 0) return 0;
  Report report;
  report.file = "fuzz";
  Limits limits;
  limits.max_expanded_bytes = 64 << 20;  // keep each run small
  Context ctx(report, limits);
  hubgate::ByteView in(data + 1, size - 1);
  switch (data[0] % 8) {
    case 0: scan_tar(ctx, in); break;
    case 1: scan_compressed(ctx, in, Format::gzip); break;
    case 2: scan_compressed(ctx, in, Format::bzip2); break;
    case 3: scan_compressed(ctx, in, Format::xz); break;
    case 4: scan_compressed(ctx, in, Format::zstd); break;
    case 5: scan_compressed(ctx, in, Format::lz4); break;
    case 6: scan_keras_config(ctx, in); break;
    case 7: scan_safetensors_index(ctx, in); break;
  }
  return 0;
}
