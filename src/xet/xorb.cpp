// Xorb records and footer. Writing: each chunk is compressed per the policy; `automatic` probes
// the first 4 KiB with plain LZ4 and with BG4+LZ4 and compresses the whole chunk with the better
// scheme only when the probe saves at least 1/32, falling back to scheme 0 whenever the result
// does not shrink the chunk. LZ4 frames are assembled here (fixed 7-byte frame header, blocks from
// LZ4_compress_fast_extState, end mark) so no per-chunk context is allocated. Reading: every
// header field is checked against the bytes present and the limits before anything is
// allocated or decompressed; LZ4 frames are decoded with liblz4's LZ4F into a buffer of exactly
// the declared size, and must end exactly at the payload's end.
#include "xet/xorb.hpp"

#include <lz4.h>
#include <lz4frame.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <random>

namespace hubgate::xet {

namespace {

constexpr std::size_t kLz4Block = 65536;  // BD 0x40
constexpr std::size_t kProbe = 4096;

// The 7-byte frame header for FLG=0x60 BD=0x40 (its last byte is a checksum of FLG/BD).
const std::array<std::uint8_t, 7>& frame_header() {
  static const std::array<std::uint8_t, 7> hdr = [] {
    LZ4F_preferences_t prefs{};
    prefs.frameInfo.blockSizeID = LZ4F_max64KB;
    prefs.frameInfo.blockMode = LZ4F_blockIndependent;
    prefs.frameInfo.contentChecksumFlag = LZ4F_noContentChecksum;
    prefs.frameInfo.blockChecksumFlag = LZ4F_noBlockChecksum;
    std::uint8_t buf[64];
    std::size_t n = LZ4F_compressFrame(buf, sizeof buf, "", 0, &prefs);
    std::array<std::uint8_t, 7> h{};
    if (!LZ4F_isError(n) && n >= 7) std::memcpy(h.data(), buf, 7);
    return h;
  }();
  return hdr;
}

void* lz4_state() {
  thread_local std::unique_ptr<char[]> state(new char[static_cast<std::size_t>(LZ4_sizeofState())]);
  return state.get();
}

struct DctxDeleter {
  void operator()(LZ4F_dctx* d) const { LZ4F_freeDecompressionContext(d); }
};
LZ4F_dctx* lz4_dctx() {
  thread_local std::unique_ptr<LZ4F_dctx, DctxDeleter> d([] {
    LZ4F_dctx* p = nullptr;
    if (LZ4F_isError(LZ4F_createDecompressionContext(&p, LZ4F_VERSION))) p = nullptr;
    return p;
  }());
  return d.get();
}

// Appends one LZ4 frame of `in` to `out`; returns the frame size.
std::size_t append_lz4_frame(std::string& out, const std::uint8_t* in, std::size_t n) {
  const std::size_t start = out.size();
  const auto& hdr = frame_header();
  std::size_t blocks = (n + kLz4Block - 1) / kLz4Block;
  // Grow without zero-filling: every byte up to the final size is written below.
  out.resize_and_overwrite(start + 7 + blocks * (4 + static_cast<std::size_t>(LZ4_compressBound(kLz4Block))) + 4,
                           [](char*, std::size_t n) { return n; });
  char* dst = out.data() + start;
  std::memcpy(dst, hdr.data(), 7);
  std::size_t pos = 7;
  for (std::size_t off = 0; off < n; off += kLz4Block) {
    int len = static_cast<int>(std::min(kLz4Block, n - off));
    int c = LZ4_compress_fast_extState(lz4_state(), reinterpret_cast<const char*>(in + off), dst + pos + 4, len,
                                       LZ4_compressBound(len), 1);
    std::uint32_t word;
    if (c <= 0 || c >= len) {  // store the block uncompressed (high bit set)
      std::memcpy(dst + pos + 4, in + off, static_cast<std::size_t>(len));
      word = static_cast<std::uint32_t>(len) | 0x80000000u;
      c = len;
    } else {
      word = static_cast<std::uint32_t>(c);
    }
    for (int b = 0; b < 4; ++b) dst[pos + b] = static_cast<char>(word >> (8 * b));
    pos += 4 + static_cast<std::size_t>(c);
  }
  std::memset(dst + pos, 0, 4);  // end mark
  pos += 4;
  out.resize(start + pos);
  return pos;
}

int probe_lz4(const std::uint8_t* in, std::size_t n) {
  thread_local std::string buf;
  buf.resize(static_cast<std::size_t>(LZ4_compressBound(static_cast<int>(n))));
  return LZ4_compress_fast_extState(lz4_state(), reinterpret_cast<const char*>(in), buf.data(), static_cast<int>(n),
                                    static_cast<int>(buf.size()), 1);
}

void put_u24(char* p, std::uint32_t v) {
  p[0] = static_cast<char>(v);
  p[1] = static_cast<char>(v >> 8);
  p[2] = static_cast<char>(v >> 16);
}

std::uint32_t get_u24(const std::uint8_t* p) { return p[0] | (p[1] << 8) | (std::uint32_t{p[2]} << 16); }

std::string err_at(std::size_t off, const std::string& what) { return "xorb: record at offset " + std::to_string(off) + ": " + what; }

}  // namespace

#if defined(__x86_64__)
namespace {
// 64 input bytes -> 16 bytes of each group: pshufb gathers each 16-byte load into four dwords
// (g0 g1 g2 g3), then a 4x4 dword transpose. SSSE3 (checked once at run time).
__attribute__((target("ssse3"))) std::size_t bg4_split_ssse3(const std::uint8_t* p, std::size_t q, std::uint8_t* g[4]) {
  const __m128i m = _mm_setr_epi8(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  std::size_t i = 0;
  for (; i + 16 <= q; i += 16) {
    const std::uint8_t* s = p + 4 * i;
    __m128i x0 = _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s)), m);
    __m128i x1 = _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s + 16)), m);
    __m128i x2 = _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s + 32)), m);
    __m128i x3 = _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s + 48)), m);
    __m128i t0 = _mm_unpacklo_epi32(x0, x1), t1 = _mm_unpackhi_epi32(x0, x1);
    __m128i t2 = _mm_unpacklo_epi32(x2, x3), t3 = _mm_unpackhi_epi32(x2, x3);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(g[0] + i), _mm_unpacklo_epi64(t0, t2));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(g[1] + i), _mm_unpackhi_epi64(t0, t2));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(g[2] + i), _mm_unpacklo_epi64(t1, t3));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(g[3] + i), _mm_unpackhi_epi64(t1, t3));
  }
  return i;
}

