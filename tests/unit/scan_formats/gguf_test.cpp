#include <gtest/gtest.h>

#include "helpers.hpp"

namespace hubgate::scan {
namespace {

using namespace test;

constexpr std::uint32_t F32 = 0, F16 = 1, Q4_0 = 2;

Gguf base() {
  Gguf g;
  g.kv_str("general.architecture", "llama")
      .kv_str_array("tokenizer.ggml.tokens", {"<s>", "</s>", "a", "b"})
      .kv_f32_array("tokenizer.ggml.scores", 4)
      .kv_i32_array("tokenizer.ggml.token_type", 4)
      .kv_u32("tokenizer.ggml.bos_token_id", 0)
      .kv_str("tokenizer.chat_template", "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}{% endfor %}");
  return g;
}

TEST(Gguf, ValidFileIsClean) {
  Gguf g = base();
  g.tensor("w", {8, 2}, F32, 0).tensor("q", {64}, Q4_0, 64).tensor("h", {3}, F16, 128);
  std::string data(64 + 64 + 6, 'x');  // 64 bytes f32; Q4_0 64 elems = 2 blocks * 18 = 36 (padded to 64); f16 6
  auto r = run(scan_gguf, g.build(data));
  EXPECT_TRUE(r.findings.empty()) << dump(r);
}

TEST(Gguf, Version1With32BitCountsIsClean) {
  Gguf g(1);
  g.kv_str("general.name", "x").tensor("w", {4}, F32, 0);
  auto r = run(scan_gguf, g.build(std::string(16, 'x')));
  EXPECT_TRUE(r.findings.empty()) << dump(r);
}

TEST(Gguf, MagicVersionAndCounts) {
  EXPECT_TRUE(has(run(scan_gguf, "GGML...."), "gguf.magic"));
  std::string f = Gguf().build("");
  f[4] = 9;
  EXPECT_TRUE(has(run(scan_gguf, f), "gguf.version"));
  f = Gguf().build("");
  f[4] = 0; f[7] = 3;  // big-endian version 3
  auto r = run(scan_gguf, f);
  ASSERT_TRUE(has(r, "gguf.version"));
  EXPECT_NE(find(r, "gguf.version")->message.find("big-endian"), std::string::npos);
  // Tensor count that cannot fit.
  f = Gguf().build("");
  f[8 + 7] = 0x10;
  r = run(scan_gguf, f);
  ASSERT_TRUE(has(r, "gguf.count")) << dump(r);
  EXPECT_EQ(find(r, "gguf.count")->severity, Severity::dangerous);
}

TEST(Gguf, CountsAreCappedEvenWhenTheFileIsLargeEnough) {
  std::string f = Gguf().build("");
  std::string n;
  put_le<std::uint64_t>(n, kGgufMaxTensors + 1);
  f.replace(8, 8, n);
  f.append(25'000'000, '\0');  // enough bytes for that many minimal tensor infos
  auto r = run(scan_gguf, f);
  ASSERT_TRUE(has(r, "gguf.count")) << dump(r);
  EXPECT_NE(find(r, "gguf.count")->message.find("exceed the scanner's limits"), std::string::npos);
}

TEST(Gguf, StringAndArrayLengthsBoundedByFile) {
  std::string raw;
  put_le<std::uint64_t>(raw, 1ull << 40);
  raw += "abc";
  auto r = run(scan_gguf, Gguf().kv_raw("k", 8, raw).build(""));
  ASSERT_TRUE(has(r, "gguf.string-length")) << dump(r);
  EXPECT_EQ(find(r, "gguf.string-length")->severity, Severity::dangerous);

  raw.clear();
  put_le<std::uint32_t>(raw, 6);
  put_le<std::uint64_t>(raw, 1ull << 60);
  r = run(scan_gguf, Gguf().kv_raw("k", 9, raw).build(""));
  EXPECT_TRUE(has(r, "gguf.array-length")) << dump(r);

  raw.clear();
  put_le<std::uint32_t>(raw, 1234);  // array of unknown type
  put_le<std::uint64_t>(raw, 1);
  r = run(scan_gguf, Gguf().kv_raw("k", 9, raw).build(""));
  EXPECT_TRUE(has(r, "gguf.kv-type")) << dump(r);
  EXPECT_TRUE(has(run(scan_gguf, Gguf().kv_raw("k", 13, "x").build("")), "gguf.kv-type"));

  // Deeply nested arrays.
  std::string nested;
  for (int i = 0; i < 6; ++i) {
    put_le<std::uint32_t>(nested, 9);
    put_le<std::uint64_t>(nested, 1);
  }
  r = run(scan_gguf, Gguf().kv_raw("k", 9, nested + std::string(64, '\0')).build(""));
  EXPECT_TRUE(has(r, "gguf.array-depth")) << dump(r);
}

TEST(Gguf, DuplicateKeysAndTensors) {
  auto r = run(scan_gguf, Gguf().kv_u32("a", 1).kv_u32("a", 2).build(""));
  EXPECT_EQ(count(r, "gguf.duplicate-key"), 1) << dump(r);
  r = run(scan_gguf, Gguf().tensor("w", {4}, F32, 0).tensor("w", {4}, F32, 32).build(std::string(48, 'x')));
  EXPECT_TRUE(has(r, "gguf.duplicate-tensor")) << dump(r);
}

TEST(Gguf, TensorInfoRules) {
  auto r = run(scan_gguf, Gguf().tensor("w", {1, 1, 1, 1, 1, 1, 1, 1}, F32, 0).build(std::string(4, 'x')));
  EXPECT_TRUE(has(r, "gguf.tensor-dims")) << dump(r);
  r = run(scan_gguf, Gguf().tensor("w", {~0ull}, F32, 0).build(std::string(4, 'x')));
  EXPECT_TRUE(has(r, "gguf.tensor-dims")) << dump(r);
  r = run(scan_gguf, Gguf().tensor("w", {1ull << 40, 1ull << 40}, F32, 0).build(std::string(4, 'x')));
  EXPECT_TRUE(has(r, "gguf.tensor-overflow")) << dump(r);
  r = run(scan_gguf, Gguf().tensor("w", {1ull << 62}, F32, 0).build(std::string(4, 'x')));
  EXPECT_TRUE(has(r, "gguf.tensor-overflow")) << dump(r);  // elements fit, bytes do not
  r = run(scan_gguf, Gguf().tensor("w", {4}, 4, 0).build(std::string(16, 'x')));  // removed Q4_2
  EXPECT_TRUE(has(r, "gguf.tensor-type")) << dump(r);
  r = run(scan_gguf, Gguf().tensor("w", {4}, 0xFFFFFFFF, 0).build(std::string(16, 'x')));  // -1
  ASSERT_TRUE(has(r, "gguf.tensor-type")) << dump(r);
  EXPECT_NE(find(r, "gguf.tensor-type")->message.find("-1"), std::string::npos);
  r = run(scan_gguf, Gguf().tensor("w", {33}, Q4_0, 0).build(std::string(64, 'x')));
  EXPECT_TRUE(has(r, "gguf.tensor-shape")) << dump(r);
  r = run(scan_gguf, Gguf().tensor(std::string(80, 'n'), {4}, F32, 0).build(std::string(16, 'x')));
  EXPECT_TRUE(has(r, "gguf.tensor-name")) << dump(r);
}

TEST(Gguf, OffsetsBoundedAlignedAndDisjoint) {
  auto r = run(scan_gguf, Gguf().tensor("w", {16}, F32, 0).build(std::string(32, 'x')));
  ASSERT_TRUE(has(r, "gguf.tensor-bounds")) << dump(r);
  EXPECT_EQ(find(r, "gguf.tensor-bounds")->message, "gguf: tensor 'w' [0, +64) runs past the 32-byte data section");
  r = run(scan_gguf, Gguf().tensor("w", {4}, F32, ~0ull - 8).build(std::string(32, 'x')));
  EXPECT_TRUE(has(r, "gguf.tensor-bounds")) << dump(r);
  r = run(scan_gguf, Gguf().tensor("a", {16}, F32, 0).tensor("b", {16}, F32, 32).build(std::string(128, 'x')));
  EXPECT_TRUE(has(r, "gguf.tensor-overlap")) << dump(r);
  EXPECT_TRUE(has(r, "gguf.tensor-layout")) << dump(r);
  r = run(scan_gguf, Gguf().tensor("a", {4}, F32, 8).build(std::string(64, 'x')));
  EXPECT_TRUE(has(r, "gguf.tensor-alignment")) << dump(r);
  // Custom alignment honoured; zero / non-power-of-two rejected.
  r = run(scan_gguf, Gguf().kv_u32("general.alignment", 64).tensor("a", {4}, F32, 0).tensor("b", {4}, F32, 64).build(std::string(80, 'x'), 64));
  EXPECT_TRUE(r.findings.empty()) << dump(r);
  r = run(scan_gguf, Gguf().kv_u32("general.alignment", 0).build(""));
  EXPECT_TRUE(has(r, "gguf.alignment")) << dump(r);
  r = run(scan_gguf, Gguf().kv_u32("general.alignment", 48).build(""));
  EXPECT_TRUE(has(r, "gguf.alignment")) << dump(r);
  // Data section beyond the file.
  std::string f = Gguf().tensor("w", {4}, F32, 0).build("");
  f.resize(f.size() - 5);
  r = run(scan_gguf, f);
  EXPECT_TRUE(has(r, "gguf.truncated")) << dump(r);
}

TEST(Gguf, TokenizerArrays) {
  Gguf g;
  g.kv_str_array("tokenizer.ggml.tokens", {"a", "b", "c"}).kv_i32_array("tokenizer.ggml.scores", 3);
  auto r = run(scan_gguf, g.build(""));
  EXPECT_TRUE(has(r, "gguf.tokenizer-type")) << dump(r);
  Gguf g2;
  g2.kv_str_array("tokenizer.ggml.tokens", {"a", "b", "c"}).kv_f32_array("tokenizer.ggml.scores", 2).kv_u32("tokenizer.ggml.eos_token_id", 7);
  r = run(scan_gguf, g2.build(""));
  EXPECT_TRUE(has(r, "gguf.tokenizer-count")) << dump(r);
  EXPECT_TRUE(has(r, "gguf.token-id")) << dump(r);
  EXPECT_TRUE(has(run(scan_gguf, Gguf().kv_u32("tokenizer.ggml.tokens", 3).build("")), "gguf.tokenizer-type"));
}

TEST(Gguf, ChatTemplateInjection) {
  auto r = run(scan_gguf, Gguf().kv_str("tokenizer.chat_template",
      "{{ self.__init__.__globals__.__builtins__.__import__('os').popen('id').read() }}").build(""));
  ASSERT_TRUE(has(r, "template.injection")) << dump(r);
  EXPECT_EQ(find(r, "template.injection")->severity, Severity::dangerous);
  EXPECT_EQ(find(r, "template.injection")->subject, "tokenizer.chat_template");
  r = run(scan_gguf, Gguf().kv_str("tokenizer.chat_template.tool_use", "{{ ''.__class__.__mro__[1] }}").build(""));
  EXPECT_TRUE(has(r, "template.injection")) << dump(r);
}

TEST(Gguf, EveryTruncationIsAFindingNotACrash) {
  Gguf g = base();
  g.tensor("w", {8, 2}, F32, 0);
  std::string full = g.build(std::string(64, 'x'));
  for (std::size_t n = 0; n < full.size(); ++n) {
    auto r = run(scan_gguf, full.substr(0, n));
    EXPECT_FALSE(r.findings.empty()) << "prefix " << n;
  }
}

}  // namespace
}  // namespace hubgate::scan
