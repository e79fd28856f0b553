// cas::HotCopies with a real chunk store (temp folder) and a MemoryStore/DiskStore: plain reads
// reconstructed from chunks in many windows, copies preferred when present, the budget (only
// copies the chunk store can rebuild are removed), background re-materialization, read errors.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <future>
#include <random>

#include "cas/cas.hpp"
#include "cas/hot_copies.hpp"
#include "crypto/sha.hpp"
#include "repo/catalog.hpp"
#include "util/atomic_file.hpp"

using namespace hubgate;

namespace {

std::string random_bytes(std::size_t n, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = char(rng() & 0xff);
  return s;
}

// Pulls a producer to its end; `failed` when it delivered an error chunk.
std::string drain(http::BodyProducer& p, bool& failed) {
  std::string out;
  failed = false;
  for (int i = 0; i < 100000; ++i) {
    std::promise<http::Chunk> pr;
    auto fu = pr.get_future();
    p.pull([&pr](http::Chunk c) { pr.set_value(std::move(c)); });
    http::Chunk c = fu.get();
    if (c.error) {
      failed = true;
      return out;
    }
    out += c.data;
    for (const auto& part : c.parts) {
      if (const auto* bytes = std::get_if<std::string>(&part)) {
        out += *bytes;
        continue;
      }
      const auto& f = std::get<http::FileBody>(part);  // a slice of a xorb file
      std::string slice(f.length, '\0');
      EXPECT_EQ(::pread(f.file->fd(), slice.data(), f.length, off_t(f.offset)), ssize_t(f.length));
      out += slice;
    }
    if (c.end) return out;
  }
  ADD_FAILURE() << "producer never ended";
  return out;
}

std::uint64_t metric(const std::string& text, const std::string& name) {
  auto at = text.find("\n" + name + " ");
  if (at == std::string::npos) return ~0ull;
  return std::stoull(text.substr(at + name.size() + 2));
}

struct HotTest : ::testing::Test {
  std::filesystem::path dir;
  std::unique_ptr<repo::Catalog> catalog;
  std::unique_ptr<auth::Signer> signer;
  std::unique_ptr<cas::Service> xet;
  store::MemoryStore mem;
  std::string data;
  std::string sha;
  xet::FileRecord rec;