// 16 bytes of each group -> 64 output bytes: byte then word interleaves (SSE2, always there).
std::size_t bg4_join_sse2(const std::uint8_t* g[4], std::size_t q, std::uint8_t* out) {
  std::size_t i = 0;
  for (; i + 16 <= q; i += 16) {
    __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(g[0] + i));
    __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(g[1] + i));
    __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i*>(g[2] + i));
    __m128i d = _mm_loadu_si128(reinterpret_cast<const __m128i*>(g[3] + i));
    __m128i ab_lo = _mm_unpacklo_epi8(a, b), ab_hi = _mm_unpackhi_epi8(a, b);
    __m128i cd_lo = _mm_unpacklo_epi8(c, d), cd_hi = _mm_unpackhi_epi8(c, d);
    std::uint8_t* o = out + 4 * i;
    _mm_storeu_si128(reinterpret_cast<__m128i*>(o), _mm_unpacklo_epi16(ab_lo, cd_lo));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(o + 16), _mm_unpackhi_epi16(ab_lo, cd_lo));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(o + 32), _mm_unpacklo_epi16(ab_hi, cd_hi));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(o + 48), _mm_unpackhi_epi16(ab_hi, cd_hi));
  }
  return i;
}

const bool kHaveSsse3 = __builtin_cpu_supports("ssse3");
}  // namespace
#endif

