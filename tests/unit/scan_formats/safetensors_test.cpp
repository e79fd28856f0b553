#include <gtest/gtest.h>

#include "helpers.hpp"

namespace hubgate::scan {
namespace {

using namespace test;

Report st(std::string_view header, std::string_view data) { return run(scan_safetensors, safetensors(header, data)); }

TEST(Safetensors, ValidFileIsClean) {
  auto r = st(R"({"__metadata__": {"format": "pt"}, "w": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]},)"
              R"( "b": {"dtype": "BF16", "shape": [4], "data_offsets": [24, 32]}, "e": {"dtype": "I8", "shape": [0], "data_offsets": [32, 32]}})",
              std::string(32, 'x'));
  EXPECT_TRUE(r.findings.empty()) << dump(r);
}

TEST(Safetensors, PaddedHeaderAndSubByteDtypesAreClean) {
  std::string h = R"({"q": {"dtype": "F4", "shape": [6], "data_offsets": [0, 3]}, "s": {"dtype": "F6_E2M3", "shape": [4], "data_offsets": [3, 6]}})";
  h.append(8 - h.size() % 8, ' ');
  auto r = st(h, "abcdef");
  EXPECT_TRUE(r.findings.empty()) << dump(r);
}

TEST(Safetensors, ShortFileAndLyingHeaderLength) {
  auto r = run(scan_safetensors, "abc");
  EXPECT_TRUE(has(r, "safetensors.truncated")) << dump(r);
  std::string f = safetensors("{}", "");
  f[0] = 100;  // header length 100 > file
  r = run(scan_safetensors, f);
  ASSERT_TRUE(has(r, "safetensors.header-length")) << dump(r);
  EXPECT_EQ(find(r, "safetensors.header-length")->severity, Severity::dangerous);
  std::string huge;
  put_le<std::uint64_t>(huge, 200'000'000);
  r = run(scan_safetensors, huge + "{}");
  EXPECT_NE(find(r, "safetensors.header-length")->message.find("100000000"), std::string::npos) << dump(r);
}

TEST(Safetensors, HeaderMustBeStrictJson) {
  EXPECT_TRUE(has(st(" {}", ""), "safetensors.header-start"));
  EXPECT_TRUE(has(st("{\"a\": \xff}", ""), "safetensors.json"));
  EXPECT_TRUE(has(st("[1]", ""), "safetensors.header-start"));
  auto r = st(R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}})", "abcd");
  ASSERT_TRUE(has(r, "safetensors.duplicate-key")) << dump(r);
  EXPECT_EQ(find(r, "safetensors.duplicate-key")->severity, Severity::dangerous);
}

TEST(Safetensors, UnknownDtypeAndBadEntries) {
  EXPECT_TRUE(has(st(R"({"w": {"dtype": "F128", "shape": [1], "data_offsets": [0, 16]}})", std::string(16, 'x')), "safetensors.dtype"));
  EXPECT_TRUE(has(st(R"({"w": {"dtype": "F32", "shape": [1]}})", ""), "safetensors.missing-field"));
  EXPECT_TRUE(has(st(R"({"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}})", "abcd"), "safetensors.bad-shape"));
  EXPECT_TRUE(has(st(R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0.0, 4]}})", "abcd"), "safetensors.bad-offsets"));
  EXPECT_TRUE(has(st(R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [-4, 0]}})", "abcd"), "safetensors.bad-offsets"));
  EXPECT_TRUE(has(st(R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 0]}})", "abcd"), "safetensors.offsets"));
  EXPECT_TRUE(has(st(R"({"w": [0, 4]})", "abcd"), "safetensors.tensor-entry"));
}

// The line between harmless oddities (suspicious) and malformations no writer produces
// (dangerous: the reference loader refuses them, a lenient one gets an out-of-bounds primitive).
TEST(Safetensors, MalformedWeightsAreDangerousOdditiesAreNot) {
  const std::string d4 = "abcd";
  for (const char* h : {R"({"w": {"dtype": "F32", "shape": [1]}})",
                        R"({"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}})",
                        R"({"w": {"dtype": "F32", "shape": "1", "data_offsets": [0, 4]}})",
                        R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [-4, 0]}})",
                        R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4, 8]}})",
                        R"({"w": [0, 4]})",
                        R"({"__metadata__": {"n": 1}, "w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}})",
                        R"({"__metadata__": [], "w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}})",
                        R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},})",
                        R"( {"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}})"}) {
    auto r = st(h, d4);
    EXPECT_EQ(r.verdict(), Severity::dangerous) << h << dump(r);
  }
  // Oddities: an unknown dtype (a newer loader may know it), an extra field, space padding.
  auto r = st(R"({"w": {"dtype": "F128", "shape": [1], "data_offsets": [0, 16]}})", std::string(16, 'x'));
  EXPECT_EQ(r.verdict(), Severity::suspicious) << dump(r);
  r = st(R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4], "note": "x"}})", d4);
  EXPECT_EQ(r.verdict(), Severity::suspicious) << dump(r);
  EXPECT_TRUE(has(r, "safetensors.unknown-field"));
  r = st(R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}    )", d4);
  EXPECT_EQ(r.verdict(), Severity::safe) << dump(r);
}

