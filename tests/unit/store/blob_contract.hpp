// The BlobStore contract, run against every implementation: DiskStore and MemoryStore here
// (store_tests), S3Store on a real SeaweedFS (store_s3_tests). `s` must start empty; `scratch`
// is a folder on the same file system as the store's spool (files to adopt are written there).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>

#include "crypto/sha.hpp"
#include "store/store.hpp"
#include "util/atomic_file.hpp"

namespace hubgate::store::testing {

inline std::string blob_bytes(const Blob& b) { return b.data ? *b.data : *read_file(b.path); }

// `big` bytes go through adopt(): S3Store uploads them in parts when above its threshold.
inline void blob_store_contract(BlobStore& s, const std::string& scratch, std::size_t big = 3u << 20) {
  std::string data = "hello blob";
  std::string d = crypto::sha256_hex(data);
  ASSERT_TRUE(s.stat(d));
  EXPECT_FALSE(*s.stat(d));
  EXPECT_EQ(s.open(d).error().code, Errc::not_found);
  auto put = s.put(data);
  ASSERT_TRUE(put) << put.error().message;
  EXPECT_EQ(*put, d);
  EXPECT_EQ(**s.stat(d), data.size());
  EXPECT_EQ(*s.put(data), d);  // idempotent
  auto b = s.open(d);
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_EQ(b->size, data.size());
  EXPECT_EQ(blob_bytes(*b), data);

  // adopt with verification: a wrong digest is refused, the file is removed, nothing visible.
  std::string other = "other content";
  std::string f1 = scratch + "/in1";
  ASSERT_TRUE(write_file_atomic(f1, other));
  std::string wrong(64, '0');
  auto bad = s.adopt(f1, wrong, other.size(), Verify::yes);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Errc::corrupt);
  EXPECT_FALSE(std::filesystem::exists(f1));
  EXPECT_FALSE(*s.stat(wrong));
  ASSERT_TRUE(write_file_atomic(f1, other));
  auto good = s.adopt(f1, crypto::sha256_hex(other), other.size(), Verify::yes);
  ASSERT_TRUE(good) << good.error().message;
  EXPECT_FALSE(std::filesystem::exists(f1));
  EXPECT_EQ(**s.stat(crypto::sha256_hex(other)), other.size());

  // A large file, adopted without re-hashing (the caller hashed it while receiving).
  std::string large(big, '\0');
  for (std::size_t i = 0; i < large.size(); ++i) large[i] = char((i * 7919u + i / 4099u) & 0xff);
  std::string dl = crypto::sha256_hex(large);
  std::string f2 = scratch + "/in2";
  ASSERT_TRUE(write_file_atomic(f2, large));
  auto ad = s.adopt(f2, dl, large.size(), Verify::no);
  ASSERT_TRUE(ad) << ad.error().message;
  auto lb = s.open(dl);
  ASSERT_TRUE(lb) << lb.error().message;
  EXPECT_EQ(lb->size, large.size());
  EXPECT_TRUE(blob_bytes(*lb) == large);

  // list, remove
  auto listed = s.list();
  ASSERT_TRUE(listed) << listed.error().message;
  std::sort(listed->begin(), listed->end());
  std::vector<std::string> want{d, crypto::sha256_hex(other), dl};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(*listed, want);
  auto r = s.remove(d);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(*r);
  EXPECT_FALSE(*s.stat(d));
  EXPECT_EQ(s.open(d).error().code, Errc::not_found);
  EXPECT_FALSE(*s.remove(d));
  EXPECT_EQ(s.list()->size(), 2u);
  EXPECT_EQ(*s.put(data), d);  // can come back
  EXPECT_EQ(**s.stat(d), data.size());
  EXPECT_FALSE(s.stat("xyz"));  // malformed digest
}

}  // namespace hubgate::store::testing