void bg4_split(ByteView in, std::uint8_t* out) {
  const std::size_t n = in.size(), q = n / 4, r = n % 4;
  std::uint8_t* g[4];
  g[0] = out;
  g[1] = g[0] + q + (r >= 1);
  g[2] = g[1] + q + (r >= 2);
  g[3] = g[2] + q + (r >= 3);
  const std::uint8_t* p = in.data();
  std::size_t i = 0;
#if defined(__x86_64__)
  if (kHaveSsse3) i = bg4_split_ssse3(p, q, g);
#endif
  for (; i < q; ++i) {
    g[0][i] = p[4 * i];
    g[1][i] = p[4 * i + 1];
    g[2][i] = p[4 * i + 2];
    g[3][i] = p[4 * i + 3];
  }
  for (std::size_t k = 0; k < r; ++k) g[k][q] = p[4 * q + k];
}

void bg4_join(ByteView in, std::uint8_t* out) {
  const std::size_t n = in.size(), q = n / 4, r = n % 4;
  const std::uint8_t* g[4];
  g[0] = in.data();
  g[1] = g[0] + q + (r >= 1);
  g[2] = g[1] + q + (r >= 2);
  g[3] = g[2] + q + (r >= 3);
  std::size_t i = 0;
#if defined(__x86_64__)
  i = bg4_join_sse2(g, q, out);
#endif
  for (; i < q; ++i) {
    out[4 * i] = g[0][i];
    out[4 * i + 1] = g[1][i];
    out[4 * i + 2] = g[2][i];
    out[4 * i + 3] = g[3][i];
  }
  for (std::size_t k = 0; k < r; ++k) out[4 * q + k] = g[k][q];
}

CompressionPolicy resolve_policy(ByteView chunk, CompressionPolicy policy) {
  if (policy != CompressionPolicy::automatic) return policy;
  const std::size_t n = chunk.size();
  if (n < 64) return CompressionPolicy::none;
  std::size_t s = std::min(n, kProbe);
  int plain = probe_lz4(chunk.data(), s);
  thread_local std::vector<std::uint8_t> grouped;
  grouped.resize(s);
  bg4_split(chunk.subspan(0, s), grouped.data());
  int bg = probe_lz4(grouped.data(), s);
  int best = std::min(plain > 0 ? plain : INT32_MAX, bg > 0 ? bg : INT32_MAX);
  if (best != INT32_MAX && static_cast<std::size_t>(best) <= s - s / 32)
    return bg < plain && bg > 0 ? CompressionPolicy::bg4_lz4 : CompressionPolicy::lz4;
  return CompressionPolicy::none;
}

Compression append_record(std::string& out, ByteView chunk, CompressionPolicy policy) {
  const std::size_t n = chunk.size();
  const std::size_t hdr = out.size();
  out.resize(hdr + kRecordHeaderSize);
  Compression scheme = Compression::none;
  policy = resolve_policy(chunk, policy);
  if (policy == CompressionPolicy::lz4 && n > 0) {
    std::size_t c = append_lz4_frame(out, chunk.data(), n);
    if (c < n) scheme = Compression::lz4; else out.resize(hdr + kRecordHeaderSize);
  } else if (policy == CompressionPolicy::bg4_lz4 && n > 0) {
    thread_local std::vector<std::uint8_t> grouped;
    grouped.resize(n);
    bg4_split(chunk, grouped.data());
    std::size_t c = append_lz4_frame(out, grouped.data(), n);
    if (c < n) scheme = Compression::bg4_lz4; else out.resize(hdr + kRecordHeaderSize);
  }
  if (scheme == Compression::none) out.append(reinterpret_cast<const char*>(chunk.data()), n);
  char* h = out.data() + hdr;
  h[0] = 0;
  put_u24(h + 1, static_cast<std::uint32_t>(out.size() - hdr - kRecordHeaderSize));
  h[4] = static_cast<char>(scheme);
  put_u24(h + 5, static_cast<std::uint32_t>(n));
  return scheme;
}