TEST(Safetensors, SizeMismatchAndOverflow) {
  auto r = st(R"({"w": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 20]}})", std::string(20, 'x'));
  ASSERT_TRUE(has(r, "safetensors.size-mismatch")) << dump(r);
  EXPECT_EQ(find(r, "safetensors.size-mismatch")->message,
            "safetensors: tensor 'w' shape [2,3] of F32 needs 24 bytes but data_offsets [0, 20] span 20");
  r = st(R"({"w": {"dtype": "F32", "shape": [4294967296, 4294967297], "data_offsets": [0, 4]}})", "abcd");
  EXPECT_TRUE(has(r, "safetensors.shape-overflow")) << dump(r);
  r = st(R"({"w": {"dtype": "F32", "shape": [4611686018427387904], "data_offsets": [0, 0]}})", "");
  EXPECT_TRUE(has(r, "safetensors.shape-overflow")) << dump(r);
  EXPECT_TRUE(has(st(R"({"w": {"dtype": "F4", "shape": [3], "data_offsets": [0, 1]}})", "a"), "safetensors.misaligned"));
}

TEST(Safetensors, OverlapGapAndCoverage) {
  auto r = st(R"({"w": {"dtype": "F32", "shape": [24], "data_offsets": [0, 96]}, "b": {"dtype": "F32", "shape": [24], "data_offsets": [0, 96]}})",
              std::string(96, 'x'));
  ASSERT_EQ(count(r, "safetensors.overlap"), 1) << dump(r);
  EXPECT_EQ(find(r, "safetensors.overlap")->message, "safetensors: tensor 'w' data_offsets [0, 96] overlap 'b'");
  EXPECT_EQ(find(r, "safetensors.overlap")->subject, "tensor 'w'");

  std::string gap_header =
      R"({"a": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]}, "b": {"dtype": "U8", "shape": [4], "data_offsets": [8, 12]}})";
  r = st(gap_header, std::string(12, 'x'));
  ASSERT_TRUE(has(r, "safetensors.gap")) << dump(r);
  EXPECT_EQ(find(r, "safetensors.gap")->message, "safetensors: tensor 'b' data_offsets [8, 12] leave a hole of 4 bytes after 'a'");
  EXPECT_EQ(find(r, "safetensors.gap")->offset, 8 + gap_header.size() + 4);  // where the hole starts

  r = st(R"({"a": {"dtype": "U8", "shape": [4], "data_offsets": [4, 8]}})", std::string(8, 'x'));
  EXPECT_TRUE(has(r, "safetensors.gap")) << dump(r);  // does not start at 0

  r = st(R"({"a": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]}})", std::string(4, 'x') + "PK\x03\x04hidden");
  ASSERT_TRUE(has(r, "safetensors.trailing-data")) << dump(r);
  EXPECT_EQ(find(r, "safetensors.trailing-data")->severity, Severity::dangerous);

  r = st(R"({"a": {"dtype": "U8", "shape": [8], "data_offsets": [0, 8]}})", "abcd");
  EXPECT_TRUE(has(r, "safetensors.out-of-bounds")) << dump(r);
}

TEST(Safetensors, MetadataValuesMustBeStrings) {
  auto r = st(R"({"__metadata__": {"ok": "x", "n": 3, "o": {"a": 1}}})", "");
  EXPECT_EQ(count(r, "safetensors.metadata"), 2) << dump(r);
  EXPECT_TRUE(has(st(R"({"__metadata__": [1]})", ""), "safetensors.metadata"));
}

TEST(Safetensors, FindingsAreCapped) {
  std::string h = "{";
  for (int i = 0; i < 500; ++i) h += (i ? "," : "") + std::string("\"t") + std::to_string(i) + "\": {\"dtype\": \"XX\", \"shape\": [1], \"data_offsets\": [0, 1]}";
  h += "}";
  auto r = st(h, "a");
  EXPECT_EQ(r.findings.size(), 101u);
  EXPECT_TRUE(has(r, "safetensors.too-many-findings"));
}

TEST(SafetensorsIndex, ShardNamesMustBePlainRelative) {
  auto ok = run(scan_safetensors_index, R"({"metadata": {}, "weight_map": {"a": "model-00001-of-00002.safetensors", "b": "sub/model.safetensors"}})");
  EXPECT_TRUE(ok.findings.empty()) << dump(ok);
  for (std::string bad : {"../x.safetensors", "/etc/passwd", "https://evil/x.safetensors", "sub/../../x", "C:\\x"}) {
    auto r = run(scan_safetensors_index, R"({"weight_map": {"a": ")" + (bad == "C:\\x" ? std::string("C:\\\\x") : bad) + R"("}})");
    EXPECT_TRUE(has(r, "safetensors.index-path")) << bad << "\n" << dump(r);
  }
}

}  // namespace
}  // namespace hubgate::scan