  void SetUp() override {
    dir = std::filesystem::temp_directory_path() /
          ("hubgate-hot-" + std::to_string(::getpid()) + "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    catalog = std::move(*repo::open_sqlite_catalog(":memory:"));
    signer = std::make_unique<auth::Signer>("0123456789abcdef0123456789abcdef");
    cas::ServiceOptions xo;
    xo.dir = (dir / "xet").string();
    xet = std::move(*cas::Service::open(xo, *signer, *catalog));
    data = random_bytes(3 * 1000 * 1000 + 77, 7);
    sha = crypto::sha256_hex(data);
    auto r = xet->chunks().ingest_bytes(as_bytes(std::string_view(data)));
    ASSERT_TRUE(r) << r.error().message;
    rec = *r;
    ASSERT_TRUE(xet->file_for_sha256(sha));
  }
  void TearDown() override { std::filesystem::remove_all(dir); }

  std::unique_ptr<cas::HotCopies> open(std::optional<std::uint64_t> budget, store::BlobStore& st) {
    cas::HotCopiesOptions o;
    o.max_bytes = budget;
    o.tmp_dir = (dir / "tmp").string();
    o.read_window = 100'003;  // many windows, not aligned with chunks
    o.read_threads = 2;
    auto h = cas::HotCopies::open(o, *xet, st);
    EXPECT_TRUE(h) << h.error().message;
    return std::move(*h);
  }
};

}  // namespace

TEST_F(HotTest, RangesFromChunksAreExact) {
  auto hot = open(0, mem);
  const std::uint64_t n = data.size();
  for (auto [a, len] : std::vector<std::pair<std::uint64_t, std::uint64_t>>{
           {0, n}, {0, 1}, {n - 1, 1}, {12345, 100'003}, {65536 - 3, 200'000}, {1'000'000, 1'999'000}, {n - 300'000, 300'000}}) {
    auto b = hot->body(sha, n, a, len, false);
    ASSERT_TRUE(b) << b.error().message;
    ASSERT_TRUE(b->from_chunks);
    bool failed = true;
    std::string got = drain(*std::get<std::shared_ptr<http::BodyProducer>>(b->body), failed);
    EXPECT_FALSE(failed);
    EXPECT_TRUE(got == data.substr(a, len)) << a << "+" << len;
  }
  auto t = hot->metrics_text();
  EXPECT_EQ(metric(t, "hubgate_plain_reads_total{source=\"chunks\"}"), 7u);
  EXPECT_EQ(metric(t, "hubgate_plain_reads_total{source=\"copy\"}"), 0u);
  // Neither representation: not_found. Wrong size: not_found too (never serve other bytes).
  EXPECT_EQ(hot->body(std::string(64, 'a'), 5, 0, 5, false).error().code, Errc::not_found);
  EXPECT_EQ(hot->body(sha, n + 1, 0, 5, false).error().code, Errc::not_found);
}

TEST_F(HotTest, ReadErrorEndsTheBodyShort) {
  auto hot = open(0, mem);
  auto b = hot->body(sha, data.size(), 0, data.size(), false);
  ASSERT_TRUE(b);
  for (const auto& s : rec.segments) ASSERT_TRUE(xet->chunks().objects().remove(xet::ObjectKind::xorb, s.xorb_hash));
  bool failed = false;
  std::string got = drain(*std::get<std::shared_ptr<http::BodyProducer>>(b->body), failed);
  EXPECT_TRUE(failed);
  EXPECT_LT(got.size(), data.size());
  EXPECT_EQ(metric(hot->metrics_text(), "hubgate_plain_read_chunk_errors_total"), 1u);
}

TEST_F(HotTest, BudgetZeroRemovesOnlyRebuildableCopies) {
  auto hot = open(0, mem);
  ASSERT_EQ(*mem.put(data), sha);
  std::string other = *mem.put("inline file, no Xet representation");
  hot->admit(sha);
  hot->admit(other);
  EXPECT_FALSE(*mem.stat(sha));  // removed: the chunk store rebuilds it
  EXPECT_TRUE(*mem.stat(other));  // the only representation: kept
  auto t = hot->metrics_text();
  EXPECT_EQ(metric(t, "hubgate_hot_copies_evicted_total"), 1u);
  EXPECT_EQ(metric(t, "hubgate_hot_copy_bytes"), 0u);
  EXPECT_EQ(metric(t, "hubgate_hot_copy_budget_bytes"), 0u);
  // A read now comes from the chunks and, with a budget of 0, is not rebuilt.
  auto b = hot->body(sha, data.size(), 0, 10, false);
  ASSERT_TRUE(b && b->from_chunks);
  hot->wait_idle();
  EXPECT_FALSE(*mem.stat(sha));
}

TEST_F(HotTest, UnlimitedKeepsCopiesAndServesThem) {
  auto hot = open(std::nullopt, mem);
  ASSERT_EQ(*mem.put(data), sha);
  hot->admit(sha);
  EXPECT_TRUE(*mem.stat(sha));
  auto b = hot->body(sha, data.size(), 5, 10, false);
  ASSERT_TRUE(b);
  EXPECT_FALSE(b->from_chunks);
  EXPECT_EQ(std::get<std::string>(b->body), data.substr(5, 10));
  auto t = hot->metrics_text();
  EXPECT_EQ(metric(t, "hubgate_plain_reads_total{source=\"copy\"}"), 1u);
  EXPECT_EQ(metric(t, "hubgate_hot_copy_bytes"), data.size());
  EXPECT_EQ(t.find("hubgate_hot_copy_budget_bytes"), std::string::npos);
}

// Incompressible data is stored as it is: a plain read from chunks is slices of the xorb files
// (sendfile), not bytes copied through memory; compressible data is decoded.
TEST_F(HotTest, RawRecordsAreServedAsFileSlices) {
  auto hot = open(0, mem);
  auto b = hot->body(sha, data.size(), 1000, 2'000'000, false);
  ASSERT_TRUE(b && b->from_chunks);
  auto& p = *std::get<std::shared_ptr<http::BodyProducer>>(b->body);
  std::promise<http::Chunk> pr;
  p.pull([&pr](http::Chunk c) { pr.set_value(std::move(c)); });
  http::Chunk c = pr.get_future().get();
  ASSERT_FALSE(c.error);
  ASSERT_FALSE(c.parts.empty());
  for (const auto& part : c.parts) EXPECT_TRUE(std::holds_alternative<http::FileBody>(part));
  EXPECT_EQ(c.size(), 100'003u);

  std::string text;
  for (int i = 0; text.size() < 2'000'000; ++i) text += "layer." + std::to_string(i) + ".weight = 0.0;\n";
  auto r = xet->chunks().ingest_bytes(as_bytes(std::string_view(text)));
  ASSERT_TRUE(r);
  std::vector<xet::ReadPiece> pieces;
  ASSERT_TRUE(xet->chunks().read_pieces(*r, 17, text.size() - 40, pieces));
  std::string got;
  for (const auto& piece : pieces) {
    EXPECT_TRUE(piece.path.empty());  // LZ4 records: decoded
    got += piece.bytes;
  }
  EXPECT_EQ(got, text.substr(17, text.size() - 40));
}

TEST_F(HotTest, BoundedBudgetDropsCommittedCopiesAndRefillsThemOnRead) {
  auto ds = store::DiskStore::open_at((dir / "store").string());
  ASSERT_TRUE(ds);
  auto hot = open(10 * data.size(), **ds);
  ASSERT_EQ(*(*ds)->put(data), sha);
  hot->admit(sha);  // a commit's copy: the chunks hold the file, so it goes
  EXPECT_FALSE(*(*ds)->stat(sha));
  auto b = hot->body(sha, data.size(), 0, data.size(), false);
  ASSERT_TRUE(b && b->from_chunks);
  hot->wait_idle();  // the plain read filled the cache
  EXPECT_TRUE(*(*ds)->stat(sha));
  b = hot->body(sha, data.size(), 0, 10, false);
  ASSERT_TRUE(b);
  EXPECT_FALSE(b->from_chunks);
}

TEST_F(HotTest, ReadFromChunksRematerializesWhenItFits) {
  auto ds = store::DiskStore::open_at((dir / "store").string());
  ASSERT_TRUE(ds);
  auto hot = open(2 * data.size(), **ds);
  auto b = hot->body(sha, data.size(), 0, 100, /*probe=*/true);  // HEAD: triggers nothing
  ASSERT_TRUE(b && b->from_chunks);
  hot->wait_idle();
  EXPECT_FALSE(*(*ds)->stat(sha));
  b = hot->body(sha, data.size(), 0, 100, false);
  ASSERT_TRUE(b && b->from_chunks);
  hot->wait_idle();
  ASSERT_TRUE(*(*ds)->stat(sha));
  EXPECT_EQ(*read_file((*ds)->path_of(sha)), data);
  auto t = hot->metrics_text();
  EXPECT_EQ(metric(t, "hubgate_hot_copies_materialized_total"), 1u);
  EXPECT_EQ(metric(t, "hubgate_hot_copy_bytes"), data.size());
  // Now served from the copy (sendfile slice).
  b = hot->body(sha, data.size(), 7, 9, false);
  ASSERT_TRUE(b);
  EXPECT_FALSE(b->from_chunks);
  auto& fb = std::get<http::FileBody>(b->body);
  EXPECT_EQ(fb.offset, 7u);
  EXPECT_EQ(fb.length, 9u);
  // A restart finds the copy, and a smaller budget evicts it at once.
  hot.reset();
  auto again = open(data.size() - 1, **ds);
  EXPECT_FALSE(*(*ds)->stat(sha));
  EXPECT_EQ(metric(again->metrics_text(), "hubgate_hot_copies_evicted_total"), 1u);
  // No temp files left behind.
  for (auto& e : std::filesystem::directory_iterator(dir / "tmp")) ADD_FAILURE() << e.path();
}