namespace {
Result<void> lz4_decode(ByteView payload, std::uint8_t* dst, std::size_t unpacked) {
  LZ4F_dctx* d = lz4_dctx();
  if (!d) return fail(Errc::internal, "lz4: cannot create a decompression context");
  LZ4F_resetDecompressionContext(d);
  std::size_t dpos = 0, spos = 0;
  LZ4F_decompressOptions_t opt{};
  for (;;) {
    std::size_t dsz = unpacked - dpos, ssz = payload.size() - spos;
    std::size_t r = LZ4F_decompress(d, dst + dpos, &dsz, payload.data() + spos, &ssz, &opt);
    if (LZ4F_isError(r)) {
      LZ4F_resetDecompressionContext(d);
      return fail(Errc::corrupt, std::string("lz4 frame: ") + LZ4F_getErrorName(r));
    }
    dpos += dsz;
    spos += ssz;
    if (r == 0) break;
    if (dsz == 0 && ssz == 0) {
      LZ4F_resetDecompressionContext(d);
      if (spos == payload.size()) return fail(Errc::corrupt, "lz4 frame: truncated");
      return fail(Errc::corrupt, "lz4 frame: decodes to more than the declared " + std::to_string(unpacked) + " bytes");
    }
  }
  if (spos != payload.size())
    return fail(Errc::corrupt, "lz4 frame: " + std::to_string(payload.size() - spos) + " trailing bytes after the frame");
  if (dpos != unpacked)
    return fail(Errc::corrupt, "lz4 frame: decoded " + std::to_string(dpos) + " bytes, header says " + std::to_string(unpacked));
  return {};
}
}  // namespace

Result<void> decode_payload(ByteView payload, std::uint8_t scheme, std::uint32_t unpacked_size, std::string& out) {
  const std::size_t start = out.size();
  switch (scheme) {
    case 0:
      if (payload.size() != unpacked_size)
        return fail(Errc::corrupt, "uncompressed record: payload " + std::to_string(payload.size()) + " bytes, header says " +
                                       std::to_string(unpacked_size));
      out.append(reinterpret_cast<const char*>(payload.data()), payload.size());
      return {};
    case 1: {
      out.resize(start + unpacked_size);
      auto r = lz4_decode(payload, reinterpret_cast<std::uint8_t*>(out.data() + start), unpacked_size);
      if (!r) out.resize(start);
      return r;
    }
    case 2: {
      thread_local std::vector<std::uint8_t> grouped;
      grouped.resize(unpacked_size);
      HG_TRY_VOID(lz4_decode(payload, grouped.data(), unpacked_size));
      out.resize(start + unpacked_size);
      bg4_join(ByteView(grouped.data(), unpacked_size), reinterpret_cast<std::uint8_t*>(out.data() + start));
      return {};
    }
    default:
      return fail(Errc::unsupported, "unknown compression scheme " + std::to_string(scheme));
  }
}

Result<std::uint32_t> XorbBuilder::add(ByteView chunk, const MerkleHash& hash) {
  if (!keep_body_) return fail(Errc::invalid_argument, "xorb: add() on a builder that keeps no body (use add_record)");
  if (!fits(chunk.size()))
    return fail(Errc::limit_exceeded, "xorb: chunk of " + std::to_string(chunk.size()) + " bytes does not fit (" +
                                          std::to_string(chunks_.size()) + " chunks, " + std::to_string(unpacked_) + " bytes)");
  body_.resize(body_size_);  // drop a footer left by serialize()
  // One allocation per builder (pages are only touched as records are written): no regrowth copies.
  if (body_.capacity() < kMaxXorbBytes) body_.reserve(kMaxXorbBytes + kMaxXorbBytes / 64 + (1 << 20));
  XorbChunkMeta m;
  m.hash = hash;
  m.record_start = static_cast<std::uint32_t>(body_.size());
  m.scheme = append_record(body_, chunk, policy_);
  m.record_end = static_cast<std::uint32_t>(body_.size());
  body_size_ = body_.size();
  m.unpacked_start = static_cast<std::uint32_t>(unpacked_);
  m.unpacked_size = static_cast<std::uint32_t>(chunk.size());
  unpacked_ += chunk.size();
  chunks_.push_back(m);
  return static_cast<std::uint32_t>(chunks_.size() - 1);
}

Result<std::uint32_t> XorbBuilder::add_uncompressed(ByteView chunk, const MerkleHash& hash) {
  const CompressionPolicy saved = policy_;
  policy_ = CompressionPolicy::none;
  auto r = add(chunk, hash);
  policy_ = saved;
  return r;
}

