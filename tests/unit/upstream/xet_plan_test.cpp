// XetIndex (durable rows) and Xet term planning: which chunks are local, which byte ranges to
// fetch, widening to known record boundaries and merging of adjacent ranges.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "test_util.hpp"
#include "upstream/xet_index.hpp"
#include "upstream/xet_plan.hpp"

namespace hubgate::upstream {
namespace {

xet::MerkleHash H(std::uint8_t b) {
  xet::MerkleHash h;
  h.bytes.fill(b);
  return h;
}

TEST(XetIndex, RowsPersistAcrossReopenAndReplace) {
  testing::TempDir dir;
  std::string path = dir.str() + "/idx.db";
  {
    auto idx = XetIndex::open(path);
    ASSERT_TRUE(idx) << idx.error().message;
    std::vector<XetIndexRow> rows = {{H(1), 0, H(10), 0, 100}, {H(1), 1, H(11), 100, 50}, {H(2), 7, H(12), std::nullopt, std::nullopt}};
    ASSERT_TRUE((*idx)->commit(rows));
    EXPECT_EQ((*idx)->size(), 3u);
  }
  auto idx = XetIndex::open(path);
  ASSERT_TRUE(idx);
  auto r = (*idx)->get(H(1), 1);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->chunk, H(11));
  EXPECT_EQ(r->offset, 100u);
  EXPECT_EQ(r->length, 50u);
  auto n = (*idx)->get(H(2), 7);
  ASSERT_TRUE(n);
  EXPECT_FALSE(n->offset);
  EXPECT_FALSE(n->length);
  EXPECT_FALSE((*idx)->get(H(2), 6));
  EXPECT_EQ((*idx)->range(H(1), 0, 5).size(), 2u);
  std::vector<XetIndexRow> repl = {{H(1), 1, H(99), 100, 50}};
  ASSERT_TRUE((*idx)->commit(repl));
  EXPECT_EQ((*idx)->get(H(1), 1)->chunk, H(99));
  EXPECT_EQ((*idx)->size(), 3u);
}

const char* kRecon = R"({"offset_into_first_range":0,
 "terms":[{"hash":"%A%","unpacked_length":300,"range":{"start":0,"end":3}},
          {"hash":"%B%","unpacked_length":100,"range":{"start":0,"end":1}}],
 "fetch_info":{"%A%":[{"range":{"start":0,"end":3},"url":"http://u/x/a","url_range":{"start":0,"end":329}}],
               "%B%":[{"range":{"start":0,"end":1},"url":"http://u/x/b","url_range":{"start":0,"end":109}}]}})";

std::string recon(std::string s) {
  for (auto [k, v] : {std::pair{"%A%", H(1).hex()}, std::pair{"%B%", H(2).hex()}}) {
    for (auto p = s.find(k); p != std::string::npos; p = s.find(k)) s.replace(p, 3, v);
  }
  return s;
}

TEST(XetPlan, ParsesV1Strictly) {
  auto r = parse_reconstruction_v1(recon(kRecon));
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->terms.size(), 2u);
  EXPECT_EQ(r->terms[0].xorb, H(1));
  EXPECT_EQ(r->terms[0].end, 3u);
  ASSERT_EQ(r->fetch.size(), 2u);
  EXPECT_FALSE(parse_reconstruction_v1("[]"));
  EXPECT_FALSE(parse_reconstruction_v1(R"({"terms":[{"hash":"zz","unpacked_length":1,"range":{"start":0,"end":1}}]})"));
  std::string bad_range = recon(kRecon);
  bad_range.replace(bad_range.find("\"end\":3}}"), 9, "\"end\":9000}}");
  EXPECT_FALSE(parse_reconstruction_v1(bad_range));
  std::string bad_url = recon(kRecon);
  bad_url.replace(bad_url.find("http://u/x/a"), 12, "file:///etc/x");
  EXPECT_FALSE(parse_reconstruction_v1(bad_url));
  std::string reversed = recon(kRecon);
  reversed.replace(reversed.find("\"end\":329"), 9, "\"end\":0  ");
  EXPECT_FALSE(parse_reconstruction_v1(reversed));
}

struct FakeIndex {
  std::map<std::pair<xet::MerkleHash, std::uint32_t>, XetIndexRow> rows;
  std::set<xet::MerkleHash> held;
  void add(const xet::MerkleHash& x, std::uint32_t i, std::uint8_t chunk, std::optional<std::uint64_t> off, std::optional<std::uint32_t> len,
           bool is_held) {
    rows[{x, i}] = XetIndexRow{x, i, H(chunk), off, len};
    if (is_held) held.insert(H(chunk));
  }
  XetRowLookup lookup() const {
    return [this](const xet::MerkleHash& x, std::uint32_t i) -> std::optional<XetIndexRow> {
      auto it = rows.find({x, i});
      if (it == rows.end()) return std::nullopt;
      return it->second;
    };
  }
  XetHeldCheck check() const {
    return [this](const xet::MerkleHash& c) { return held.count(c) > 0; };
  }
};

// One xorb, 10 chunks of 100-byte records at 100*i, a term over [0,10) and one entry.
XetReconstruction ten(std::vector<std::pair<std::uint32_t, std::uint32_t>> terms = {{0, 10}}) {
  XetReconstruction r;
  for (auto [a, b] : terms) r.terms.push_back({H(1), a, b, 64ull * (b - a)});
  r.fetch.push_back({H(1), 0, 10, "http://u/a", 0, 999});
  return r;
}

