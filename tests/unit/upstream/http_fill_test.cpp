// The client and the fill engine against tests/upstream/fake_upstream.py over real HTTP:
// CDN redirects, truncation + resume, ignored ranges, stalls, corruption, 5xx and 429.
#include <gtest/gtest.h>

#include <thread>

#include "fake_upstream.hpp"
#include "upstream/fill.hpp"

using namespace hubgate;
using namespace hubgate::upstream;
using namespace hubgate::upstream::testing;
using nlohmann::json;

namespace {

FakeUpstream* g_up = nullptr;
const std::string kBig = "model.bin";

class HttpFill : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { g_up = new FakeUpstream(1 << 20); }
  static void TearDownTestSuite() {
    delete g_up;
    g_up = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(g_up->ok()) << "fake upstream did not start";
    ASSERT_EQ(pattern_body().size(), 1u << 20);  // fetched before the counters are reset
    g_up->reset();
    ClientOptions co;
    co.stall_timeout = std::chrono::milliseconds(500);
    co.max_retry_wait = std::chrono::milliseconds(1500);
    client = std::make_unique<Client>(co, &metrics);
    source = std::make_unique<HttpByteSource>(*client);
    cache = std::move(*DiskBlobCache::open_dir({dir.str(), 0}, &metrics));
    FillOptions fo;
    fo.retry_backoff = std::chrono::milliseconds(10);
    registry = std::make_unique<FillRegistry>(*cache, *source, &metrics, fo);
  }
  FillSpec big_spec() {
    std::string body = pattern_body();
    return FillSpec{sha_key(body), body.size(), g_up->url() + "/org/model/resolve/main/" + kBig,
                    {{"Authorization", "Bearer secret"}}};
  }
  // The fake's deterministic 1 MiB body, fetched once through a plain client.
  std::string pattern_body() {
    static std::string body;
    if (body.empty()) {
      Client c;
      HttpRequest r;
      r.url = g_up->url() + "/org/model/resolve/main/" + kBig;
      auto resp = c.send(r);
      if (resp) body = resp->body;
    }
    return body;
  }
  Result<std::string> fill_and_read(const FillSpec& spec) {
    auto a = registry->acquire(spec);
    if (!a) return fail(a.error());
    if (!a->fill) return fail(Errc::internal, "unexpected cache hit");
    return read_all(*a->fill);
  }

  TempDir dir;
  Metrics metrics;
  std::unique_ptr<Client> client;
  std::unique_ptr<HttpByteSource> source;
  std::unique_ptr<DiskBlobCache> cache;
  std::unique_ptr<FillRegistry> registry;
};

}  // namespace

TEST_F(HttpFill, FollowsCdnRedirectWithoutLeakingAuthorization) {
  auto spec = big_spec();
  ASSERT_EQ(spec.size, 1u << 20);
  auto got = fill_and_read(spec);
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(crypto::sha256_hex(*got), spec.key.hex);
  EXPECT_EQ(g_up->stats()["auth_leaks"].get<int>(), 0);
  EXPECT_EQ(g_up->body_requests(kBig), 1);
}

TEST_F(HttpFill, ConcurrentReadersShareOneUpstreamTransfer) {
  auto spec = big_spec();
  constexpr int kReaders = 16;
  std::vector<std::string> out(kReaders);
  std::vector<std::thread> ts;
  for (int i = 0; i < kReaders; ++i) {
    ts.emplace_back([&, i] {
      auto a = registry->acquire(spec);
      if (!a) return;
      if (a->cached) out[i] = read_fd_all(a->cached->fd(), a->cached->size());
      else if (auto r = read_all(*a->fill)) out[i] = *r;
    });
  }
  for (auto& t : ts) t.join();
  for (int i = 0; i < kReaders; ++i) EXPECT_EQ(crypto::sha256_hex(out[i]), spec.key.hex) << i;
  EXPECT_EQ(g_up->body_requests(kBig), 1);
  EXPECT_EQ(metrics.fills_started.load(), 1u);
}