std::array<std::uint8_t, kRecordHeaderSize> record_header(Compression scheme, std::uint32_t payload_size,
                                                          std::uint32_t unpacked_size) {
  std::array<std::uint8_t, kRecordHeaderSize> h{};
  char* p = reinterpret_cast<char*>(h.data());
  put_u24(p + 1, payload_size);
  h[4] = static_cast<std::uint8_t>(scheme);
  put_u24(p + 5, unpacked_size);
  return h;
}

std::optional<XorbRecordInfo> parse_record_header(ByteView header) {
  if (header.size() != kRecordHeaderSize || header[0] != 0 || header[4] > static_cast<std::uint8_t>(Compression::bg4_lz4))
    return std::nullopt;
  XorbRecordInfo r;
  r.payload_size = get_u24(header.data() + 1);
  r.scheme = header[4];
  r.unpacked_size = get_u24(header.data() + 5);
  return r;
}

Result<std::uint32_t> XorbBuilder::add_record_header(ByteView header, const MerkleHash& hash) {
  if (keep_body_) return fail(Errc::invalid_argument, "xorb: add_record_header() on a builder that keeps its body");
  if (header.size() != kRecordHeaderSize || header[0] != 0 || header[4] > static_cast<std::uint8_t>(Compression::bg4_lz4))
    return fail(Errc::invalid_argument, "xorb: add_record_header: not a record header");
  const std::uint32_t payload = get_u24(header.data() + 1), unpacked = get_u24(header.data() + 5);
  if (!fits(unpacked))
    return fail(Errc::limit_exceeded, "xorb: chunk of " + std::to_string(unpacked) + " bytes does not fit (" +
                                          std::to_string(chunks_.size()) + " chunks, " + std::to_string(unpacked_) + " bytes)");
  XorbChunkMeta m;
  m.hash = hash;
  m.record_start = static_cast<std::uint32_t>(body_size_);
  m.scheme = static_cast<Compression>(header[4]);
  body_size_ += kRecordHeaderSize + payload;
  m.record_end = static_cast<std::uint32_t>(body_size_);
  m.unpacked_start = static_cast<std::uint32_t>(unpacked_);
  m.unpacked_size = unpacked;
  unpacked_ += unpacked;
  chunks_.push_back(m);
  return static_cast<std::uint32_t>(chunks_.size() - 1);
}

Result<std::uint32_t> XorbBuilder::add_record(ByteView record, std::uint32_t unpacked_size, const MerkleHash& hash) {
  if (record.size() < kRecordHeaderSize || record[0] != 0 || get_u24(record.data() + 1) != record.size() - kRecordHeaderSize ||
      get_u24(record.data() + 5) != unpacked_size || record[4] > static_cast<std::uint8_t>(Compression::bg4_lz4))
    return fail(Errc::invalid_argument, "xorb: add_record: not one record of " + std::to_string(unpacked_size) + " unpacked bytes");
  if (!fits(unpacked_size))
    return fail(Errc::limit_exceeded, "xorb: chunk of " + std::to_string(unpacked_size) + " bytes does not fit (" +
                                          std::to_string(chunks_.size()) + " chunks, " + std::to_string(unpacked_) + " bytes)");
  XorbChunkMeta m;
  m.hash = hash;
  m.record_start = static_cast<std::uint32_t>(body_size_);
  if (keep_body_) {
    body_.resize(body_size_);
    if (body_.capacity() < kMaxXorbBytes) body_.reserve(kMaxXorbBytes + kMaxXorbBytes / 64 + (1 << 20));
    body_.append(reinterpret_cast<const char*>(record.data()), record.size());
  }
  m.scheme = static_cast<Compression>(record[4]);
  body_size_ += record.size();
  m.record_end = static_cast<std::uint32_t>(body_size_);
  m.unpacked_start = static_cast<std::uint32_t>(unpacked_);
  m.unpacked_size = unpacked_size;
  unpacked_ += unpacked_size;
  chunks_.push_back(m);
  return static_cast<std::uint32_t>(chunks_.size() - 1);
}

