// Compressed streams (gzip/zlib, bzip2, xz, zstd, lz4 frame): decompressed into memory in
// chunks, concatenated streams/members included (as the command-line tools and Python's
// modules read them), then handed to ctx.scan_nested. Output is bounded while decompressing:
// by the per-member expansion ratio (Limits::max_expansion_ratio, after the first 4 KiB), by
// kMaxInMemoryExpansion, and by the scan-wide total (Context::charge_expansion, charged per
// chunk). A stream that is corrupt or truncated is a finding and what was decompressed up to
// the error is still scanned: readers such as pickle.load act on a prefix before they fail.
#include <bzlib.h>
#include <lz4frame.h>
#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

#include <cstring>
#include <string>
#include <vector>

#include "scan/formats.hpp"

namespace hubgate::scan {
namespace {

constexpr std::size_t kChunk = 1 << 20;

// Collects output and enforces the limits; `full()` once a limit was hit (finding recorded).
class Output {
 public:
  Output(Context& ctx, std::uint64_t compressed, const char* fmt) : ctx_(ctx), compressed_(compressed), fmt_(fmt) {}

  // Grow by up to kChunk writable bytes; returns the pointer to write at.
  std::uint8_t* reserve(std::size_t& avail) {
    buf_.resize(used_ + kChunk);
    avail = kChunk;
    return buf_.data() + used_;
  }
  // `n` bytes were written at the last reserve(). False once a limit is exceeded.
  bool commit(std::size_t n) {
    used_ += n;
    if (!ctx_.charge_expansion(0, n)) return stop();
    const double ratio = ctx_.limits().max_expansion_ratio;
    if (used_ > 4096 && static_cast<double>(used_) > static_cast<double>(compressed_) * ratio) {
      ctx_.add(Severity::suspicious, "container.expansion-ratio", fmt_,
               std::string(fmt_) + " stream expands beyond " + std::to_string(static_cast<int>(ratio)) + "x its " +
                   std::to_string(compressed_) + " compressed bytes: possible decompression bomb; not scanned");
      return stop();
    }
    if (used_ > kMaxInMemoryExpansion) {
      ctx_.add(Severity::suspicious, "container.limit", fmt_,
               std::string(fmt_) + " stream decompresses to more than " + std::to_string(kMaxInMemoryExpansion) +
                   " bytes; not scanned");
      return stop();
    }
    return true;
  }
  bool full() const { return full_; }
  ByteView view() const { return ByteView(buf_.data(), used_); }