TEST(XetPlan, ColdFileFetchesWholeEntry) {
  FakeIndex idx;
  auto p = plan_terms(ten(), idx.lookup(), idx.check());
  ASSERT_TRUE(p) << p.error().message;
  ASSERT_EQ(p->fetches.size(), 1u);
  EXPECT_EQ(p->fetches[0], (XetFetch{H(1), "http://u/a", 0, 10, 0, 999}));
  EXPECT_EQ(p->local_chunks, 0u);
  ASSERT_EQ(p->chunks.size(), 10u);
  for (auto& c : p->chunks) EXPECT_FALSE(c.local);
}

TEST(XetPlan, FullyHeldFetchesNothing) {
  FakeIndex idx;
  for (std::uint32_t i = 0; i < 10; ++i) idx.add(H(1), i, std::uint8_t(100 + i), 100 * i, 100, true);
  auto p = plan_terms(ten(), idx.lookup(), idx.check());
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->fetches.empty());
  EXPECT_EQ(p->local_chunks, 10u);
  EXPECT_EQ(p->chunks[3].hash, H(103));
}

TEST(XetPlan, KnownOffsetsGiveSubRanges) {
  FakeIndex idx;
  // Held: 0-2, 5, 8-9. Missing 3-4 and 6-7, whose boundaries are known from their neighbours.
  for (std::uint32_t i : {0u, 1u, 2u, 5u, 8u, 9u}) idx.add(H(1), i, std::uint8_t(100 + i), 100 * i, 100, true);
  auto p = plan_terms(ten(), idx.lookup(), idx.check());
  ASSERT_TRUE(p);
  ASSERT_EQ(p->fetches.size(), 2u);
  EXPECT_EQ(p->fetches[0], (XetFetch{H(1), "http://u/a", 3, 5, 300, 499}));
  EXPECT_EQ(p->fetches[1], (XetFetch{H(1), "http://u/a", 6, 8, 600, 799}));
  EXPECT_EQ(p->local_chunks, 6u);
  EXPECT_EQ(p->chunks[3].fetch, 0u);
  EXPECT_EQ(p->chunks[7].fetch, 1u);
}

TEST(XetPlan, UnknownBoundariesWidenAndMerge) {
  FakeIndex idx;
  // Rows without offsets for the held chunks 0-2, 4 and 6-9: the runs [3,4) and [5,6) cannot be
  // bounded, widen to the entry's edges, overlap, and merge into the whole entry.
  for (std::uint32_t i : {0u, 1u, 2u, 4u, 6u, 7u, 8u, 9u}) idx.add(H(1), i, std::uint8_t(100 + i), std::nullopt, std::nullopt, true);
  auto p = plan_terms(ten(), idx.lookup(), idx.check());
  ASSERT_TRUE(p);
  ASSERT_EQ(p->fetches.size(), 1u);
  EXPECT_EQ(p->fetches[0], (XetFetch{H(1), "http://u/a", 0, 10, 0, 999}));
  EXPECT_EQ(p->chunks[3].fetch, 0u);
  EXPECT_EQ(p->chunks[5].fetch, 0u);
  EXPECT_TRUE(p->chunks[4].local);
}

TEST(XetPlan, AdjacentRunsMergeAndRowsNotHeldAreMissing) {
  FakeIndex idx;
  // Chunk 4 has a row (offset known) but the store lost it: it is missing, so 3..5 is one run.
  for (std::uint32_t i = 0; i < 10; ++i) idx.add(H(1), i, std::uint8_t(100 + i), 100 * i, 100, i < 3 || i > 5);
  auto p = plan_terms(ten(), idx.lookup(), idx.check());
  ASSERT_TRUE(p);
  ASSERT_EQ(p->fetches.size(), 1u);
  EXPECT_EQ(p->fetches[0], (XetFetch{H(1), "http://u/a", 3, 6, 300, 599}));
}

TEST(XetPlan, TouchingRunsOfTwoTermsAreOneFetchAndRepeatsFetchOnce) {
  FakeIndex idx;
  // Terms [0,4), [4,8) and a repeat of [2,3): one fetch of [0,8) (its end is known from chunk 8).
  for (std::uint32_t i : {8u, 9u}) idx.add(H(1), i, std::uint8_t(100 + i), 100 * i, 100, true);
  auto p = plan_terms(ten({{0, 4}, {4, 8}, {2, 3}}), idx.lookup(), idx.check());
  ASSERT_TRUE(p);
  ASSERT_EQ(p->fetches.size(), 1u);
  EXPECT_EQ(p->fetches[0], (XetFetch{H(1), "http://u/a", 0, 8, 0, 799}));
  ASSERT_EQ(p->chunks.size(), 9u);
  EXPECT_EQ(p->chunks[8].index, 2u);
  EXPECT_EQ(p->chunks[8].fetch, 0u);
}

TEST(XetPlan, TermOutsideEveryEntryIsRefused) {
  FakeIndex idx;
  auto r = ten({{0, 10}});
  r.terms.push_back({H(2), 0, 1, 10});
  EXPECT_FALSE(plan_terms(r, idx.lookup(), idx.check()));
}

TEST(XetPlan, OffsetsOutsideTheEntryAreRefused) {
  FakeIndex idx;
  idx.add(H(1), 4, 104, 5000, 100, false);  // recorded offset beyond the entry's bytes
  idx.add(H(1), 5, 105, 5100, 100, true);
  for (std::uint32_t i : {0u, 1u, 2u, 3u, 6u, 7u, 8u, 9u}) idx.add(H(1), i, std::uint8_t(100 + i), 100 * i, 100, true);
  EXPECT_FALSE(plan_terms(ten(), idx.lookup(), idx.check()));
}

}  // namespace
}  // namespace hubgate::upstream
