#include "upstream/edge.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <thread>

#include "test_util.hpp"

using namespace hubgate;
using namespace hubgate::upstream;
using namespace hubgate::upstream::testing;

TEST(SplitRemoteRev, FirstSegmentOrEncodedOrRefsPrefix) {
  auto a = split_remote_rev("main/sub/file.bin");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->first, "main");
  EXPECT_EQ(a->second, "sub/file.bin");
  auto b = split_remote_rev("refs%2Fpr%2F1/config.json");  // huggingface_hub quotes with safe=""
  ASSERT_TRUE(b);
  EXPECT_EQ(b->first, "refs/pr/1");
  EXPECT_EQ(b->second, "config.json");
  auto c = split_remote_rev("refs/pr/7/a%20b.txt");  // raw form (HJ listFiles)
  ASSERT_TRUE(c);
  EXPECT_EQ(c->first, "refs/pr/7");
  EXPECT_EQ(c->second, "a b.txt");
  auto d = split_remote_rev("v1.0");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->first, "v1.0");
  EXPECT_EQ(d->second, "");
  EXPECT_FALSE(split_remote_rev("/x"));
  EXPECT_FALSE(split_remote_rev("main/%zz"));
}

namespace {
// Pulls a producer to the end, like the server does (one pull in flight at a time).
Result<std::string> drain(http::BodyProducer& p) {
  std::string out;
  for (int i = 0; i < 100000; ++i) {
    std::mutex mu;
    std::condition_variable cv;
    std::optional<http::Chunk> got;
    p.pull([&](http::Chunk c) {
      std::lock_guard l(mu);
      got = std::move(c);
      cv.notify_all();
    });
    std::unique_lock l(mu);
    if (!cv.wait_for(l, std::chrono::seconds(10), [&] { return got.has_value(); }))
      return fail(Errc::internal, "pull timed out");
    if (got->error) return fail(*got->error);
    out += got->data;
    if (got->file) {  // a slice of the fill's file, as the server would sendfile it
      std::string part(static_cast<std::size_t>(got->file->length), '\0');
      ssize_t n = ::pread(got->file->file->fd(), part.data(), part.size(), static_cast<off_t>(got->file->offset));
      if (n != static_cast<ssize_t>(part.size())) return fail(Errc::io, "short pread of a produced file slice");
      out += part;
    }
    if (got->end) return out;
  }
  return fail(Errc::internal, "no end");
}
}  // namespace

TEST(FillProducer, StreamsWholeBodyAndRangesWhileFilling) {
  TempDir dir;
  auto cache = std::move(*DiskBlobCache::open_dir({dir.str(), 0}));
  MemorySource src;
  src.body = pattern(200000, 5);
  src.gated = true;
  FillRegistry reg(*cache, src);
  FillSpec spec{sha_key(src.body), src.body.size(), "mem://x", {}};
  auto a = reg.acquire(spec);
  ASSERT_TRUE(a && a->fill);
  auto whole = make_fill_producer(a->fill, 0, spec.size, nullptr);
  auto range = make_fill_producer(a->fill, 1000, 5000, nullptr);
  std::thread release([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    src.release();
  });
  auto r = drain(*range);
  auto w = drain(*whole);
  release.join();
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_TRUE(w) << w.error().message;
  EXPECT_EQ(*r, src.body.substr(1000, 5000));
  EXPECT_EQ(*w, src.body);
}

TEST(FillProducer, FailedFillEndsTheBodyWithAnError) {
  TempDir dir;
  auto cache = std::move(*DiskBlobCache::open_dir({dir.str(), 0}));
  MemorySource src;
  src.body = pattern(50000, 6);
  src.corrupt = true;
  FillRegistry reg(*cache, src);
  FillSpec spec{sha_key(src.body), src.body.size(), "mem://x", {}};
  auto a = reg.acquire(spec);
  ASSERT_TRUE(a && a->fill);
  auto p = make_fill_producer(a->fill, 0, spec.size, nullptr);
  auto w = drain(*p);
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().code, Errc::corrupt);
}
