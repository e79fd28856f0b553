#include "upstream/fill.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "test_util.hpp"

using namespace hubgate;
using namespace hubgate::upstream;
using namespace hubgate::upstream::testing;
namespace fs = std::filesystem;

namespace {

struct Rig {
  TempDir dir;
  Metrics metrics;
  std::unique_ptr<DiskBlobCache> cache;
  MemorySource source;
  std::unique_ptr<FillRegistry> registry;
  explicit Rig(std::string body, FillOptions opt = {}) {
    cache = std::move(*DiskBlobCache::open_dir({dir.str(), 0}, &metrics));
    source.body = std::move(body);
    opt.retry_backoff = std::chrono::milliseconds(1);
    registry = std::make_unique<FillRegistry>(*cache, source, &metrics, opt);
  }
  FillSpec spec() const { return FillSpec{sha_key(source.body), source.body.size(), "mem://x", {}}; }
  // No file other than published entries under the cache folder.
  std::size_t temporaries() const {
    std::size_t n = 0;
    for (auto& e : fs::recursive_directory_iterator(dir.path))
      if (e.path().filename().string().find(".tmp.") != std::string::npos) n++;
    return n;
  }
};

std::shared_ptr<Fill> start(Rig& rig, const FillSpec& spec) {
  auto a = rig.registry->acquire(spec);
  EXPECT_TRUE(a) << a.error().message;
  return a ? a->fill : nullptr;
}

}  // namespace

TEST(Fill, CompletesVerifiesAndPublishes) {
  Rig rig(pattern(100000));
  auto fill = start(rig, rig.spec());
  ASSERT_TRUE(fill);
  auto got = read_all(*fill);
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(*got, rig.source.body);
  auto st = fill->wait_beyond(fill->size(), std::chrono::milliseconds(5000));
  for (int i = 0; i < 500 && st.state == FillState::running; ++i) st = fill->wait_beyond(fill->size(), std::chrono::milliseconds(10));
  EXPECT_EQ(st.state, FillState::complete);
  EXPECT_TRUE(rig.cache->contains(rig.spec().key));
  EXPECT_EQ(rig.source.fetches.load(), 1);
  EXPECT_EQ(rig.metrics.bytes_from_upstream.load(), 100000u);
  EXPECT_EQ(rig.metrics.fills_completed.load(), 1u);
  // The next acquire is a cache hit, with identical bytes.
  auto again = rig.registry->acquire(rig.spec());
  ASSERT_TRUE(again);
  ASSERT_TRUE(again->cached);
  EXPECT_FALSE(again->fill);
  EXPECT_EQ(read_fd_all(again->cached->fd(), again->cached->size()), rig.source.body);
  EXPECT_EQ(rig.temporaries(), 0u);
}

