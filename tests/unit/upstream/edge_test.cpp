#include "upstream/edge.hpp"

#include <gtest/gtest.h>

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
