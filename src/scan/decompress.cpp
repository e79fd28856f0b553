// Bounded decompression for the containers the scanner opens itself (zip deflate members,
// joblib's zlib/gzip/xz/lzma/lz4 files). Output grows in 1 MiB steps up to `cap`; when the
// stream would produce more, the result is cut at `cap` and marked truncated (the caller
// reports it through Context::charge_expansion). Libraries: zlib, liblzma, liblz4 (Debian).
#include <lz4frame.h>
#include <lzma.h>
#include <zlib.h>

#include "scan/internal.hpp"

namespace hubgate::scan {
namespace {

constexpr std::size_t kStep = 1 << 20;

Result<Decompressed> run_zlib(ByteView in, int window_bits, std::uint64_t cap) {
  z_stream z{};
  if (inflateInit2(&z, window_bits) != Z_OK) return fail(Errc::internal, "inflateInit2 failed");
  Decompressed out;
  z.next_in = const_cast<Bytef*>(in.data());
  std::size_t in_left = in.size();
  int rc = Z_OK;
  while (true) {
    if (out.bytes.size() >= cap) {
      out.truncated = true;
      break;
    }
    std::size_t chunk = std::min<std::uint64_t>(kStep, cap - out.bytes.size());
    std::size_t old = out.bytes.size();
    out.bytes.resize(old + chunk);
    z.next_out = out.bytes.data() + old;
    z.avail_out = static_cast<uInt>(chunk);
    if (z.avail_in == 0) {
      std::size_t n = std::min<std::size_t>(in_left, 1u << 30);
      z.avail_in = static_cast<uInt>(n);
      in_left -= n;
    }
    rc = inflate(&z, Z_NO_FLUSH);
    out.bytes.resize(old + (chunk - z.avail_out));
    if (rc == Z_STREAM_END) {
      // gzip members may follow one another.
      if (window_bits > 15 && (z.avail_in > 0 || in_left > 0)) {
        if (inflateReset(&z) != Z_OK) break;
        continue;
      }
      break;
    }
    if (rc == Z_BUF_ERROR && z.avail_in == 0 && in_left == 0) {
      inflateEnd(&z);
      return fail(Errc::corrupt, "compressed stream is truncated");
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      std::string msg = z.msg ? z.msg : "inflate error";
      inflateEnd(&z);
      return fail(Errc::corrupt, "inflate: " + msg);
    }
  }
  inflateEnd(&z);
  return out;
}

Result<Decompressed> run_lzma(ByteView in, bool alone, std::uint64_t cap) {
  lzma_stream s = LZMA_STREAM_INIT;
  lzma_ret r = alone ? lzma_alone_decoder(&s, 1ull << 30) : lzma_stream_decoder(&s, 1ull << 30, LZMA_CONCATENATED);
  if (r != LZMA_OK) return fail(Errc::internal, "lzma decoder init failed");
  Decompressed out;
  s.next_in = in.data();
  s.avail_in = in.size();
  while (true) {
    if (out.bytes.size() >= cap) {
      out.truncated = true;
      break;
    }
    std::size_t chunk = std::min<std::uint64_t>(kStep, cap - out.bytes.size());
    std::size_t old = out.bytes.size();
    out.bytes.resize(old + chunk);
    s.next_out = out.bytes.data() + old;
    s.avail_out = chunk;
    r = lzma_code(&s, LZMA_FINISH);
    out.bytes.resize(old + (chunk - s.avail_out));
    if (r == LZMA_STREAM_END) break;
    if (r != LZMA_OK) {
      lzma_end(&s);
      return fail(Errc::corrupt, "xz/lzma stream is corrupt or truncated (code " + std::to_string(r) + ")");
    }
  }
  lzma_end(&s);
  return out;
}

Result<Decompressed> run_lz4(ByteView in, std::uint64_t cap) {
  LZ4F_dctx* ctx = nullptr;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&ctx, LZ4F_VERSION))) return fail(Errc::internal, "lz4 init failed");
  Decompressed out;
  std::size_t pos = 0;
  std::size_t hint = 1;
  while (pos < in.size() && hint != 0) {
    if (out.bytes.size() >= cap) {
      out.truncated = true;
      break;
    }
    std::size_t chunk = std::min<std::uint64_t>(kStep, cap - out.bytes.size());
    std::size_t old = out.bytes.size();
    out.bytes.resize(old + chunk);
    std::size_t dst = chunk, src = in.size() - pos;
    hint = LZ4F_decompress(ctx, out.bytes.data() + old, &dst, in.data() + pos, &src, nullptr);
    out.bytes.resize(old + dst);
    if (LZ4F_isError(hint)) {
      std::string msg = LZ4F_getErrorName(hint);
      LZ4F_freeDecompressionContext(ctx);
      return fail(Errc::corrupt, "lz4: " + msg);
    }
    pos += src;
    if (src == 0 && dst == 0) break;
  }
  LZ4F_freeDecompressionContext(ctx);
  if (hint != 0 && !out.truncated) return fail(Errc::corrupt, "lz4 stream is truncated");
  return out;
}

}  // namespace

Result<Decompressed> decompress(ByteView in, Codec codec, std::uint64_t cap) {
  switch (codec) {
    case Codec::zlib: return run_zlib(in, 15, cap);
    case Codec::deflate_raw: return run_zlib(in, -15, cap);
    case Codec::gzip: return run_zlib(in, 15 + 16, cap);
    case Codec::xz: return run_lzma(in, false, cap);
    case Codec::lzma_alone: return run_lzma(in, true, cap);
    case Codec::lz4_frame: return run_lz4(in, cap);
  }
  return fail(Errc::internal, "unknown codec");
}

}  // namespace hubgate::scan