MerkleHash XorbBuilder::hash() const {
  std::vector<HashAndSize> leaves;
  leaves.reserve(chunks_.size());
  for (const auto& c : chunks_) leaves.push_back({c.hash, c.unpacked_size});
  return merkle_root(leaves);
}

std::string XorbBuilder::footer() const { return xorb_footer(hash(), chunks_); }

ByteView XorbBuilder::serialize(bool with_footer) {
  body_.resize(body_size_);
  if (with_footer) body_ += footer();
  return as_bytes(body_);
}

void XorbBuilder::clear() {
  body_.clear();  // keeps the capacity: the next xorb reuses the same pages
  body_size_ = 0;
  chunks_.clear();
  unpacked_ = 0;
}

std::string XorbBuilder::take_buffer() {
  clear();
  std::string b = std::move(body_);
  body_ = std::string();
  return b;
}

void XorbBuilder::give_buffer(std::string&& buffer) {
  clear();
  if (buffer.capacity() > body_.capacity()) body_ = std::move(buffer);
  body_.clear();
}

std::string xorb_footer(const MerkleHash& xorb_hash, std::span<const XorbChunkMeta> chunks) {
  const auto n = static_cast<std::uint32_t>(chunks.size());
  std::string f;
  f.reserve(96 + 40 * n);
  f.append("XETBLOB");
  f.push_back(1);
  f.append(reinterpret_cast<const char*>(xorb_hash.bytes.data()), 32);
  f.append("XBLBHSH");
  f.push_back(0);
  put_le<std::uint32_t>(f, n);
  for (const auto& c : chunks) f.append(reinterpret_cast<const char*>(c.hash.bytes.data()), 32);
  f.append("XBLBBND");
  f.push_back(1);
  put_le<std::uint32_t>(f, n);
  for (const auto& c : chunks) put_le<std::uint32_t>(f, c.record_end);
  for (const auto& c : chunks) put_le<std::uint32_t>(f, c.unpacked_start + c.unpacked_size);
  put_le<std::uint32_t>(f, n);
  put_le<std::uint32_t>(f, 52 + 40 * n);  // hashes section ident, back from the end of the nonce
  put_le<std::uint32_t>(f, 40 + 8 * n);   // boundary section ident
  std::uint8_t nonce[16] = {};
  thread_local std::mt19937 rng{std::random_device{}()};
  std::uint32_t r = static_cast<std::uint32_t>(rng());  // per-upload uniqueness, not security
  std::memcpy(nonce, &r, 4);
  f.append(reinterpret_cast<const char*>(nonce), 16);
  put_le<std::uint32_t>(f, 92 + 40 * n);
  return f;
}


Result<XorbFooterInfo> parse_xorb_footer(ByteView info) {
  XorbFooterInfo f;
  ByteReader r(info, "xorb footer");
  HG_TRY(auto ident, r.bytes(7));
  if (as_chars(ident) != "XETBLOB") return fail(Errc::corrupt, "xorb footer: bad ident");
  HG_TRY(auto ver, r.u8());
  if (ver != 1) return fail(Errc::unsupported, "xorb footer: unsupported version " + std::to_string(ver));
  HG_TRY(auto h, r.bytes(32));
  f.hash = MerkleHash::from_raw(h);
  HG_TRY(auto hid, r.bytes(7));
  HG_TRY(auto hver, r.u8());
  if (as_chars(hid) != "XBLBHSH" || hver != 0) return fail(Errc::corrupt, "xorb footer: bad hashes section");
  HG_TRY(auto n2, r.u32le());
  if (n2 > kMaxXorbChunks) return fail(Errc::limit_exceeded, "xorb footer: " + std::to_string(n2) + " chunks");
  HG_TRY_VOID(r.need(std::size_t{n2} * 32));
  for (std::uint32_t i = 0; i < n2; ++i) f.chunk_hashes.push_back(MerkleHash::from_raw(*r.bytes(32)));
  HG_TRY(auto bid, r.bytes(7));
  HG_TRY(auto bver, r.u8());
  if (as_chars(bid) != "XBLBBND" || bver != 1) return fail(Errc::corrupt, "xorb footer: bad boundary section");
  HG_TRY(auto n3, r.u32le());
  if (n3 != n2) return fail(Errc::corrupt, "xorb footer: inconsistent chunk counts");
  HG_TRY_VOID(r.need(std::size_t{n3} * 8));
  for (std::uint32_t i = 0; i < n3; ++i) f.record_ends.push_back(*r.u32le());
  for (std::uint32_t i = 0; i < n3; ++i) f.unpacked_ends.push_back(*r.u32le());
  HG_TRY(auto n4, r.u32le());
  HG_TRY(auto hoff, r.u32le());
  HG_TRY(auto boff, r.u32le());
  HG_TRY_VOID(r.skip(16));
  if (!r.empty()) return fail(Errc::corrupt, "xorb footer: length mismatch");
  if (n4 != n2 || hoff != 52 + 40 * n2 || boff != 40 + 8 * n2) return fail(Errc::corrupt, "xorb footer: inconsistent offsets");
  for (std::uint32_t i = 1; i < n2; ++i)
    if (f.record_ends[i] <= f.record_ends[i - 1] || f.unpacked_ends[i] < f.unpacked_ends[i - 1])
      return fail(Errc::corrupt, "xorb footer: boundaries not increasing");
  return f;
}

