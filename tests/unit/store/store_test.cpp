#include <gtest/gtest.h>
#include <unistd.h>

#include <fcntl.h>

#include <algorithm>
#include <filesystem>

#include "crypto/sha.hpp"
#include "store/store.hpp"
#include "util/atomic_file.hpp"

using namespace hubgate;
using namespace hubgate::store;

namespace {
std::string tmpdir(const char* tag) {
  auto p = std::filesystem::temp_directory_path() / ("hubgate-store-" + std::string(tag) + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(p);
  return p;
}

void exercise(BlobStore& s, const std::string& scratch) {
  std::string data = "hello blob";
  std::string d = crypto::sha256_hex(data);
  EXPECT_FALSE(*s.stat(d));
  EXPECT_EQ(s.open(d).error().code, Errc::not_found);
  auto put = s.put(data);
  ASSERT_TRUE(put);
  EXPECT_EQ(*put, d);
  EXPECT_EQ(**s.stat(d), data.size());
  EXPECT_EQ(*s.put(data), d);  // idempotent
  auto b = s.open(d);
  ASSERT_TRUE(b);
  std::string got = b->data ? *b->data : *read_file(b->path);
  EXPECT_EQ(got, data);

  // adopt with verification: wrong digest is refused and nothing becomes visible.
  std::string other = "other content";
  std::string f1 = scratch + "/in1";
  ASSERT_TRUE(write_file_atomic(f1, other));
  std::string wrong(64, '0');
  auto bad = s.adopt(f1, wrong, other.size(), Verify::yes);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Errc::corrupt);
  EXPECT_FALSE(*s.stat(wrong));
  ASSERT_TRUE(write_file_atomic(f1, other));
  ASSERT_TRUE(s.adopt(f1, crypto::sha256_hex(other), other.size(), Verify::yes));
  EXPECT_FALSE(std::filesystem::exists(f1));
  EXPECT_EQ(**s.stat(crypto::sha256_hex(other)), other.size());
  EXPECT_FALSE(s.stat("xyz"));  // malformed digest
}
}  // namespace

TEST(Store, Memory) {
  std::string scratch = tmpdir("mem");
  std::filesystem::create_directories(scratch);
  MemoryStore s;
  exercise(s, scratch);
  EXPECT_EQ(s.count(), 2u);
  std::filesystem::remove_all(scratch);
}

TEST(Store, DiskLayoutAndDedup) {
  std::string root = tmpdir("disk");
  auto s = DiskStore::open_at(root);
  ASSERT_TRUE(s);
  exercise(**s, (*s)->tmp_dir());
  std::string d = crypto::sha256_hex("hello blob");
  EXPECT_EQ((*s)->path_of(d), root + "/sha256/" + d.substr(0, 2) + "/" + d.substr(2, 2) + "/" + d);
  EXPECT_TRUE(std::filesystem::exists((*s)->path_of(d)));
  // No temp files left behind.
  std::size_t n = 0;
  for (auto& e : std::filesystem::recursive_directory_iterator(root))
    if (e.is_regular_file()) ++n;
  EXPECT_EQ(n, 2u);
  std::filesystem::remove_all(root);
}

TEST(Store, FaultInjection) {
  MemoryStore inner;
  FaultyStore s(inner);
  s.fail_puts = 1;
  auto p = s.put("x");
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().code, Errc::io);
  EXPECT_EQ(inner.count(), 0u);
  EXPECT_TRUE(s.put("x"));  // counter spent
  s.fail_all = true;
  EXPECT_FALSE(s.open(crypto::sha256_hex("x")));
  s.fail_all = false;
  EXPECT_TRUE(s.open(crypto::sha256_hex("x")));
}

namespace {
void exercise_remove(BlobStore& s) {
  std::string a = *s.put("first blob"), b = *s.put("second blob");
  auto listed = s.list();
  ASSERT_TRUE(listed);
  std::sort(listed->begin(), listed->end());
  std::vector<std::string> want{a, b};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(*listed, want);
  auto r = s.remove(a);
  ASSERT_TRUE(r);
  EXPECT_TRUE(*r);
  EXPECT_FALSE(*s.stat(a));
  EXPECT_EQ(s.open(a).error().code, Errc::not_found);
  EXPECT_FALSE(*s.remove(a));  // already gone
  EXPECT_EQ(**s.stat(b), std::string("second blob").size());
  EXPECT_EQ(*s.list(), std::vector<std::string>{b});
  EXPECT_FALSE(s.remove("not-a-digest"));
  EXPECT_EQ(*s.put("first blob"), a);  // can come back
  EXPECT_TRUE(*s.stat(a));
}
}  // namespace

TEST(Store, RemoveAndListMemory) {
  MemoryStore s;
  exercise_remove(s);
}

TEST(Store, RemoveAndListDiskKeepsOpenReaders) {
  std::string root = tmpdir("remove");
  auto s = DiskStore::open_at(root);
  ASSERT_TRUE(s);
  exercise_remove(**s);
  // A reader that opened the file before the removal still reads every byte.
  std::string data(1 << 20, 'z');
  std::string d = *(*s)->put(data);
  int fd = ::open((*s)->path_of(d).c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(*(*s)->remove(d));
  EXPECT_FALSE(std::filesystem::exists((*s)->path_of(d)));
  std::string got(data.size(), '\0');
  EXPECT_EQ(::pread(fd, got.data(), got.size(), 0), ssize_t(data.size()));
  ::close(fd);
  EXPECT_EQ(got, data);
  // Temp files in the fan-out folders are not listed.
  ASSERT_TRUE(write_file_atomic((*s)->path_of(d) + ".tmp.1", "x"));
  auto l = (*s)->list();
  ASSERT_TRUE(l);
  EXPECT_EQ(std::count(l->begin(), l->end(), d), 0);
  std::filesystem::remove_all(root);
}

TEST(Store, FaultInjectionRemove) {
  MemoryStore inner;
  FaultyStore s(inner);
  std::string d = *s.put("x");
  s.fail_removes = 1;
  auto r = s.remove(d);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::io);
  EXPECT_EQ(inner.count(), 1u);
  EXPECT_TRUE(*s.remove(d));
  EXPECT_EQ(inner.count(), 0u);
  s.fail_all = true;
  EXPECT_FALSE(s.list());
}

#include "blob_contract.hpp"

TEST(StoreContract, Memory) {
  std::string scratch = tmpdir("contract-mem");
  std::filesystem::create_directories(scratch);
  MemoryStore s;
  store::testing::blob_store_contract(s, scratch);
  std::filesystem::remove_all(scratch);
}

TEST(StoreContract, Disk) {
  std::string root = tmpdir("contract-disk");
  auto s = DiskStore::open_at(root);
  ASSERT_TRUE(s);
  store::testing::blob_store_contract(**s, (*s)->tmp_dir());
  std::filesystem::remove_all(root);
}
