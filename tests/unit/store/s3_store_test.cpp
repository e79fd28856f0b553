// S3Client and S3Store against a real SeaweedFS (the ctest fixture `services`): the BlobStore
// contract, SigV4 really checked (wrong credentials refused), multipart uploads, ranged GETs,
// create-if-absent, keys and queries that need encoding, a store that is down, the node cache
// (wiped, bounded, single-flight) and a corrupt object in the store.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <future>
#include <thread>

#include "blob_contract.hpp"
#include "services_env.hpp"
#include "store/s3_store.hpp"

using namespace hubgate;
using namespace hubgate::store;

namespace {

std::string scratch_dir(const std::string& tag) {
  auto p = std::filesystem::temp_directory_path() / ("hubgate-s3-" + tag + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p.string();
}

std::string pattern(std::size_t n, unsigned seed) {
  std::string s(n, '\0');
  std::uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (std::size_t i = 0; i < n; ++i) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    s[i] = char(x);
  }
  return s;
}

}  // namespace

TEST(S3StoreContract, SeaweedFS) {
  auto cfg = store::testing::services_s3("contract");
  auto client = std::make_shared<S3Client>(cfg);
  std::string dir = scratch_dir("contract");
  auto s = S3Store::open(client, {dir + "/cache", nullptr});
  ASSERT_TRUE(s) << s.error().message;
  // 13 MiB: above the 6 MiB threshold, three parts of 5 MiB.
  store::testing::blob_store_contract(**s, (*s)->tmp_dir(), 13u << 20);
  auto c = client->counters();
  EXPECT_EQ(c.multipart_uploads, 1u);
  EXPECT_EQ(c.parts, 3u);
  std::filesystem::remove_all(dir);
}

TEST(S3Client, WrongCredentialsAreRefused) {
  auto cfg = store::testing::services_s3("creds");
  S3Client good(cfg);
  ASSERT_TRUE(good.put_if_absent("k", "v"));
  for (int variant = 0; variant < 2; ++variant) {
    auto bad_cfg = cfg;
    if (variant == 0) bad_cfg.secret_key += "x";  // right key id, wrong secret: the signature fails
    else bad_cfg.access_key = "nobody";           // unknown key id
    S3Client bad(bad_cfg);
    auto h = bad.head("k");
    ASSERT_FALSE(h);
    EXPECT_EQ(h.error().code, Errc::permission_denied) << h.error().message;
    auto g = bad.get_bytes("k");
    ASSERT_FALSE(g);
    EXPECT_EQ(g.error().code, Errc::permission_denied) << g.error().message;
    auto p = bad.put_if_absent("other", "data");
    ASSERT_FALSE(p);
    EXPECT_EQ(p.error().code, Errc::permission_denied) << p.error().message;
  }
  EXPECT_FALSE(*good.head("other"));  // nothing was written by the refused client
  EXPECT_EQ(*good.get_bytes("k"), "v");
}

TEST(S3Client, RangesConditionalWritesAndEncoding) {
  auto cfg = store::testing::services_s3("ops");
  S3Client c(cfg);
  std::string data = pattern(100000, 1);
  EXPECT_TRUE(*c.put_if_absent("obj", data));
  EXPECT_FALSE(*c.put_if_absent("obj", data));  // create-if-absent
  EXPECT_EQ(*c.get_bytes("obj", 1000, 5000), data.substr(1000, 5000));
  EXPECT_EQ(*c.get_bytes("obj", 99999, 1), data.substr(99999));
  auto past = c.get_bytes("obj", 100000, 10);
  ASSERT_FALSE(past);
  EXPECT_EQ(past.error().code, Errc::invalid_argument) << past.error().message;
  auto straddle = c.get_bytes("obj", 99990, 20);  // S3 clamps to 10 bytes: refused, not short
  ASSERT_FALSE(straddle);
  EXPECT_EQ(straddle.error().code, Errc::invalid_argument) << straddle.error().message;
  EXPECT_EQ(c.get_bytes("absent").error().code, Errc::not_found);
  auto probe = c.probe();
  ASSERT_TRUE(probe) << probe.error().message;
  EXPECT_TRUE(probe->conditional);  // SeaweedFS >= 4.18 answers 412 to the second write

  // Keys with characters that SigV4 encodes, and a listing whose prefix needs encoding.
  std::vector<std::string> odd = {"odd dir/a b+c=d&e", "odd dir/ä%2F~x", "odd dir/(1)!*'"};
  for (auto& k : odd) {
    auto p = c.put_if_absent(k, "value of " + k);
    ASSERT_TRUE(p) << k << ": " << p.error().message;
    EXPECT_EQ(*c.get_bytes(k), "value of " + k);
    EXPECT_EQ(**c.head(k), ("value of " + k).size());
  }
  auto listed = c.list("odd dir/");
  ASSERT_TRUE(listed) << listed.error().message;
  std::vector<std::string> keys;
  for (auto& o : *listed) keys.push_back(o.key);
  std::sort(keys.begin(), keys.end());
  auto want = odd;
  std::sort(want.begin(), want.end());
  EXPECT_EQ(keys, want);
  for (auto& k : odd) ASSERT_TRUE(c.remove(k));
  EXPECT_TRUE(c.list("odd dir/")->empty());
}

