// The security gate's hooks in fills (FillGate in upstream/fill.hpp): held formats release no
// byte before the verdict, streamed ones everything but the last byte, a blocked fill is
// discarded and never published, and the early classifier sees growing prefixes up to its cap.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <future>
#include <thread>

#include "test_util.hpp"
#include "upstream/fill.hpp"

using namespace hubgate;
using namespace hubgate::upstream;
using namespace hubgate::upstream::testing;
namespace fs = std::filesystem;

namespace {

struct GateRig {
  TempDir dir;
  Metrics metrics;
  std::unique_ptr<DiskBlobCache> cache;
  MemorySource source;
  std::unique_ptr<FillRegistry> registry;
  GateRig(std::string body, FillGate gate) {
    cache = std::move(*DiskBlobCache::open_dir({dir.str(), 0}, &metrics));
    source.body = std::move(body);
    FillOptions opt;
    opt.retry_backoff = std::chrono::milliseconds(1);
    opt.gate = std::move(gate);
    registry = std::make_unique<FillRegistry>(*cache, source, &metrics, opt);
  }
  FillSpec spec() const {
    FillSpec s;
    s.key = sha_key(source.body);
    s.size = source.body.size();
    s.url = "mem://x";
    s.origin.repo = "org/model";
    s.origin.path = "model.bin";
    return s;
  }
  std::size_t temporaries() const {
    std::size_t n = 0;
    for (auto& e : fs::recursive_directory_iterator(dir.path))
      if (e.path().filename().string().find(".tmp.") != std::string::npos) n++;
    return n;
  }
};

// A before_publish hook that reports `available` at the verdict and waits for the test.
struct Verdict {
  std::promise<std::uint64_t> seen;
  std::promise<bool> allow;
  std::shared_future<bool> allow_f = allow.get_future().share();
  std::atomic<Fill*> fill{nullptr};
  std::string temp_path, origin_repo;
};

FillGate gate_with(Verdict& v, EarlyRelease mode) {
  FillGate g;
  g.early = [mode](ByteView, std::uint64_t) { return mode; };
  g.before_publish = [&v](const FillSpec& spec, const std::string& temp) -> Result<void> {
    v.temp_path = temp;
    v.origin_repo = spec.origin.repo;
    while (!v.fill.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    v.seen.set_value(v.fill.load()->status().available);
    if (!v.allow_f.get()) return fail(Errc::permission_denied, "blocked by security policy: dangerous content");
    return {};
  };
  return g;
}

}  // namespace

TEST(FillGate, HeldFormatReleasesNothingBeforeTheVerdict) {
  Verdict v;
  GateRig rig(pattern(300000), gate_with(v, EarlyRelease::hold));
  auto a = rig.registry->acquire(rig.spec());
  ASSERT_TRUE(a && a->fill);
  v.fill = a->fill.get();
  auto seen = v.seen.get_future();
  EXPECT_EQ(seen.get(), 0u);  // whole body transferred and verified, nothing readable yet
  EXPECT_EQ(v.origin_repo, "org/model");
  EXPECT_TRUE(fs::exists(v.temp_path));  // the private temp file is what gets scanned
  char b;
  EXPECT_EQ(*a->fill->pread(&b, 1, 0), 0u);
  v.allow.set_value(true);
  auto got = read_all(*a->fill);
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(*got, rig.source.body);
  for (int i = 0; i < 500 && a->fill->status().state == FillState::running; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(a->fill->status().state, FillState::complete);
  EXPECT_TRUE(rig.cache->contains(rig.spec().key));
}

TEST(FillGate, StreamedFormatReleasesAllButTheLastByte) {
  Verdict v;
  GateRig rig(pattern(300000), gate_with(v, EarlyRelease::stream));
  auto a = rig.registry->acquire(rig.spec());
  ASSERT_TRUE(a && a->fill);
  v.fill = a->fill.get();
  EXPECT_EQ(v.seen.get_future().get(), 300000u - 1);
  v.allow.set_value(true);
  auto got = read_all(*a->fill);
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, rig.source.body);
}

TEST(FillGate, BlockedFillIsDiscardedAndNeverPublished) {
  Verdict v;
  GateRig rig(pattern(50000), gate_with(v, EarlyRelease::hold));
  auto a = rig.registry->acquire(rig.spec());
  ASSERT_TRUE(a && a->fill);
  v.fill = a->fill.get();
  v.allow.set_value(false);
  auto got = read_all(*a->fill);
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, Errc::permission_denied);
  EXPECT_NE(got.error().message.find("blocked by security policy"), std::string::npos);
  EXPECT_FALSE(rig.cache->contains(rig.spec().key));
  for (int i = 0; i < 500 && rig.temporaries() > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(rig.temporaries(), 0u);
  EXPECT_EQ(rig.metrics.fills_failed.load(), 1u);
  EXPECT_EQ(rig.registry->in_flight(), 0u);
}

TEST(FillGate, ClassifierSeesGrowingPrefixesUpToItsCap) {
  std::vector<std::size_t> sizes;
  std::mutex mu;
  FillGate g;
  g.max_prefix = 10000;
  g.early = [&](ByteView prefix, std::uint64_t total) {
    std::lock_guard l(mu);
    sizes.push_back(prefix.size());
    EXPECT_EQ(total, 100000u);
    return EarlyRelease::need_more;  // never decides: the cap turns it into hold
  };
  std::atomic<std::uint64_t> at_verdict{12345};
  std::atomic<Fill*> fill{nullptr};
  g.before_publish = [&](const FillSpec&, const std::string&) -> Result<void> {
    while (!fill.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    at_verdict = fill.load()->status().available;
    return {};
  };
  GateRig rig(pattern(100000), std::move(g));
  rig.source.chunk = 4096;
  auto a = rig.registry->acquire(rig.spec());
  ASSERT_TRUE(a && a->fill);
  fill = a->fill.get();
  auto got = read_all(*a->fill);
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, rig.source.body);
  EXPECT_EQ(at_verdict.load(), 0u);
  std::lock_guard l(mu);
  EXPECT_EQ(sizes, (std::vector<std::size_t>{4096, 8192, 10000}));
}

TEST(FillGate, EarlyVerdictRefusesAHeldFileBeforeItsEnd) {
  std::vector<std::size_t> sizes;
  std::mutex mu;
  std::string tail_seen;
  FillGate g;
  g.early = [](ByteView, std::uint64_t) { return EarlyRelease::hold; };
  g.verdict_min_size = 1000;
  g.verdict_early = [&](const FillSpec& spec, ByteView prefix, bool last, const RangeRead& read) {
    std::lock_guard l(mu);
    sizes.push_back(prefix.size());
    EXPECT_FALSE(last);
    if (tail_seen.empty()) {  // a range read from upstream, e.g. a zip's directory
      auto t = read(spec.size - 100, 100);
      EXPECT_TRUE(t) << t.error().message;
      if (t) tail_seen = *t;
    }
    EarlyVerdict v;
    v.state = prefix.size() >= (64u << 10) ? EarlyVerdict::State::block : EarlyVerdict::State::need_more;
    v.message = "blocked by security policy: dangerous content: pickle.dangerous-global os.system";
    return v;
  };
  std::atomic<int> publishes{0};
  g.before_publish = [&](const FillSpec&, const std::string&) -> Result<void> {
    publishes++;
    return {};
  };
  GateRig rig(pattern(4u << 20), std::move(g));
  rig.source.chunk = 16384;
  auto a = rig.registry->acquire(rig.spec());
  ASSERT_TRUE(a && a->fill);
  auto got = read_all(*a->fill);
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, Errc::permission_denied);
  EXPECT_NE(got.error().message.find("os.system"), std::string::npos);
  EXPECT_FALSE(a->fill->status().early);
  EXPECT_EQ(publishes.load(), 0);
  EXPECT_FALSE(rig.cache->contains(rig.spec().key));
  EXPECT_EQ(tail_seen, rig.source.body.substr(rig.source.body.size() - 100));
  EXPECT_EQ(rig.source.range_reads.load(), 1);
  // Stopped at the first prefix of 64 KiB: the rest never crossed.
  EXPECT_LT(rig.metrics.bytes_from_upstream.load(), 1u << 20);
  std::lock_guard l(mu);
  EXPECT_EQ(sizes, (std::vector<std::size_t>{16384, 65536}));
}

TEST(FillGate, EarlyPhaseEndsWhenTheVerdictIsClearOrTheFileIsSmall) {
  for (std::size_t size : {std::size_t{500}, std::size_t{300000}}) {
    std::atomic<int> calls{0};
    FillGate g;
    g.early = [](ByteView, std::uint64_t) { return EarlyRelease::hold; };
    g.verdict_min_size = 1000;
    g.verdict_early = [&](const FillSpec&, ByteView, bool, const RangeRead&) {
      calls++;
      return EarlyVerdict{};  // clear
    };
    GateRig rig(pattern(size), std::move(g));
    auto a = rig.registry->acquire(rig.spec());
    ASSERT_TRUE(a && a->fill);
    auto st = a->fill->wait_early(std::chrono::seconds(10));
    EXPECT_TRUE(st.early || st.state == FillState::complete);
    auto got = read_all(*a->fill);
    ASSERT_TRUE(got);
    EXPECT_EQ(*got, rig.source.body);
    EXPECT_TRUE(a->fill->status().early);
    EXPECT_EQ(calls.load(), size > 1000 ? 1 : 0);
  }
}
