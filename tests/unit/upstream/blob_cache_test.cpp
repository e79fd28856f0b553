#include "upstream/blob_cache.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "test_util.hpp"

using namespace hubgate;
using namespace hubgate::upstream;
using namespace hubgate::upstream::testing;
namespace fs = std::filesystem;

namespace {
void put(BlobCache& cache, const std::string& body) {
  auto key = sha_key(body);
  auto f = cache.begin(key);
  ASSERT_TRUE(f) << f.error().message;
  ASSERT_TRUE(f->write(std::string_view(body)));
  ASSERT_TRUE(cache.publish(key, std::move(*f)));
}
}  // namespace

TEST(ContentKey, ValidatesHex) {
  EXPECT_TRUE(ContentKey::make(ContentKey::Algo::git_sha1, std::string(40, 'a')));
  EXPECT_FALSE(ContentKey::make(ContentKey::Algo::sha256, std::string(40, 'a')));
  EXPECT_FALSE(ContentKey::make(ContentKey::Algo::sha256, std::string(63, 'a') + "g"));
  auto k = ContentKey::make(ContentKey::Algo::sha256, std::string(64, 'A'));
  ASSERT_TRUE(k);
  EXPECT_EQ(k->hex, std::string(64, 'a'));
}

TEST(DiskBlobCache, PublishOpenRead) {
  TempDir dir;
  Metrics m;
  auto cache = DiskBlobCache::open_dir({dir.str() + "/blobs", 0}, &m);
  ASSERT_TRUE(cache);
  std::string body = pattern(10000);
  put(**cache, body);
  auto h = (*cache)->open(sha_key(body));
  ASSERT_TRUE(h);
  EXPECT_EQ(h->size(), body.size());
  EXPECT_EQ(read_fd_all(h->fd(), h->size()), body);
  EXPECT_EQ(m.cache_bytes.load(), body.size());
  EXPECT_EQ(m.cache_entries.load(), 1u);
  EXPECT_FALSE((*cache)->open(sha_key("other")));
}

TEST(DiskBlobCache, EvictsLeastRecentlyUsed) {
  TempDir dir;
  Metrics m;
  auto cache = DiskBlobCache::open_dir({dir.str(), 2500}, &m);
  ASSERT_TRUE(cache);
  std::string a = pattern(1000, 1), b = pattern(1000, 2), c = pattern(1000, 3);
  put(**cache, a);
  put(**cache, b);
  { ASSERT_TRUE((*cache)->open(sha_key(a))); }  // a becomes most recently used; b is LRU
  put(**cache, c);                              // 3000 > 2500: evict b
  EXPECT_TRUE((*cache)->contains(sha_key(a)));
  EXPECT_FALSE((*cache)->contains(sha_key(b)));
  EXPECT_TRUE((*cache)->contains(sha_key(c)));
  EXPECT_FALSE(fs::exists((*cache)->path_of(sha_key(b))));
  auto st = (*cache)->stats();
  EXPECT_EQ(st.bytes, 2000u);
  EXPECT_EQ(st.evictions, 1u);
  EXPECT_EQ(m.evictions.load(), 1u);
  EXPECT_EQ(m.evicted_bytes.load(), 1000u);
}

TEST(DiskBlobCache, PinnedEntriesAreNeverEvicted) {
  TempDir dir;
  auto cache = DiskBlobCache::open_dir({dir.str(), 1500});
  ASSERT_TRUE(cache);
  std::string a = pattern(1000, 1), b = pattern(1000, 2), c = pattern(1000, 3);
  put(**cache, a);
  auto pin = (*cache)->open(sha_key(a));  // a is being served
  ASSERT_TRUE(pin);
  put(**cache, b);  // over budget, a pinned, b newest: nothing evictable except... b is front
  EXPECT_TRUE((*cache)->contains(sha_key(a)));
  put(**cache, c);  // b is now evictable (LRU among unpinned), a still pinned
  EXPECT_TRUE((*cache)->contains(sha_key(a)));
  EXPECT_FALSE((*cache)->contains(sha_key(b)));
  EXPECT_TRUE((*cache)->contains(sha_key(c)));
  EXPECT_EQ(read_fd_all(pin->fd(), pin->size()), a);
  pin.reset();
  put(**cache, pattern(10, 9));  // a unpinned and LRU now: evicted
  EXPECT_FALSE((*cache)->contains(sha_key(a)));
}

TEST(DiskBlobCache, ReopenIndexesEntriesAndDropsTemporaries) {
  TempDir dir;
  std::string body = pattern(777);
  std::string tmp_path;
  {
    auto cache = DiskBlobCache::open_dir({dir.str(), 0});
    ASSERT_TRUE(cache);
    put(**cache, body);
    // A fill interrupted by a crash leaves its temporary behind.
    auto f = (*cache)->begin(sha_key("partial"));
    ASSERT_TRUE(f);
    ASSERT_TRUE(f->write(std::string_view("par")));
    tmp_path = f->temp_path();
    ::close(::dup(f->fd()));
    // Simulate the crash: the temporary survives the object.
    std::filesystem::copy_file(tmp_path, tmp_path + "x");
    std::filesystem::rename(tmp_path + "x", (*cache)->path_of(sha_key("partial")) + ".tmp.crashed");
  }
  auto cache = DiskBlobCache::open_dir({dir.str(), 0});
  ASSERT_TRUE(cache);
  EXPECT_TRUE((*cache)->contains(sha_key(body)));
  EXPECT_FALSE((*cache)->contains(sha_key("partial")));
  EXPECT_EQ((*cache)->stats().entries, 1u);
  EXPECT_EQ((*cache)->stats().bytes, 777u);
  EXPECT_FALSE(fs::exists((*cache)->path_of(sha_key("partial")) + ".tmp.crashed"));
}