TEST(S3Client, ListingPagesThroughContinuationTokens) {
  auto cfg = store::testing::services_s3("pages");
  S3Client c(cfg);
  // SeaweedFS pages at 1000 keys: 1003 keys need two pages.
  std::vector<std::thread> ts;
  for (int t = 0; t < 8; ++t)
    ts.emplace_back([&, t] {
      for (int i = t; i < 1003; i += 8) ASSERT_TRUE(c.put_if_absent("many/" + std::to_string(i), "x"));
    });
  for (auto& t : ts) t.join();
  auto l = c.list("many/");
  ASSERT_TRUE(l) << l.error().message;
  EXPECT_EQ(l->size(), 1003u);
}

TEST(S3Client, StoreDownIsUnavailable) {
  auto cfg = store::testing::services_s3("down");
  cfg.endpoint = "http://127.0.0.1:1";  // nothing listens there
  cfg.max_attempts = 3;
  cfg.backoff_base = std::chrono::milliseconds(1);
  S3Client c(cfg);
  auto h = c.head("k");
  ASSERT_FALSE(h);
  EXPECT_EQ(h.error().code, Errc::unavailable) << h.error().message;
  EXPECT_EQ(c.counters().retries, 2u);
  std::string dir = scratch_dir("down");
  auto s = S3Store::open(std::make_shared<S3Client>(cfg), {dir + "/cache", nullptr});
  ASSERT_TRUE(s);
  auto p = (*s)->put("data");
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().code, Errc::unavailable);
  EXPECT_TRUE((*s)->local().list()->empty());  // nothing visible after a failed put
  std::filesystem::remove_all(dir);
}

TEST(S3Store, WipedCacheLosesNothingAndMissesAreSingleFlight) {
  auto cfg = store::testing::services_s3("cache");
  auto client = std::make_shared<S3Client>(cfg);
  std::string dir = scratch_dir("cache");
  std::string data = pattern(3u << 20, 2);
  std::string d;
  {
    auto s = S3Store::open(client, {dir + "/cache", nullptr});
    ASSERT_TRUE(s);
    d = *(*s)->put(data);
  }
  std::filesystem::remove_all(dir + "/cache");  // the node's disk is wiped
  auto s = S3Store::open(client, {dir + "/cache", nullptr});
  ASSERT_TRUE(s);
  auto before = client->counters().bytes_down;
  std::vector<std::thread> ts;
  std::vector<std::string> got(8);
  for (int i = 0; i < 8; ++i)
    ts.emplace_back([&, i] {
      auto b = (*s)->open(d);
      if (b) got[i] = *read_file(b->path);
    });
  for (auto& t : ts) t.join();
  for (auto& g : got) EXPECT_TRUE(g == data);
  EXPECT_EQ((*s)->stats().misses, 1u);                            // one GET for 8 readers
  EXPECT_EQ(client->counters().bytes_down - before, data.size());  // exactly one copy transferred
  auto again = (*s)->open(d);
  ASSERT_TRUE(again);
  EXPECT_EQ((*s)->stats().misses, 1u);  // now a local hit
  std::filesystem::remove_all(dir);
}