TEST(Fill, SingleFlightManyConcurrentReaders) {
  Rig rig(pattern(300000, 7));
  rig.source.gated = true;  // hold the transfer until every reader has joined
  constexpr int kReaders = 32;
  std::vector<std::string> results(kReaders);
  std::vector<int> started(kReaders, 0);
  std::atomic<int> joined{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kReaders; ++i) {
    threads.emplace_back([&, i] {
      auto a = rig.registry->acquire(rig.spec());
      if (!a || !a->fill) return;
      started[i] = a->started;
      joined++;
      auto got = read_all(*a->fill);
      if (got) results[i] = *got;
    });
  }
  for (int i = 0; i < 2000 && joined.load() < kReaders; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_EQ(joined.load(), kReaders);
  rig.source.release();
  for (auto& t : threads) t.join();
  for (int i = 0; i < kReaders; ++i) EXPECT_EQ(results[i], rig.source.body) << "reader " << i;
  EXPECT_EQ(rig.source.fetches.load(), 1);
  EXPECT_EQ(std::count(started.begin(), started.end(), 1), 1);
  EXPECT_EQ(rig.metrics.fills_started.load(), 1u);
  EXPECT_EQ(rig.metrics.fills_joined.load(), kReaders - 1u);
}

namespace {
// Runs a gated 50000-byte fill and returns `available` as each subscriber call saw it.
std::vector<std::uint64_t> progress_seen(FillOptions opt, std::size_t pause_every) {
  Rig rig(pattern(50000), opt);
  rig.source.gated = true;
  rig.source.pause_every = pause_every;
  auto fill = start(rig, rig.spec());
  if (!fill) return {};
  std::vector<std::uint64_t> seen;  // appended on the fill thread only
  std::atomic<bool> saw_complete{false};
  std::mutex mu;
  std::condition_variable cv;
  auto id = fill->subscribe([&] {
    auto st = fill->status();
    seen.push_back(st.available);
    if (st.state == FillState::complete) {
      std::lock_guard l(mu);
      saw_complete = true;
      cv.notify_all();
    }
  });
  rig.source.release();
  std::unique_lock l(mu);
  EXPECT_TRUE(cv.wait_for(l, std::chrono::seconds(10), [&] { return saw_complete.load(); }));
  fill->unsubscribe(id);
  return seen;
}
}  // namespace

TEST(Fill, SubscribersAreNotifiedOfProgressInStepsAndOfCompletion) {
  FillOptions opt;
  opt.publish_step = 3 * 4096;
  opt.publish_interval = std::chrono::hours(1);
  // 50000 bytes in 4096-byte chunks: a wake-up every 3 chunks, one at the end of the transfer
  // (all but the last byte), one when verified (last byte released), one for completion.
  std::vector<std::uint64_t> want{12288, 24576, 36864, 49152, 49999, 50000, 50000};
  EXPECT_EQ(progress_seen(opt, 0), want);
}

TEST(Fill, APauseOfTheSourcePublishesAtOnce) {
  FillOptions opt;
  opt.publish_step = 1u << 30;
  opt.publish_interval = std::chrono::hours(1);
  std::vector<std::uint64_t> want{8192, 16384, 24576, 32768, 40960, 49152, 49999, 50000, 50000};
  EXPECT_EQ(progress_seen(opt, 2), want);
}

TEST(Fill, HashMismatchDiscardsAndNextRequestStartsAfresh) {
  Rig rig(pattern(20000));
  rig.source.corrupt = true;
  auto fill = start(rig, rig.spec());
  ASSERT_TRUE(fill);
  auto got = read_all(*fill);
  EXPECT_FALSE(got);
  auto st = fill->wait_beyond(0, std::chrono::seconds(10));
  for (int i = 0; i < 500 && st.state == FillState::running; ++i) st = fill->wait_beyond(1u << 30, std::chrono::milliseconds(10));
  ASSERT_EQ(st.state, FillState::failed);
  EXPECT_EQ(st.error->code, Errc::corrupt);
  EXPECT_NE(st.error->message.find("hash mismatch"), std::string::npos) << st.error->message;
  EXPECT_LT(st.available, fill->size());     // the last byte was never exposed
  EXPECT_FALSE(fill->pread(nullptr, 0, 0));  // readers of a failed fill get an error
  EXPECT_FALSE(rig.cache->contains(rig.spec().key));
  EXPECT_EQ(rig.temporaries(), 0u);
  EXPECT_EQ(rig.metrics.fills_failed.load(), 1u);
  for (int i = 0; i < 500 && rig.registry->in_flight() > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  // Upstream repaired: the next request starts a new transfer and succeeds.
  rig.source.corrupt = false;
  auto again = rig.registry->acquire(rig.spec());
  ASSERT_TRUE(again);
  ASSERT_TRUE(again->fill);
  EXPECT_TRUE(again->started);
  auto ok = read_all(*again->fill);
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(*ok, rig.source.body);
  EXPECT_EQ(rig.source.fetches.load(), 2);
}

TEST(Fill, SizeMismatchFails) {
  Rig rig(pattern(5000));
  FillSpec spec = rig.spec();
  spec.size = 4000;  // upstream sends more than declared
  auto fill = start(rig, spec);
  ASSERT_TRUE(fill);
  auto st = fill->wait_beyond(1u << 30, std::chrono::seconds(10));
  ASSERT_EQ(st.state, FillState::failed);
  EXPECT_NE(st.error->message.find("more than the declared"), std::string::npos) << st.error->message;
  EXPECT_EQ(rig.temporaries(), 0u);
}

TEST(Fill, TruncatedTransferResumesAtOffset) {
  Rig rig(pattern(100000, 3));
  rig.source.truncations = 2;
  rig.source.cut_at = 30000;
  auto fill = start(rig, rig.spec());
  ASSERT_TRUE(fill);
  auto got = read_all(*fill);
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(*got, rig.source.body);
  EXPECT_EQ(rig.source.fetches.load(), 3);
  EXPECT_EQ(rig.source.offsets, (std::vector<std::uint64_t>{0, 30000, 60000}));
  EXPECT_EQ(rig.metrics.fill_resumes.load(), 2u);
  EXPECT_EQ(rig.metrics.bytes_from_upstream.load(), 100000u);  // no byte fetched twice
  for (int i = 0; i < 500 && rig.registry->in_flight() > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  EXPECT_TRUE(rig.cache->contains(rig.spec().key));
}

TEST(Fill, GivesUpAfterMaxAttempts) {
  FillOptions opt;
  opt.max_attempts = 3;
  Rig rig(pattern(10000), opt);
  rig.source.truncations = 100;
  rig.source.cut_at = 1000;
  auto fill = start(rig, rig.spec());
  ASSERT_TRUE(fill);
  auto st = fill->wait_beyond(1u << 30, std::chrono::seconds(10));
  ASSERT_EQ(st.state, FillState::failed);
  EXPECT_EQ(rig.source.fetches.load(), 3);
  EXPECT_NE(st.error->message.find("giving up after 3 attempts"), std::string::npos) << st.error->message;
  EXPECT_EQ(st.available, 3000u);  // readers saw a prefix, then the failure
  EXPECT_EQ(rig.temporaries(), 0u);
}

TEST(Fill, PermanentErrorIsNotRetried) {
  Rig rig(pattern(10000));
  rig.source.fail_always = true;
  rig.source.fail_with = Errc::not_found;
  auto fill = start(rig, rig.spec());
  ASSERT_TRUE(fill);
  auto st = fill->wait_beyond(1u << 30, std::chrono::seconds(10));
  ASSERT_EQ(st.state, FillState::failed);
  EXPECT_EQ(st.error->code, Errc::not_found);
  EXPECT_EQ(rig.source.fetches.load(), 1);
}

TEST(Fill, GitSha1KeyIsVerified) {
  Rig rig("{\"model_type\": \"bert\"}\n");
  FillSpec spec{*ContentKey::make(ContentKey::Algo::git_sha1, crypto::git_blob_sha1_hex(rig.source.body)),
                rig.source.body.size(), "mem://config.json", {}};
  auto fill = start(rig, spec);
  ASSERT_TRUE(fill);
  auto got = read_all(*fill);
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(*got, rig.source.body);
  // A wrong sha1 is a mismatch.
  Rig rig2("hello\n");
  FillSpec bad{*ContentKey::make(ContentKey::Algo::git_sha1, std::string(40, '0')), 6, "mem://x", {}};
  auto f2 = start(rig2, bad);
  ASSERT_TRUE(f2);
  auto st = f2->wait_beyond(1u << 30, std::chrono::seconds(10));
  EXPECT_EQ(st.state, FillState::failed);
}

TEST(Fill, EmptyFile) {
  Rig rig("");
  auto fill = start(rig, rig.spec());
  ASSERT_TRUE(fill);
  auto st = fill->wait_beyond(0, std::chrono::seconds(10));
  for (int i = 0; i < 500 && st.state == FillState::running; ++i) st = fill->wait_beyond(0, std::chrono::milliseconds(10));
  EXPECT_EQ(st.state, FillState::complete);
  EXPECT_TRUE(rig.cache->contains(rig.spec().key));
}

TEST(Fill, RegistryShutdownCancelsRunningFills) {
  auto rig = std::make_unique<Rig>(pattern(100000));
  rig->source.gated = true;
  auto fill = start(*rig, rig->spec());
  ASSERT_TRUE(fill);
  rig->registry.reset();  // must not hang: cancels and joins
  EXPECT_EQ(fill->status().state, FillState::failed);
  EXPECT_FALSE(rig->cache->contains(rig->spec().key));
  EXPECT_EQ(rig->temporaries(), 0u);
}

TEST(Fill, RefusesOversizedDeclarations) {
  FillOptions opt;
  opt.max_file_size = 100;
  Rig rig(pattern(1000), opt);
  auto a = rig.registry->acquire(rig.spec());
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().code, Errc::limit_exceeded);
}
