// joblib files: a pickle stream in which each numpy array's bytes follow its NumpyArrayWrapper
// inline (object arrays: a nested protocol-2 pickle), optionally wrapped in one compressor
// (zlib, gzip, xz, lzma, lz4 — joblib's `compress=` choices). Decompress with the scan's
// expansion limits, then simulate with joblib mode on (pickle_vm follows the inline data).
#include "scan/internal.hpp"

namespace hubgate::scan {

void scan_joblib(Context& ctx, ByteView data) {
  PickleScanOptions opt;
  opt.joblib = true;
  if (auto codec = sniff_codec(data)) {
    std::uint64_t cap = static_cast<std::uint64_t>(ctx.limits().max_expansion_ratio * static_cast<double>(data.size())) +
                        (1u << 20);
    cap = std::min(cap, ctx.limits().max_expanded_bytes);
    auto out = decompress(data, *codec, cap);
    if (!out) {
      ctx.add(Severity::suspicious, "joblib.malformed", "", "compressed joblib stream: " + out.error().message, 0);
      return;
    }
    if (out->truncated) {
      ctx.charge_expansion(data.size(), cap + 1);
    } else if (!ctx.charge_expansion(data.size(), out->bytes.size())) {
      return;
    }
    ctx.in_member("(decompressed)", [&] { scan_pickles(ctx, out->bytes, opt); });
    return;
  }
  scan_pickles(ctx, data, opt);
}

}  // namespace hubgate::scan