TEST(S3Store, CacheIsBoundedLeastRecentlyUsedFirst) {
  auto cfg = store::testing::services_s3("lru");
  auto client = std::make_shared<S3Client>(cfg);
  std::string dir = scratch_dir("lru");
  auto budget = std::make_shared<NodeCache>(std::uint64_t(250000));
  auto s = S3Store::open(client, {dir + "/cache", budget});
  ASSERT_TRUE(s);
  std::string a = pattern(100000, 3), b = pattern(100000, 4), c = pattern(100000, 5);
  std::string da = *(*s)->put(a);
  std::string db = *(*s)->put(b);
  ASSERT_TRUE((*s)->open(da));  // a is now more recent than b
  std::string dc = *(*s)->put(c);
  EXPECT_LE(budget->bytes(), 250000u);
  EXPECT_TRUE(*(*s)->local().stat(da));
  EXPECT_FALSE(*(*s)->local().stat(db));  // the least recently used copy went
  EXPECT_TRUE(*(*s)->local().stat(dc));
  auto bb = (*s)->open(db);  // still served: fetched again from the object store
  ASSERT_TRUE(bb);
  EXPECT_TRUE(*read_file(bb->path) == b);
  EXPECT_EQ(budget->evictions(), 2u);  // b, then a (to make room for b again)
  std::filesystem::remove_all(dir);
}

TEST(S3Store, CorruptObjectIsNeverServed) {
  auto cfg = store::testing::services_s3("corrupt");
  auto client = std::make_shared<S3Client>(cfg);
  std::string dir = scratch_dir("corrupt");
  auto s = S3Store::open(client, {dir + "/cache", nullptr});
  ASSERT_TRUE(s);
  std::string claimed = crypto::sha256_hex("the real content");
  ASSERT_TRUE(client->put_if_absent(S3Store::key_of(claimed), "tampered content"));
  auto b = (*s)->open(claimed);
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().code, Errc::corrupt);
  EXPECT_FALSE(*(*s)->local().stat(claimed));
  std::filesystem::remove_all(dir);
}

namespace {
// Reads a Filling to its end as it grows; returns the bytes, or the error it ended with.
Result<std::string> follow(Filling& f, std::uint64_t* max_seen) {
  std::string got;
  std::uint64_t have = 0;
  for (;;) {
    auto av = f.available();
    if (!av) return fail(av.error());
    *max_seen = std::max(*max_seen, *av);
    if (*av > have) {
      std::string buf(*av - have, '\0');
      EXPECT_EQ(::pread(f.fd(), buf.data(), buf.size(), off_t(have)), ssize_t(buf.size()));
      got += buf;
      have = *av;
      if (have == f.size()) return got;
      continue;
    }
    std::promise<void> p;
    f.on_progress(have, [&p] { p.set_value(); });
    p.get_future().wait();
  }
}
}  // namespace

TEST(S3Store, MissStreamsWhileCopyingAndVerifiesBeforeTheLastByte) {
  auto cfg = store::testing::services_s3("filling");
  auto client = std::make_shared<S3Client>(cfg);
  std::string dir = scratch_dir("filling");
  std::string data = pattern(5u << 20, 6);
  std::string d;
  {
    auto s = S3Store::open(client, {dir + "/cache", nullptr});
    ASSERT_TRUE(s);
    d = *(*s)->put(data);
    EXPECT_FALSE(*(*s)->filling(d));  // a local copy: nothing to stream, open() it
  }
  std::filesystem::remove_all(dir + "/cache");
  auto s = S3Store::open(client, {dir + "/cache", nullptr});
  ASSERT_TRUE(s);
  auto f = (*s)->filling(d);
  ASSERT_TRUE(f) << f.error().message;
  ASSERT_TRUE(*f);
  EXPECT_EQ((*f)->size(), data.size());
  auto opened = (*s)->open(d);  // joins the same copy and waits for it
  ASSERT_TRUE(opened);
  std::uint64_t max_seen = 0;
  auto got = follow(**f, &max_seen);
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_TRUE(*got == data);
  EXPECT_EQ((*s)->stats().misses, 1u);
  EXPECT_TRUE(*(*s)->local().stat(d));
  EXPECT_EQ((*s)->filling(std::string(64, 'a')).error().code, Errc::not_found);

  // A tampered object: readers never get its last byte, and the copy ends in Errc::corrupt.
  std::string claimed = crypto::sha256_hex("the real content");
  ASSERT_TRUE(client->put_if_absent(S3Store::key_of(claimed), "tampered content"));
  auto bad = (*s)->filling(claimed);
  ASSERT_TRUE(bad && *bad);
  std::uint64_t bad_seen = 0;
  auto r = follow(**bad, &bad_seen);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::corrupt);
  EXPECT_LT(bad_seen, (*bad)->size());
  EXPECT_FALSE(*(*s)->local().stat(claimed));
  std::filesystem::remove_all(dir);
}