 private:
  bool stop() {
    full_ = true;
    return false;
  }
  Context& ctx_;
  std::uint64_t compressed_;
  const char* fmt_;
  std::vector<std::uint8_t> buf_;
  std::size_t used_ = 0;
  bool full_ = false;
};

// Each returns the number of input bytes consumed; sets err on a corrupt stream.
std::size_t gunzip(ByteView in, Output& out, std::string& err) {
  z_stream z{};
  if (inflateInit2(&z, 15 + 32) != Z_OK) { err = "zlib init failed"; return 0; }  // gzip or zlib
  z.next_in = const_cast<Bytef*>(in.data());
  std::size_t consumed = 0;
  while (true) {
    std::size_t left = in.size() - consumed;
    z.avail_in = static_cast<uInt>(std::min<std::size_t>(left, 1u << 30));
    std::size_t avail;
    z.next_out = out.reserve(avail);
    z.avail_out = static_cast<uInt>(avail);
    std::size_t before_in = z.avail_in;
    int rc = inflate(&z, Z_NO_FLUSH);
    consumed += before_in - z.avail_in;
    if (!out.commit(avail - z.avail_out)) break;
    if (rc == Z_STREAM_END) {
      // Concatenated gzip members: continue if another gzip header follows.
      if (in.size() - consumed >= 2 && in[consumed] == 0x1f && in[consumed + 1] == 0x8b) {
        inflateReset(&z);
        continue;
      }
      break;
    }
    if (rc == Z_BUF_ERROR && z.avail_in == 0 && consumed == in.size()) { err = "stream is truncated"; break; }
    if (rc != Z_OK && rc != Z_BUF_ERROR) { err = z.msg ? z.msg : "corrupt stream"; break; }
  }
  inflateEnd(&z);
  return consumed;
}

std::size_t bunzip(ByteView in, Output& out, std::string& err) {
  std::size_t consumed = 0;
  while (consumed < in.size()) {
    bz_stream b{};
    if (BZ2_bzDecompressInit(&b, 0, 0) != BZ_OK) { err = "bzip2 init failed"; return consumed; }
    b.next_in = const_cast<char*>(reinterpret_cast<const char*>(in.data() + consumed));
    std::size_t start = consumed;
    int rc = BZ_OK;
    while (true) {
      std::size_t left = in.size() - consumed;
      b.avail_in = static_cast<unsigned>(std::min<std::size_t>(left, 1u << 30));
      std::size_t avail;
      b.next_out = reinterpret_cast<char*>(out.reserve(avail));
      b.avail_out = static_cast<unsigned>(avail);
      unsigned before = b.avail_in;
      rc = BZ2_bzDecompress(&b);
      consumed += before - b.avail_in;
      if (!out.commit(avail - b.avail_out)) break;
      if (rc == BZ_STREAM_END) break;
      if (rc != BZ_OK) { err = "corrupt stream (bzip2 error " + std::to_string(rc) + ")"; break; }
      if (consumed == in.size() && b.avail_out != 0) { err = "stream is truncated"; break; }
    }
    BZ2_bzDecompressEnd(&b);
    if (rc != BZ_STREAM_END || out.full() || !err.empty()) break;
    // Another stream follows only if it starts with the bzip2 magic.
    if (in.size() - consumed < 3 || std::memcmp(in.data() + consumed, "BZh", 3) != 0) break;
    if (consumed == start) break;
  }
  return consumed;
}

// One .xz stream after another (as xz(1) and Python's lzma.decompress read them), with the
// zero stream padding allowed between and after them; stops at bytes that start no stream, which
// the caller reports as trailing data.
std::size_t unxz(ByteView in, Output& out, std::string& err) {
  std::size_t consumed = 0;
  while (true) {
    lzma_stream s = LZMA_STREAM_INIT;
    if (lzma_stream_decoder(&s, UINT64_MAX, 0) != LZMA_OK) { err = "xz init failed"; return consumed; }
    s.next_in = in.data() + consumed;
    s.avail_in = in.size() - consumed;
    lzma_ret rc = LZMA_OK;
    while (true) {
      std::size_t avail;
      s.next_out = out.reserve(avail);
      s.avail_out = avail;
      rc = lzma_code(&s, s.avail_in == 0 ? LZMA_FINISH : LZMA_RUN);
      if (!out.commit(avail - s.avail_out)) break;
      if (rc == LZMA_STREAM_END) break;
      if (rc == LZMA_BUF_ERROR) { err = "stream is truncated"; break; }
      if (rc != LZMA_OK) { err = "corrupt stream (lzma error " + std::to_string(rc) + ")"; break; }
    }
    consumed = in.size() - s.avail_in;
    lzma_end(&s);
    if (rc != LZMA_STREAM_END || out.full()) return consumed;
    // Stream padding: zero bytes in multiples of four.
    std::size_t pad = consumed;
    while (pad + 4 <= in.size() && std::memcmp(in.data() + pad, "\0\0\0\0", 4) == 0) pad += 4;
    static const std::uint8_t magic[6] = {0xFD, '7', 'z', 'X', 'Z', 0x00};
    if (in.size() - pad >= 6 && std::memcmp(in.data() + pad, magic, 6) == 0) {
      consumed = pad;
      continue;
    }
    return pad == in.size() ? pad : consumed;
  }
}

std::size_t unzstd(ByteView in, Output& out, std::string& err) {
  ZSTD_DStream* z = ZSTD_createDStream();
  if (!z) { err = "zstd init failed"; return 0; }
  ZSTD_DCtx_setParameter(z, ZSTD_d_windowLogMax, 31);
  ZSTD_inBuffer ib{in.data(), in.size(), 0};
  std::size_t last = 1;
  while (true) {
    std::size_t avail;
    std::uint8_t* dst = out.reserve(avail);
    ZSTD_outBuffer ob{dst, avail, 0};
    last = ZSTD_decompressStream(z, &ob, &ib);
    if (ZSTD_isError(last)) { err = ZSTD_getErrorName(last); out.commit(ob.pos); break; }
    if (!out.commit(ob.pos)) break;
    if (ib.pos == ib.size && ob.pos < ob.size) {
      if (last != 0) err = "stream is truncated";
      break;
    }
  }
  ZSTD_freeDStream(z);
  return ib.pos;
}

std::size_t unlz4(ByteView in, Output& out, std::string& err) {
  LZ4F_dctx* d = nullptr;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&d, LZ4F_VERSION))) { err = "lz4 init failed"; return 0; }
  std::size_t consumed = 0;
  std::size_t hint = 1;
  while (consumed < in.size()) {
    std::size_t avail;
    std::uint8_t* dst = out.reserve(avail);
    std::size_t src_n = in.size() - consumed;
    hint = LZ4F_decompress(d, dst, &avail, in.data() + consumed, &src_n, nullptr);
    consumed += src_n;
    if (LZ4F_isError(hint)) { err = LZ4F_getErrorName(hint); out.commit(avail); break; }
    if (!out.commit(avail)) break;
    if (src_n == 0 && avail == 0) break;
  }
  if (err.empty() && hint != 0 && !out.full()) err = "stream is truncated";
  LZ4F_freeDecompressionContext(d);
  return consumed;
}

