#include "xet/xorb.hpp"

#include <gtest/gtest.h>
#include <lz4frame.h>

#include <random>

#include "test_data.hpp"
#include "xet/chunker.hpp"

namespace hubgate::xet {
namespace {

struct Built {
  std::string body;
  std::string footer;
  MerkleHash hash;
  std::vector<std::vector<std::uint8_t>> chunks;
};

Built build(CompressionPolicy policy, int n, std::uint64_t seed) {
  XorbBuilder b(policy);
  Built out;
  std::mt19937_64 rng(seed);
  for (int i = 0; i < n; ++i) {
    std::size_t size = 1 + rng() % 100000;
    std::vector<std::uint8_t> c;
    switch (i % 4) {
      case 0: c = test::random_bytes(size, rng()); break;          // incompressible
      case 1: c.assign(size, static_cast<std::uint8_t>(i)); break;  // compresses well
      case 2: {                                                    // float-like: BG4 helps
        c.resize(size);
        for (std::size_t k = 0; k < size; ++k) c[k] = k % 4 == 3 ? 0x3f : (k % 4 == 2 ? static_cast<std::uint8_t>(0x80 | (rng() & 1)) : static_cast<std::uint8_t>(rng()));
        break;
      }
      default: c = test::random_bytes(size, rng()); for (auto& x : c) x &= 0x0f;
    }
    EXPECT_TRUE(b.add(test::view(c), chunk_hash(test::view(c))));
    out.chunks.push_back(std::move(c));
  }
  out.body = std::string(as_chars(b.body()));
  out.footer = b.footer();
  out.hash = b.hash();
  return out;
}

TEST(XetXorb, Bg4GroupsExample) {
  std::vector<std::uint8_t> in = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, g(11), back(11);
  bg4_split(test::view(in), g.data());
  EXPECT_EQ(g, (std::vector<std::uint8_t>{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7}));
  bg4_join(test::view(g), back.data());
  EXPECT_EQ(back, in);
  for (std::size_t n = 0; n < 9; ++n) {
    auto d = test::random_bytes(n, n);
    std::vector<std::uint8_t> s(n), j(n);
    bg4_split(test::view(d), s.data());
    bg4_join(test::view(s), j.data());
    EXPECT_EQ(j, d) << n;
  }
}

// The vectorized split/join (64 bytes per step) against the definition: group k holds the bytes
// at indices i = k (mod 4), in order, groups concatenated; every length around the step sizes.
TEST(XetXorb, Bg4MatchesDefinitionForAllLengths) {
  std::vector<std::size_t> sizes;
  for (std::size_t n = 0; n <= 300; ++n) sizes.push_back(n);
  for (std::size_t n : {1023ul, 1024ul, 1025ul, 65535ul, 65536ul, 65537ul, 131071ul, 131072ul}) sizes.push_back(n);
  for (std::size_t n : sizes) {
    auto d = test::random_bytes(n, n + 1);
    std::vector<std::uint8_t> want;
    for (std::size_t k = 0; k < 4; ++k)
      for (std::size_t i = k; i < n; i += 4) want.push_back(d[i]);
    std::vector<std::uint8_t> s(n), j(n);
    bg4_split(test::view(d), s.data());
    ASSERT_EQ(s, want) << n;
    bg4_join(test::view(s), j.data());
    ASSERT_EQ(j, d) << n;
  }
}

TEST(XetXorb, RoundTripEveryPolicyWithAndWithoutFooter) {
  for (auto policy : {CompressionPolicy::none, CompressionPolicy::lz4, CompressionPolicy::bg4_lz4, CompressionPolicy::automatic}) {
    Built b = build(policy, 24, 11);
    for (bool footer : {false, true}) {
      std::string x = b.body + (footer ? b.footer : "");
      auto d = decode_xorb(as_bytes(x));
      ASSERT_TRUE(d) << d.error().message;
      EXPECT_EQ(d->had_footer, footer);
      EXPECT_EQ(d->body_size, b.body.size());
      EXPECT_EQ(d->hash, b.hash);
      ASSERT_EQ(d->chunks.size(), b.chunks.size());
      std::string all;
      for (auto& c : b.chunks) all.append(c.begin(), c.end());
      EXPECT_EQ(d->data, all);
      // Validation without keeping the bytes: same hashes, sizes and offsets, no data.
      auto v = decode_xorb(as_bytes(x), /*keep_data=*/false);
      ASSERT_TRUE(v) << v.error().message;
      EXPECT_TRUE(v->data.empty());
      EXPECT_EQ(v->hash, d->hash);
      EXPECT_EQ(v->body_size, d->body_size);
      ASSERT_EQ(v->chunks.size(), d->chunks.size());
      for (std::size_t i = 0; i < d->chunks.size(); ++i) {
        EXPECT_EQ(v->chunks[i].hash, d->chunks[i].hash);
        EXPECT_EQ(v->chunks[i].unpacked_start, d->chunks[i].unpacked_start);
        EXPECT_EQ(v->chunks[i].unpacked_size, d->chunks[i].unpacked_size);
        EXPECT_EQ(v->chunks[i].record_start, d->chunks[i].record_start);
        EXPECT_EQ(v->chunks[i].record_end, d->chunks[i].record_end);
      }
    }
  }
}

TEST(XetXorb, ValidationWithoutDataStillRejectsCorruptPayloads) {
  Built b = build(CompressionPolicy::none, 6, 3);
  auto lay = parse_xorb_layout(as_bytes(b.body));
  ASSERT_TRUE(lay);
  const std::size_t inside = lay->records[2].offset + kRecordHeaderSize + 1;  // a stored chunk's byte
  std::string x = b.body;
  x[inside] ^= 0x40;  // hashes change
  auto v = decode_xorb(as_bytes(x), false);
  ASSERT_TRUE(v);
  EXPECT_NE(v->hash, b.hash);
  std::string f = b.body + b.footer;
  f[inside] ^= 0x01;  // with a footer the mismatch is an error
  EXPECT_FALSE(decode_xorb(as_bytes(f), false));
}

TEST(XetXorb, AutomaticPicksSchemesThatPay) {
  Built b = build(CompressionPolicy::automatic, 8, 5);
  auto lay = parse_xorb_layout(as_bytes(b.body));
  ASSERT_TRUE(lay);
  ASSERT_EQ(lay->records.size(), 8u);
  EXPECT_EQ(lay->records[0].scheme, 0);  // random
  EXPECT_NE(lay->records[1].scheme, 0);  // constant
  EXPECT_EQ(lay->records[2].scheme, 2);  // float-like
  for (auto& r : lay->records) EXPECT_LE(r.payload_size, r.unpacked_size);
}

TEST(XetXorb, Lz4FrameHeaderIsTheDocumentedOne) {
  std::vector<std::uint8_t> zeros(5000, 0);
  std::string out;
  EXPECT_EQ(append_record(out, test::view(zeros), CompressionPolicy::lz4), Compression::lz4);
  ASSERT_GT(out.size(), 15u);
  const auto* p = reinterpret_cast<const std::uint8_t*>(out.data()) + kRecordHeaderSize;
  EXPECT_EQ(p[0], 0x04);
  EXPECT_EQ(p[1], 0x22);
  EXPECT_EQ(p[2], 0x4d);
  EXPECT_EQ(p[3], 0x18);
  EXPECT_EQ(p[4], 0x60);
  EXPECT_EQ(p[5], 0x40);
  // And liblz4's own frame decoder accepts it.
  std::string back;
  ASSERT_TRUE(decode_payload(ByteView(p, out.size() - kRecordHeaderSize), 1, 5000, back));
  EXPECT_EQ(back, std::string(5000, '\0'));
}

TEST(XetXorb, DecodesFramesFromOtherEncoders) {
  // A frame with content size, content checksum and 256 KiB blocks, as liblz4 (and the lz4 CLI) write.
  std::string data(200000, 'a');
  for (std::size_t i = 0; i < data.size(); i += 7) data[i] = static_cast<char>(i);
  LZ4F_preferences_t prefs{};
  prefs.frameInfo.blockSizeID = LZ4F_max256KB;
  prefs.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
  prefs.frameInfo.contentSize = data.size();
  std::string frame(LZ4F_compressFrameBound(data.size(), &prefs), '\0');
  std::size_t n = LZ4F_compressFrame(frame.data(), frame.size(), data.data(), data.size(), &prefs);
  ASSERT_FALSE(LZ4F_isError(n));
  frame.resize(n);
  std::string back;
  ASSERT_TRUE(decode_payload(as_bytes(frame), 1, static_cast<std::uint32_t>(data.size()), back));
  EXPECT_EQ(back, data);
  // Declared size too small or too large: error, not overflow.
  std::string tmp;
  EXPECT_FALSE(decode_payload(as_bytes(frame), 1, static_cast<std::uint32_t>(data.size() - 1), tmp));
  EXPECT_FALSE(decode_payload(as_bytes(frame), 1, static_cast<std::uint32_t>(data.size() + 1), tmp));
  // Trailing garbage after the frame.
  EXPECT_FALSE(decode_payload(as_bytes(frame + "x"), 1, static_cast<std::uint32_t>(data.size()), tmp));
  // Truncated frame.
  EXPECT_FALSE(decode_payload(as_bytes(frame.substr(0, frame.size() - 5)), 1, static_cast<std::uint32_t>(data.size()), tmp));
}

TEST(XetXorb, CorruptInputsGiveErrors) {
  Built b = build(CompressionPolicy::automatic, 6, 3);
  std::string x = b.body;
  // Unknown scheme.
  std::string bad = x;
  bad[4] = 7;
  auto r = decode_xorb(as_bytes(bad));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("scheme"), std::string::npos);
  // Lying compressed size (overruns the buffer).
  bad = x;
  bad[1] = bad[2] = bad[3] = static_cast<char>(0xff);
  EXPECT_FALSE(decode_xorb(as_bytes(bad)));
  // Truncated header and truncated payload.
  EXPECT_FALSE(decode_xorb(as_bytes(x.substr(0, 5))));
  EXPECT_FALSE(decode_xorb(as_bytes(x.substr(0, x.size() - 1))));
  // Unknown record version.
  bad = x;
  bad[0] = 1;
  EXPECT_FALSE(decode_xorb(as_bytes(bad)));
  // Footer with a wrong hash.
  std::string f = b.footer;
  f[8] ^= 1;
  EXPECT_FALSE(decode_xorb(as_bytes(x + f)));
  // Every truncation and every single-byte flip: never a crash (ASan checks over-reads).
  for (std::size_t cut = 0; cut < x.size(); cut += 1999) (void)decode_xorb(as_bytes(x.substr(0, cut)));
  std::string full = x + b.footer;
  for (std::size_t i = 0; i < full.size(); i += (i < b.body.size() ? 4099 : 13)) {
    std::string m = full;
    m[i] ^= 0x5a;
    (void)decode_xorb(as_bytes(m));
  }
}

TEST(XetXorb, LimitsAreEnforced) {
  XorbBuilder b(CompressionPolicy::none);
  std::vector<std::uint8_t> c(8, 1);
  for (std::size_t i = 0; i < kMaxXorbChunks; ++i) {
    c[0] = static_cast<std::uint8_t>(i);
    c[1] = static_cast<std::uint8_t>(i >> 8);
    ASSERT_TRUE(b.add(test::view(c), chunk_hash(test::view(c))));
  }
  auto over = b.add(test::view(c), chunk_hash(test::view(c)));
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().code, Errc::limit_exceeded);
  // 8193 records in a serialized xorb are refused.
  std::string x(as_chars(b.body()));
  append_record(x, test::view(c), CompressionPolicy::none);
  auto r = parse_xorb_layout(as_bytes(x));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::limit_exceeded);
}