Result<XorbLayout> parse_xorb_layout(ByteView x) {
  XorbLayout lay;
  std::size_t body_end = x.size();
  std::vector<std::uint32_t> rec_ends, unp_ends;
  if (x.size() >= 4 + 92) {
    std::uint32_t info_len = x[x.size() - 4] | x[x.size() - 3] << 8 | x[x.size() - 2] << 16 | std::uint32_t{x[x.size() - 1]} << 24;
    if (info_len >= 92 && info_len <= x.size() - 4 && (info_len - 92) % 40 == 0) {
      std::size_t at = x.size() - 4 - info_len;
      if (std::memcmp(x.data() + at, "XETBLOB", 7) == 0) {
        HG_TRY(auto f, parse_xorb_footer(x.subspan(at, info_len)));
        lay.footer_hash = f.hash;
        lay.footer_chunk_hashes = std::move(f.chunk_hashes);
        rec_ends = std::move(f.record_ends);
        unp_ends = std::move(f.unpacked_ends);
        lay.has_footer = true;
        body_end = at;
      }
    }
  }
  std::size_t pos = 0;
  std::uint64_t unpacked = 0;
  while (pos < body_end) {
    if (body_end - pos < kRecordHeaderSize) return fail(Errc::corrupt, err_at(pos, "truncated header"));
    const std::uint8_t* h = x.data() + pos;
    if (h[0] != 0) return fail(Errc::unsupported, err_at(pos, "unknown record version " + std::to_string(h[0])));
    XorbRecordInfo rec;
    rec.offset = static_cast<std::uint32_t>(pos);
    rec.payload_size = get_u24(h + 1);
    rec.scheme = h[4];
    rec.unpacked_size = get_u24(h + 5);
    if (rec.scheme > 2) return fail(Errc::unsupported, err_at(pos, "unknown compression scheme " + std::to_string(rec.scheme)));
    if (rec.payload_size > body_end - pos - kRecordHeaderSize)
      return fail(Errc::corrupt, err_at(pos, "payload of " + std::to_string(rec.payload_size) + " bytes overruns the xorb (" +
                                                 std::to_string(body_end - pos - kRecordHeaderSize) + " left)"));
    if (rec.scheme == 0 && rec.payload_size != rec.unpacked_size)
      return fail(Errc::corrupt, err_at(pos, "uncompressed record sizes differ"));
    if (lay.records.size() >= kMaxXorbChunks) return fail(Errc::limit_exceeded, "xorb: more than 8192 chunks");
    unpacked += rec.unpacked_size;
    if (unpacked > kMaxXorbBytes) return fail(Errc::limit_exceeded, "xorb: more than 64 MiB of chunk data");
    lay.records.push_back(rec);
    pos += kRecordHeaderSize + rec.payload_size;
  }
  lay.body_size = body_end;
  if (lay.has_footer) {
    if (rec_ends.size() != lay.records.size()) return fail(Errc::corrupt, "xorb footer: chunk count differs from the records");
    std::uint64_t u = 0;
    for (std::size_t i = 0; i < lay.records.size(); ++i) {
      const auto& r = lay.records[i];
      u += r.unpacked_size;
      if (rec_ends[i] != r.offset + kRecordHeaderSize + r.payload_size || unp_ends[i] != u)
        return fail(Errc::corrupt, "xorb footer: boundary " + std::to_string(i) + " disagrees with the records");
    }
  }
  return lay;
}