TEST_F(HttpFill, TruncatedBodyResumesWithRange) {
  g_up->control({{"faults", {{kBig, {{"truncate_at", 300000}, {"times", 1}}}}}});
  auto spec = big_spec();
  auto got = fill_and_read(spec);
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(crypto::sha256_hex(*got), spec.key.hex);
  EXPECT_EQ(g_up->body_requests(kBig), 2);
  EXPECT_EQ(metrics.fill_resumes.load(), 1u);
  EXPECT_EQ(metrics.bytes_from_upstream.load(), 1u << 20);  // nothing fetched twice
}

TEST_F(HttpFill, ResumeWhenUpstreamIgnoresRange) {
  g_up->control({{"faults", {{kBig, {{"truncate_at", 200000}, {"times", 1}, {"ignore_range", true}}}}}});
  // The resume asks for bytes=200000-; upstream answers 200 with the whole body, whose first
  // 200000 bytes must be skipped.
  auto spec = big_spec();
  auto got = fill_and_read(spec);
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(crypto::sha256_hex(*got), spec.key.hex);
  EXPECT_EQ(g_up->body_requests(kBig), 2);
  EXPECT_EQ(metrics.bytes_from_upstream.load(), 1u << 20);  // skipped bytes are not counted twice
}

TEST_F(HttpFill, StalledTransferIsAbortedAndResumed) {
  g_up->control({{"faults", {{kBig, {{"stall_at", 100000}, {"stall_s", 3}, {"times", 1}}}}}});
  auto spec = big_spec();
  auto t0 = std::chrono::steady_clock::now();
  auto got = fill_and_read(spec);
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(crypto::sha256_hex(*got), spec.key.hex);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(2900));  // did not wait the stall out
  EXPECT_EQ(metrics.fill_resumes.load(), 1u);
}

TEST_F(HttpFill, CorruptBodyIsDiscarded) {
  g_up->control({{"faults", {{kBig, {{"corrupt", true}, {"times", 1}}}}}});
  auto spec = big_spec();
  auto got = fill_and_read(spec);
  ASSERT_FALSE(got);
  EXPECT_NE(got.error().message.find("hash mismatch"), std::string::npos) << got.error().message;
  for (int i = 0; i < 500 && registry->in_flight() > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  EXPECT_FALSE(cache->contains(spec.key));
  // The next request starts a fresh, now clean, transfer.
  auto again = fill_and_read(spec);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(g_up->body_requests(kBig), 2);
}

TEST_F(HttpFill, ServerErrorIsRetried) {
  g_up->control({{"faults", {{kBig, {{"status", 503}, {"times", 2}}}}}});
  auto spec = big_spec();
  auto got = fill_and_read(spec);
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(metrics.fill_resumes.load(), 2u);
}

TEST_F(HttpFill, NotFoundIsFinal) {
  auto spec = big_spec();
  spec.url = g_up->url() + "/org/model/resolve/main/missing.bin";
  auto got = fill_and_read(spec);
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, Errc::not_found);
}

TEST_F(HttpFill, RateLimitHonoursRetryAfter) {
  g_up->control({{"faults", {{kBig, {{"status", 429}, {"retry_after", 1}, {"times", 1}}}}}});
  auto spec = big_spec();
  auto t0 = std::chrono::steady_clock::now();
  auto got = fill_and_read(spec);
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(900));  // waited Retry-After
  EXPECT_EQ(metrics.fill_resumes.load(), 0u);  // the client retried the 429 itself
}

TEST_F(HttpFill, LongRetryAfterFailsFastWhileBackingOff) {
  g_up->control({{"faults", {{"model.bin", {{"status", 429}, {"retry_after", 60}}}}}});
  HttpRequest r;
  r.url = big_spec().url;
  auto first = client->send(r);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 429);
  EXPECT_GT(client->backoff_left_ms(), 50000);
  int before = g_up->stats()["bytes_sent"].get<int>();
  auto second = client->send(r);  // not sent at all
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, Errc::unavailable);
  EXPECT_EQ(g_up->stats()["bytes_sent"].get<int>(), before);
}