TEST(XetXorb, RecordRangeDecodesOnItsOwn) {
  Built b = build(CompressionPolicy::automatic, 10, 9);
  auto lay = parse_xorb_layout(as_bytes(b.body));
  ASSERT_TRUE(lay);
  // chunks [3, 7)
  std::size_t start = lay->records[3].offset, end = lay->records[7].offset;
  std::string out;
  std::vector<std::uint32_t> sizes;
  ASSERT_TRUE(decode_records(as_bytes(b.body).subspan(start, end - start), out, &sizes));
  std::string want;
  for (int i = 3; i < 7; ++i) want.append(b.chunks[i].begin(), b.chunks[i].end());
  EXPECT_EQ(out, want);
  EXPECT_EQ(sizes.size(), 4u);
  // A range that cuts a record is an error.
  EXPECT_FALSE(decode_records(as_bytes(b.body).subspan(start, end - start - 1), out));
}

// A builder that keeps no body gives the same offsets, hash and footer; the records its caller
// wrote, followed by the footer, are the kept builder's serialized xorb.
TEST(XetXorb, BuilderWithoutBodyMatchesTheKeptOne) {
  Built kept = build(CompressionPolicy::automatic, 24, 12);
  XorbBuilder streamed(CompressionPolicy::automatic, /*keep_body=*/false);
  auto layout = parse_xorb_layout(as_bytes(kept.body + kept.footer));
  ASSERT_TRUE(layout) << layout.error().message;
  ASSERT_EQ(layout->records.size(), kept.chunks.size());
  std::string written;
  for (std::size_t i = 0; i < kept.chunks.size(); ++i) {
    const auto& r = layout->records[i];
    std::string_view record = std::string_view(kept.body).substr(r.offset, kRecordHeaderSize + r.payload_size);
    auto idx = streamed.add_record(as_bytes(record), r.unpacked_size, chunk_hash(test::view(kept.chunks[i])));
    ASSERT_TRUE(idx) << idx.error().message;
    EXPECT_EQ(*idx, i);
    written += record;
  }
  EXPECT_EQ(streamed.body_bytes(), kept.body.size());
  EXPECT_TRUE(streamed.body().empty());
  EXPECT_EQ(streamed.hash(), kept.hash);
  // Footers differ only in their random nonce (16 bytes before the trailing length).
  const std::string footer = streamed.footer();
  ASSERT_EQ(footer.size(), kept.footer.size());
  EXPECT_EQ(footer.substr(0, footer.size() - 20), kept.footer.substr(0, kept.footer.size() - 20));
  EXPECT_EQ(footer.substr(footer.size() - 4), kept.footer.substr(kept.footer.size() - 4));
  EXPECT_EQ(written, kept.body);
  auto d = decode_xorb(as_bytes(written + streamed.footer()));
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->hash, kept.hash);
  auto c = test::random_bytes(1000, 3);
  auto add = streamed.add(test::view(c), chunk_hash(test::view(c)));
  ASSERT_FALSE(add);
  EXPECT_EQ(add.error().code, Errc::invalid_argument);
}

}  // namespace
}  // namespace hubgate::xet
