// TEMPORARY (branch scanfmt): stand-ins for the scanner functions owned by branch scanpk, so
// this branch links and its tests run before that work is merged. Delete this file in the merge
// that brings scanpk's detect() and pickle/zip/torch/npy/joblib scanners.
// detect() here is a minimal content sniff covering the formats this branch scans.
#include <cstring>

#include "scan/scan.hpp"

namespace hubgate::scan {

namespace {
bool starts(ByteView d, std::string_view magic, std::size_t at = 0) {
  return d.size() >= at + magic.size() && std::memcmp(d.data() + at, magic.data(), magic.size()) == 0;
}
}  // namespace

Format detect(ByteView d, std::string_view name) {
  if (starts(d, "GGUF")) return Format::gguf;
  if (starts(d, "\x89HDF\r\n\x1a\n")) return Format::hdf5;
  if (starts(d, "\x1f\x8b")) return Format::gzip;
  if (starts(d, "BZh")) return Format::bzip2;
  if (starts(d, std::string_view("\xfd" "7zXZ\0", 6))) return Format::xz;
  if (starts(d, "\x28\xb5\x2f\xfd")) return Format::zstd;
  if (starts(d, "\x04\x22\x4d\x18")) return Format::lz4;
  if (starts(d, "PK\x03\x04")) return Format::zip;
  if (starts(d, "ustar", 257)) return Format::tar;
  if (starts(d, "\x7f" "ELF")) return Format::executable;
  if (d.size() >= 2 && d[0] == 0x80 && d[1] <= 5) return Format::pickle;
  if (d.size() >= 9 && d[8] == '{') return Format::safetensors;
  if (name.ends_with(".onnx")) return Format::onnx;
  return Format::unknown;
}

void scan_pickle(Context& ctx, ByteView) {
  ctx.add(Severity::suspicious, "pending.pickle", "", "pickle scanner not merged yet");
}
void scan_zip(Context&, ByteView) {}
void scan_torch_legacy(Context&, ByteView) {}
void scan_npy(Context&, ByteView) {}
void scan_joblib(Context&, ByteView) {}

}  // namespace hubgate::scan
