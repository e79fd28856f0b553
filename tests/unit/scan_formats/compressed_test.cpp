#include <gtest/gtest.h>

#include <bzlib.h>
#include <lz4frame.h>
#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

#include "helpers.hpp"

namespace hubgate::scan {
namespace {

using namespace test;

std::string gz(std::string_view in) {
  z_stream z{};
  deflateInit2(&z, 9, Z_DEFLATED, 16 + 15, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, in.size()) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}
std::string bz(std::string_view in) {
  std::string out(in.size() + in.size() / 100 + 700, '\0');
  unsigned n = static_cast<unsigned>(out.size());
  BZ2_bzBuffToBuffCompress(out.data(), &n, const_cast<char*>(in.data()), static_cast<unsigned>(in.size()), 9, 0, 0);
  out.resize(n);
  return out;
}
std::string xz(std::string_view in) {
  std::string out(lzma_stream_buffer_bound(in.size()), '\0');
  std::size_t pos = 0;
  lzma_easy_buffer_encode(6, LZMA_CHECK_CRC64, nullptr, reinterpret_cast<const std::uint8_t*>(in.data()), in.size(),
                          reinterpret_cast<std::uint8_t*>(out.data()), &pos, out.size());
  out.resize(pos);
  return out;
}
std::string zst(std::string_view in) {
  std::string out(ZSTD_compressBound(in.size()), '\0');
  out.resize(ZSTD_compress(out.data(), out.size(), in.data(), in.size(), 3));
  return out;
}
std::string lz4(std::string_view in) {
  std::string out(LZ4F_compressFrameBound(in.size(), nullptr), '\0');
  out.resize(LZ4F_compressFrame(out.data(), out.size(), in.data(), in.size(), nullptr));
  return out;
}

struct Codec {
  Format f;
  std::string (*compress)(std::string_view);
};
const Codec kCodecs[] = {{Format::gzip, gz}, {Format::bzip2, bz}, {Format::xz, xz}, {Format::zstd, zst}, {Format::lz4, lz4}};

Report scan_as(Format f, std::string_view bytes, std::string file = "model.safetensors.gz") {
  return run([f](Context& ctx, ByteView d) { scan_compressed(ctx, d, f); }, bytes, std::move(file));
}

std::string good_st() { return safetensors(R"({"a": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]}})", "abcd"); }
std::string bad_st() { return safetensors(R"({"a": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]}})", "abcdEXTRA"); }

TEST(Compressed, EveryCodecDecompressesAndScansContent) {
  for (const auto& c : kCodecs) {
    auto r = scan_as(c.f, c.compress(good_st()));
    EXPECT_TRUE(r.findings.empty()) << format_name(c.f) << "\n" << dump(r);
    r = scan_as(c.f, c.compress(bad_st()));
    ASSERT_TRUE(has(r, "safetensors.trailing-data")) << format_name(c.f) << "\n" << dump(r);
    EXPECT_EQ(find(r, "safetensors.trailing-data")->member, "model.safetensors") << format_name(c.f);
  }
}

TEST(Compressed, TruncatedStreamsAreMalformed) {
  for (const auto& c : kCodecs) {
    std::string z = c.compress(good_st() + std::string(5000, 'q'));
    auto r = scan_as(c.f, z.substr(0, z.size() - 6));
    EXPECT_TRUE(has(r, "compressed.malformed")) << format_name(c.f) << "\n" << dump(r);
    for (std::size_t n = 0; n < z.size(); n += 7) scan_as(c.f, z.substr(0, n));  // no crash on any prefix
  }
}

TEST(Compressed, TrailingDataAndConcatenatedMembers) {
  for (const auto& c : kCodecs) {
    auto r = scan_as(c.f, c.compress(good_st()) + "garbage!");
    EXPECT_TRUE(has(r, "compressed.trailing-data") || has(r, "compressed.malformed")) << format_name(c.f) << "\n" << dump(r);
  }
  // gzip members concatenate (gzip -c a b): the content is their concatenation.
  std::string st = bad_st();
  auto r = scan_as(Format::gzip, gz(st.substr(0, 20)) + gz(st.substr(20)));
  EXPECT_TRUE(has(r, "safetensors.trailing-data")) << dump(r);
  EXPECT_FALSE(has(r, "compressed.trailing-data")) << dump(r);
}

TEST(Compressed, DecompressionBombsStop) {
  std::string zeros(4 << 20, '\0');
  for (const auto& c : kCodecs) {
    auto r = scan_as(c.f, c.compress(zeros));
    ASSERT_TRUE(has(r, "container.expansion-ratio")) << format_name(c.f) << "\n" << dump(r);
  }
  // The scan-wide total limit.
  Report rep;
  rep.file = "x.gz";
  Limits lim;
  lim.max_expanded_bytes = 1 << 20;
  lim.max_expansion_ratio = 1e9;
  Context ctx(rep, lim);
  std::string z = gz(std::string(4 << 20, 'a'));
  scan_compressed(ctx, as_bytes(z), Format::gzip);
  EXPECT_TRUE(has(rep, "container.limit")) << dump(rep);
}

}  // namespace
}  // namespace hubgate::scan
