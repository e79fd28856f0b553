// The loader core's pure parts: which files a revision loads (pick_safetensors), the layout
// the shared safetensors validator returns for streaming (header bytes + file size), and the
// tensor buffers' alignment. The transfer itself is tested end to end in tests/loader/.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>

#include "loader/loader.hpp"
#include "scan/safetensors_layout.hpp"

namespace hubgate::loader {
namespace {

std::string file(const std::string& header, std::size_t data_len) {
  std::string out(8, '\0');
  std::uint64_t n = header.size();
  std::memcpy(out.data(), &n, 8);
  return out + header + std::string(data_len, 'x');
}

TEST(PickSafetensors, IndexShardsInNameOrderOnlyFromTheListing) {
  std::vector<std::string> siblings = {"config.json", "b.safetensors", "a.safetensors", "stray.safetensors",
                                       "model.safetensors.index.json"};
  std::string index = R"({"metadata": {}, "weight_map": {"x": "b.safetensors", "y": "a.safetensors", "z": "b.safetensors"}})";
  auto r = pick_safetensors(siblings, &index);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, (std::vector<std::string>{"a.safetensors", "b.safetensors"}));

  std::string outside = R"({"weight_map": {"x": "../secret.safetensors"}})";
  auto bad = pick_safetensors(siblings, &outside);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Errc::corrupt);
  EXPECT_NE(bad.error().message.find("'../secret.safetensors', which the revision lacks"), std::string::npos);

  std::string dup = R"({"weight_map": {"x": "a.safetensors", "x": "b.safetensors"}})";
  EXPECT_FALSE(pick_safetensors(siblings, &dup));
}

TEST(PickSafetensors, WithoutIndexEverySafetensorsFileSorted) {
  auto r = pick_safetensors({"z.safetensors", "README.md", "sub/a.safetensors", "x.safetensors.json"}, nullptr);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, (std::vector<std::string>{"sub/a.safetensors", "z.safetensors"}));
}

TEST(Layout, FromHeaderBytesAndFileSize) {
  std::string header =
      R"({"b":{"dtype":"BF16","shape":[2,3],"data_offsets":[16,28]},"__metadata__":{"format":"pt"},)"
      R"("a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})";
  std::string whole = file(header, 28);
  std::vector<scan::LayoutFinding> findings;
  // Only the header is given (as a streaming reader has it); the size says where the data ends.
  auto layout = scan::check_safetensors_layout(as_bytes(std::string_view(whole).substr(0, 8 + header.size())),
                                               whole.size(), findings);
  ASSERT_TRUE(findings.empty()) << findings.front().message;
  EXPECT_EQ(layout.header_len, header.size());
  ASSERT_EQ(layout.tensors.size(), 2u);
  EXPECT_EQ(layout.tensors[0].name, "a");
  EXPECT_EQ(layout.tensors[1].name, "b");
  EXPECT_EQ(layout.tensors[1].dtype, "BF16");
  EXPECT_EQ(layout.tensors[1].shape, (std::vector<std::uint64_t>{2, 3}));
  EXPECT_EQ(layout.tensors[1].begin, 16u);
  EXPECT_EQ(layout.tensors[1].end, 28u);
  ASSERT_EQ(layout.metadata.size(), 1u);
  EXPECT_EQ(layout.metadata[0], (std::pair<std::string, std::string>{"format", "pt"}));

  // The same header with a file 4 bytes short: the last tensor runs out of bounds.
  findings.clear();
  scan::check_safetensors_layout(as_bytes(std::string_view(whole).substr(0, 8 + header.size())), whole.size() - 4,
                                 findings);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].rule, "safetensors.out-of-bounds");

  // A prefix that stops inside the header is refused, not read past.
  findings.clear();
  scan::check_safetensors_layout(as_bytes(std::string_view(whole).substr(0, 20)), whole.size(), findings);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].rule, "safetensors.header-length");
}

TEST(Buffers, AlignedAndFreed) {
  for (std::uint64_t n : {0ull, 1ull, 4095ull, (1ull << 20) - 1, 1ull << 20, (5ull << 20) + 3}) {
    std::uint8_t* p = allocate_buffer(n);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % (n >= (1u << 20) ? 4096 : 64), 0u) << n;
    if (n > 0) {
      p[0] = 1;
      p[n - 1] = 2;
    }
    free_buffer(p);
  }
  free_buffer(nullptr);
}

}  // namespace
}  // namespace hubgate::loader