Result<DecodedXorb> decode_xorb(ByteView x, bool keep_data) {
  HG_TRY(auto lay, parse_xorb_layout(x));
  DecodedXorb d;
  d.body_size = lay.body_size;
  d.had_footer = lay.has_footer;
  std::uint64_t total = 0;
  for (const auto& r : lay.records) total += r.unpacked_size;
  std::string scratch;
  std::string& out = keep_data ? d.data : scratch;
  if (keep_data) d.data.reserve(total);
  std::vector<HashAndSize> leaves;
  leaves.reserve(lay.records.size());
  std::uint64_t unpacked = 0;
  for (const auto& r : lay.records) {
    if (!keep_data) scratch.clear();
    std::size_t start = out.size();
    auto ok = decode_payload(x.subspan(r.offset + kRecordHeaderSize, r.payload_size), r.scheme, r.unpacked_size, out);
    if (!ok) return fail(ok.error().context("xorb: record at offset " + std::to_string(r.offset)));
    XorbChunkMeta m;
    m.hash = chunk_hash(ByteView(reinterpret_cast<const std::uint8_t*>(out.data()) + start, r.unpacked_size));
    m.record_start = r.offset;
    m.record_end = r.offset + static_cast<std::uint32_t>(kRecordHeaderSize) + r.payload_size;
    m.unpacked_start = static_cast<std::uint32_t>(unpacked);
    m.unpacked_size = r.unpacked_size;
    m.scheme = static_cast<Compression>(r.scheme);
    unpacked += r.unpacked_size;
    leaves.push_back({m.hash, m.unpacked_size});
    d.chunks.push_back(m);
  }
  d.hash = merkle_root(leaves);
  if (lay.has_footer) {
    if (lay.footer_hash != d.hash) return fail(Errc::corrupt, "xorb footer: hash " + lay.footer_hash.hex() + " != computed " + d.hash.hex());
    for (std::size_t i = 0; i < d.chunks.size(); ++i)
      if (lay.footer_chunk_hashes[i] != d.chunks[i].hash)
        return fail(Errc::corrupt, "xorb footer: chunk hash " + std::to_string(i) + " differs");
  }
  return d;
}

Result<void> decode_records(ByteView records, std::string& out, std::vector<std::uint32_t>* sizes) {
  std::size_t pos = 0, n = 0;
  std::uint64_t total = 0;
  while (pos < records.size()) {
    if (records.size() - pos < kRecordHeaderSize) return fail(Errc::corrupt, err_at(pos, "truncated header"));
    const std::uint8_t* h = records.data() + pos;
    if (h[0] != 0) return fail(Errc::unsupported, err_at(pos, "unknown record version " + std::to_string(h[0])));
    std::uint32_t csize = get_u24(h + 1), usize = get_u24(h + 5);
    if (csize > records.size() - pos - kRecordHeaderSize) return fail(Errc::corrupt, err_at(pos, "payload overruns the range"));
    if (++n > kMaxXorbChunks) return fail(Errc::limit_exceeded, "xorb: more than 8192 chunks");
    total += usize;
    if (total > kMaxXorbBytes) return fail(Errc::limit_exceeded, "xorb: more than 64 MiB of chunk data");
    auto ok = decode_payload(records.subspan(pos + kRecordHeaderSize, csize), h[4], usize, out);
    if (!ok) return fail(ok.error().context("xorb: record at offset " + std::to_string(pos)));
    if (sizes) sizes->push_back(usize);
    pos += kRecordHeaderSize + csize;
  }
  return {};
}

}  // namespace hubgate::xet