std::string nested_name(Context& ctx, Format f) {
  std::string base = ctx.member().empty() ? ctx.report().file : ctx.member();
  if (auto slash = base.rfind('/'); slash != std::string::npos) base = base.substr(slash + 1);
  for (std::string_view ext : {".gz", ".tgz", ".bz2", ".xz", ".zst", ".zstd", ".lz4"}) {
    if (base.size() > ext.size() && base.ends_with(ext)) {
      base.resize(base.size() - ext.size());
      if (ext == ".tgz") base += ".tar";
      return base;
    }
  }
  return std::string("<") + format_name(f) + " content>";
}

}  // namespace

void scan_compressed(Context& ctx, ByteView data, Format f) {
  const char* fmt = format_name(f);
  Output out(ctx, data.size(), fmt);
  std::string err;
  std::size_t consumed = 0;
  switch (f) {
    case Format::gzip: consumed = gunzip(data, out, err); break;
    case Format::bzip2: consumed = bunzip(data, out, err); break;
    case Format::xz: consumed = unxz(data, out, err); break;
    case Format::zstd: consumed = unzstd(data, out, err); break;
    case Format::lz4: consumed = unlz4(data, out, err); break;
    default:
      ctx.add(Severity::suspicious, "compressed.unsupported", "", std::string("not a compressed stream: ") + fmt);
      return;
  }
  if (out.full()) return;  // a limit finding was recorded; content not scanned
  if (!err.empty()) {
    ctx.add(Severity::suspicious, "compressed.malformed", "", std::string(fmt) + ": " + err, consumed);
  } else if (consumed < data.size()) {
    bool zeros = true;
    for (std::size_t i = consumed; i < data.size() && zeros; ++i) zeros = data[i] == 0;
    if (!zeros) {
      ctx.add(Severity::suspicious, "compressed.trailing-data", "",
              std::string(fmt) + ": " + std::to_string(data.size() - consumed) + " bytes after the end of the stream",
              consumed);
    }
  }
  if (!out.view().empty()) ctx.scan_nested(out.view(), nested_name(ctx, f));
}

}  // namespace hubgate::scan
