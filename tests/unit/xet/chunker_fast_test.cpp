// The fast chunker (four-lane scan, rounds, recursive resolution of hits, streaming state) against
// a plain reference written here from spec/xet.md §2 alone, on inputs built to hit the awkward
// cases: inputs shorter than MIN, exactly MAX, hash hits placed at chunk lengths MIN-1, MIN,
// MIN+1, dense hits (several per round and per lane), runs of one byte value and short periods,
// and every feed size from 1 byte to several MAX.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "test_data.hpp"
#include "xet/chunker.hpp"

namespace hubgate::xet {
namespace {

using Bytes = std::vector<std::uint8_t>;

// The spec loop, byte by byte: skip chunk offsets [0, 8127), then h = (h << 1) + GEAR[b]; cut at
// length MAX, or where (h & MASK) == 0 and length >= MIN.
std::vector<std::uint64_t> reference_cuts(const Bytes& data) {
  std::vector<std::uint64_t> cuts;
  std::uint64_t h = 0, len = 0;
  for (std::size_t i = 0; i < data.size(); ++i) {
    ++len;
    if (len <= 8127) continue;
    h = (h << 1) + kGearTable[data[i]];
    if (len == 131072 || ((h & 0xFFFF000000000000ULL) == 0 && len >= 8192)) {
      cuts.push_back(i + 1);
      len = 0;
      h = 0;
    }
  }
  if (len > 0) cuts.push_back(data.size());
  return cuts;
}

std::vector<std::uint64_t> fast_cuts(const Bytes& data) {
  std::vector<std::uint64_t> cuts;
  std::uint64_t end = 0;
  for (auto l : chunk_lengths(test::view(data))) cuts.push_back(end += l);
  return cuts;
}

// Feeds `data` in pieces of `piece` bytes through the streaming Chunker.
std::vector<std::uint64_t> streamed_cuts(const Bytes& data, std::size_t piece) {
  Chunker c;
  std::vector<std::uint64_t> cuts;
  std::vector<std::size_t> local;
  for (std::size_t off = 0; off < data.size(); off += piece) {
    const std::size_t n = std::min(piece, data.size() - off);
    local.clear();
    c.feed(test::view(data).subspan(off, n), local);
    for (auto x : local) cuts.push_back(off + x);
  }
  if (c.finish() > 0) cuts.push_back(data.size());
  return cuts;
}

// A 64-byte window whose gear hash (from h = 0) has its top 16 bits clear: wherever it ends at an
// admissible chunk length, the chunk is cut right after it.
Bytes hitting_window(std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  for (;;) {
    Bytes w(64);
    for (auto& b : w) b = static_cast<std::uint8_t>(rng());
    std::uint64_t h = 0;
    for (auto b : w) h = (h << 1) + kGearTable[b];
    if ((h & kChunkMask) == 0) return w;
  }
}

Bytes random_data(std::size_t n, std::uint64_t seed) { return test::random_bytes(n, seed); }

void append(Bytes& a, const Bytes& b) { a.insert(a.end(), b.begin(), b.end()); }

void expect_same(const Bytes& data, const char* what) {
  auto want = reference_cuts(data);
  ASSERT_EQ(fast_cuts(data), want) << what << " n=" << data.size();
}

TEST(XetChunkerFast, InputsShorterThanMinAreOneChunk) {
  for (std::size_t n : {1ul, 2ul, 63ul, 64ul, 65ul, 4096ul, 8126ul, 8127ul, 8128ul, 8190ul, 8191ul}) {
    auto d = random_data(n, n);
    EXPECT_EQ(fast_cuts(d), std::vector<std::uint64_t>{n}) << n;
    EXPECT_EQ(reference_cuts(d), std::vector<std::uint64_t>{n}) << n;
  }
  EXPECT_TRUE(fast_cuts({}).empty());
  // Even a hitting window ending at length MIN-1 does not cut.
  Bytes d = random_data(8191 - 64, 1);
  append(d, hitting_window(2));
  EXPECT_EQ(fast_cuts(d), std::vector<std::uint64_t>{8191});
}

TEST(XetChunkerFast, ExactlyMaxAndAround) {
  for (std::size_t n : {131071ul, 131072ul, 131073ul, 262144ul, 262145ul}) {
    Bytes same(n, 59);  // byte 59 repeated never hits: cuts at MAX
    std::vector<std::uint64_t> want;
    for (std::uint64_t c = 131072; c < n; c += 131072) want.push_back(c);
    want.push_back(n);
    EXPECT_EQ(fast_cuts(same), want) << n;
    EXPECT_EQ(reference_cuts(same), want) << n;
    expect_same(random_data(n, n + 7), "random around MAX");
  }
  // A hit exactly at MAX and one just after it.
  for (std::size_t end : {131072ul, 131073ul, 131071ul}) {
    Bytes d(end - 64, 59);
    append(d, hitting_window(3));
    append(d, random_data(200000, 4));
    expect_same(d, "hit near MAX");
  }
}

TEST(XetChunkerFast, HitsAtMinMinusOneMinAndMinPlusOne) {
  const Bytes w = hitting_window(5);
  for (bool second_chunk : {false, true}) {
    for (std::uint64_t len : {8128ul, 8129ul, 8190ul, 8191ul, 8192ul, 8193ul, 8194ul, 8255ul, 8256ul}) {
      Bytes d;
      if (second_chunk) d.assign(131072, 59);  // a first chunk cut at MAX
      const std::uint64_t start = d.size();
      append(d, random_data(len - 64, len));
      append(d, w);
      append(d, random_data(300000, len + 1));
      auto want = reference_cuts(d);
      ASSERT_EQ(fast_cuts(d), want) << "len " << len << " second " << second_chunk;
      // The window's end cuts exactly when the chunk is at least MIN long there.
      const auto first = second_chunk ? want.at(1) : want.at(0);
      if (len >= kMinChunk) {
        EXPECT_EQ(first, start + len) << len;
      } else {
        EXPECT_NE(first, start + len) << len;
      }
      for (std::size_t piece : {1ul, 63ul, 64ul, 65ul, 8191ul, 8192ul, 8193ul})
        EXPECT_EQ(streamed_cuts(d, piece), want) << "len " << len << " piece " << piece;
    }
  }
}

TEST(XetChunkerFast, DenseHitsInEveryLane) {
  const Bytes w = hitting_window(9);
  {  // period 64: every position at a window end hits
    Bytes d;
    while (d.size() < 600000) append(d, w);
    expect_same(d, "period 64");
  }
  for (std::size_t gap : {1ul, 50ul, 300ul, 1000ul, 2047ul, 2048ul, 4096ul, 9000ul, 40000ul}) {
    // Random data with the window inserted every `gap` bytes (hits in several lanes per round).
    Bytes d;
    std::uint64_t seed = gap;
    while (d.size() < 700000) {
      append(d, random_data(gap, ++seed));
      append(d, w);
    }
    expect_same(d, "window every gap bytes");
  }
  // Windows placed at the lane/round seams of a scan region (round blocks are 256..2048 bytes).
  for (std::size_t off : {0ul, 1ul, 255ul, 256ul, 511ul, 1023ul, 1024ul, 2047ul, 2048ul, 4095ul, 6143ul, 8191ul}) {
    Bytes d = random_data(8191 + off, off);  // first admissible position is 8191
    append(d, w);
    append(d, random_data(8192 * 3 + 17, off + 1));
    append(d, w);
    append(d, random_data(100000, off + 2));
    expect_same(d, "window at seam");
  }
}

TEST(XetChunkerFast, RunsAndShortPeriods) {
  for (std::uint8_t v : {0, 59, 255}) {
    Bytes d(500000, v);
    expect_same(d, "constant");
  }
  for (std::size_t period : {2ul, 3ul, 7ul, 63ul, 65ul, 128ul, 4099ul}) {
    Bytes pat = random_data(period, period);
    Bytes d;
    while (d.size() < 500000) append(d, pat);
    expect_same(d, "periodic");
  }
  // Long runs of zeros between random stretches.
  Bytes d;
  for (int k = 0; k < 12; ++k) {
    append(d, random_data(10000 + 7000 * k, k));
    d.insert(d.end(), 3000 + 20000 * k, 0);
  }
  expect_same(d, "zero runs");
}

TEST(XetChunkerFast, EveryFeedSizeGivesTheSameCuts) {
  // Sparse hits (random) and dense hits (windows) together.
  const Bytes w = hitting_window(11);
  Bytes d = random_data(400000, 12);
  for (int k = 0; k < 40; ++k) {
    append(d, w);
    append(d, random_data(777 * k, 100 + k));
  }
  const auto want = reference_cuts(d);
  ASSERT_EQ(fast_cuts(d), want);
  for (std::size_t piece : {1ul, 2ul, 3ul, 7ul, 63ul, 64ul, 65ul, 127ul, 1000ul, 1023ul, 1024ul, 4095ul, 4096ul, 4097ul, 8191ul,
                            8192ul, 8193ul, 16383ul, 65535ul, 131071ul, 131072ul, 131073ul, 1ul << 20})
    EXPECT_EQ(streamed_cuts(d, piece), want) << "piece " << piece;
  // Random piece sizes.
  std::mt19937_64 rng(13);
  for (int iter = 0; iter < 20; ++iter) {
    Chunker c;
    std::vector<std::uint64_t> cuts;
    std::vector<std::size_t> local;
    for (std::size_t off = 0; off < d.size();) {
      std::size_t n = std::min<std::size_t>(d.size() - off, rng() % (iter < 10 ? 300 : 300000) + 1);
      local.clear();
      c.feed(test::view(d).subspan(off, n), local);
      for (auto x : local) cuts.push_back(off + x);
      off += n;
    }
    if (c.finish() > 0) cuts.push_back(d.size());
    EXPECT_EQ(cuts, want) << "iter " << iter;
  }
}

TEST(XetChunkerFast, RandomLengthsAndContents) {
  std::mt19937_64 rng(17);
  const Bytes w = hitting_window(19);
  for (int iter = 0; iter < 60; ++iter) {
    std::size_t n = rng() % 700000;
    Bytes d = random_data(n, rng());
    if (iter % 4 == 1) for (auto& b : d) b &= 0x3;
    if (iter % 4 == 2)
      for (std::size_t i = 0; i + 64 <= d.size(); i += 64 + rng() % 20000) std::copy(w.begin(), w.end(), d.begin() + static_cast<long>(i));
    if (iter % 4 == 3)
      for (std::size_t i = 0; i < d.size(); ++i) if (i % 9973 < 5000) d[i] = 0;
    expect_same(d, "random");
  }
}

}  // namespace
}  // namespace hubgate::xet
