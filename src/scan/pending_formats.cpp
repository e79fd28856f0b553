// Placeholders for the per-format scanners implemented on branch `scanfmt`; this file is deleted
// by the merge that brings them. They record nothing, so these formats scan as safe meanwhile.
#include "scan/scan.hpp"

namespace hubgate::scan {

void scan_safetensors(Context&, ByteView) {}
void scan_gguf(Context&, ByteView) {}
void scan_onnx(Context&, ByteView) {}
void scan_keras_config(Context&, ByteView) {}
void scan_hdf5(Context&, ByteView) {}
void scan_tar(Context&, ByteView) {}
void scan_compressed(Context&, ByteView, Format) {}

}  // namespace hubgate::scan
