#include "xet/chunker.hpp"

#include <gtest/gtest.h>

#include <numeric>
#include <random>
#include <vector>

#include "test_data.hpp"

namespace hubgate::xet {
namespace {

#include "hitting_vectors.inc"

std::vector<std::uint64_t> cumulative(const std::vector<std::uint32_t>& lens) {
  std::vector<std::uint64_t> out;
  std::uint64_t s = 0;
  for (auto l : lens) out.push_back(s += l);
  return out;
}

std::vector<std::uint32_t> chunk_streaming(ByteView data, const std::vector<std::size_t>& splits) {
  Chunker c;
  std::vector<std::uint32_t> lens;
  std::uint64_t last_end = 0, fed = 0;
  std::size_t prev = 0;
  auto run = [&](std::size_t a, std::size_t b) {
    std::vector<std::size_t> cuts;
    c.feed(data.subspan(a, b - a), cuts);
    for (auto cut : cuts) {
      lens.push_back(static_cast<std::uint32_t>(fed + cut - last_end));
      last_end = fed + cut;
    }
    fed += b - a;
  };
  for (auto s : splits) {
    run(prev, s);
    prev = s;
  }
  run(prev, data.size());
  if (auto l = c.finish()) lens.push_back(static_cast<std::uint32_t>(l));
  return lens;
}

TEST(XetChunker, SplitMixOneMegabyteBoundaries) {
  auto data = test::splitmix_data(1000000, 0);
  EXPECT_EQ(data[0], 175);
  EXPECT_EQ(data[127], 132);
  EXPECT_EQ(data[111111], 118);
  std::vector<std::uint64_t> want = {84493,  134421, 144853, 243318, 271793, 336457, 467529, 494581, 582000, 596735,
                                     616815, 653164, 678202, 724510, 815591, 827760, 958832, 991092, 1000000};
  EXPECT_EQ(cumulative(chunk_lengths(test::view(data))), want);
  EXPECT_EQ(cumulative(chunk_lengths_reference(test::view(data))), want);
}

TEST(XetChunker, ConstantBytesCutAtMax) {
  std::vector<std::uint8_t> data(1000000, 59);
  std::vector<std::uint64_t> want = {131072, 262144, 393216, 524288, 655360, 786432, 917504, 1000000};
  EXPECT_EQ(cumulative(chunk_lengths(test::view(data))), want);
}

TEST(XetChunker, XcHittingDataMinimumSizeCases) {
  for (int i = 0; i < 128; ++i) {
    std::vector<std::uint8_t> data(kTriggerPattern, kTriggerPattern + 128);
    data.resize(128 + i, 0);
    while (data.size() < 65536) {
      std::size_t take = std::min(65536 - data.size(), data.size());
      data.insert(data.end(), data.begin(), data.begin() + static_cast<long>(take));
    }
    ASSERT_EQ(data[11111], kSampleAt11111[i]) << "case " << i;
    std::vector<std::uint64_t> want(kHittingBoundaries[i], kHittingBoundaries[i] + 8);
    EXPECT_EQ(cumulative(chunk_lengths(test::view(data))), want) << "case " << i;
    EXPECT_EQ(cumulative(chunk_lengths_reference(test::view(data))), want) << "case " << i;
  }
}

TEST(XetChunker, SmallInputs) {
  EXPECT_TRUE(chunk_lengths({}).empty());
  std::vector<std::uint8_t> one(1, 7);
  EXPECT_EQ(chunk_lengths(test::view(one)), std::vector<std::uint32_t>{1});
  auto small = test::random_bytes(8191, 3);
  EXPECT_EQ(chunk_lengths(test::view(small)), std::vector<std::uint32_t>{8191});
  std::vector<std::uint8_t> exact(131072, 0);
  EXPECT_EQ(chunk_lengths(test::view(exact)), std::vector<std::uint32_t>{131072});
}

TEST(XetChunker, PropertyFastEqualsReferenceOnRandomData) {
  std::mt19937_64 rng(42);
  for (int iter = 0; iter < 40; ++iter) {
    std::size_t n = rng() % (3 << 20);
    auto data = test::random_bytes(n, rng());
    // Low-entropy inputs hit the skip/min/max edges far more often.
    if (iter % 3 == 1) for (auto& b : data) b &= 0x3;
    if (iter % 3 == 2) for (std::size_t i = 0; i < data.size(); ++i) if (i % 977 < 600) data[i] = 0;
    auto fast = chunk_lengths(test::view(data));
    auto ref = chunk_lengths_reference(test::view(data));
    ASSERT_EQ(fast, ref) << "iter " << iter << " n=" << n;
    std::uint64_t total = std::accumulate(fast.begin(), fast.end(), std::uint64_t{0});
    EXPECT_EQ(total, n);
    for (std::size_t k = 0; k + 1 < fast.size(); ++k) {
      EXPECT_GE(fast[k], kMinChunk);
      EXPECT_LE(fast[k], kMaxChunk);
    }
  }
}

TEST(XetChunker, PropertyStreamingEqualsOneShot) {
  std::mt19937_64 rng(7);
  for (int iter = 0; iter < 30; ++iter) {
    std::size_t n = rng() % (2 << 20) + 1;
    auto data = test::random_bytes(n, rng());
    if (iter % 2) for (auto& b : data) b &= 0x7;
    auto want = chunk_lengths(test::view(data));
    std::vector<std::size_t> splits;
    std::size_t pos = 0;
    while (true) {
      std::size_t step = iter % 4 == 0 ? rng() % 64 + 1 : rng() % 200000;
      pos += step;
      if (pos >= n) break;
      splits.push_back(pos);
    }
    EXPECT_EQ(chunk_streaming(test::view(data), splits), want) << "iter " << iter;
  }
}

TEST(XetChunker, ByteAtATimeStreaming) {
  auto data = test::splitmix_data(300000, 5);
  std::vector<std::size_t> splits(data.size() - 1);
  std::iota(splits.begin(), splits.end(), 1);
  EXPECT_EQ(chunk_streaming(test::view(data), splits), chunk_lengths_reference(test::view(data)));
}

}  // namespace
}  // namespace hubgate::xet
