// The xet::ObjectStore contract, run against LocalObjectStore (xet_tests) and S3ObjectStore on a
// real SeaweedFS (xet_s3_tests). `s` must start empty.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "util/atomic_file.hpp"
#include "xet/object_store.hpp"

namespace hubgate::xet::testing {

inline MerkleHash test_key(int n) {
  std::string hex(64, '0');
  std::string tag = std::to_string(n);
  hex.replace(64 - tag.size(), tag.size(), tag);
  return *MerkleHash::from_hex(hex);
}

inline void object_store_contract(ObjectStore& s, std::size_t big = 2u << 20) {
  MerkleHash a = test_key(1), b = test_key(2), c = test_key(3);
  ASSERT_TRUE(s.size(ObjectKind::xorb, a));
  EXPECT_FALSE(*s.size(ObjectKind::xorb, a));
  EXPECT_EQ(s.get(ObjectKind::xorb, a).error().code, Errc::not_found);
  std::string data = "xorb bytes 0123456789";
  auto p = s.put(ObjectKind::xorb, a, as_bytes(data));
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_TRUE(*p);
  EXPECT_FALSE(*s.put(ObjectKind::xorb, a, as_bytes(data)));  // already there
  EXPECT_EQ(**s.size(ObjectKind::xorb, a), data.size());
  EXPECT_EQ(*s.get(ObjectKind::xorb, a), data);
  EXPECT_EQ(*s.get_range(ObjectKind::xorb, a, 5, 5), data.substr(5, 5));
  auto past = s.get_range(ObjectKind::xorb, a, 20, 5);
  ASSERT_FALSE(past);
  EXPECT_EQ(past.error().code, Errc::invalid_argument);
  EXPECT_FALSE(*s.size(ObjectKind::shard, a));  // kinds are separate namespaces

  // put_parts and a streamed writer (a large object: S3ObjectStore uploads it in parts).
  std::string p1 = "part one|", p2 = "part two";
  ByteView parts[] = {as_bytes(p1), as_bytes(p2)};
  EXPECT_TRUE(*s.put_parts(ObjectKind::shard, b, parts));
  EXPECT_EQ(*s.get(ObjectKind::shard, b), p1 + p2);
  std::string large(big, '\0');
  for (std::size_t i = 0; i < large.size(); ++i) large[i] = char((i * 31u + i / 977u) & 0xff);
  auto w = s.writer(ObjectKind::xorb);
  ASSERT_TRUE(w);
  for (std::size_t off = 0; off < large.size(); off += 1 << 20)
    ASSERT_TRUE((*w)->write(as_bytes(std::string_view(large).substr(off, 1 << 20))));
  auto cm = (*w)->commit(c);
  ASSERT_TRUE(cm) << cm.error().message;
  EXPECT_TRUE(*cm);
  EXPECT_EQ(**s.size(ObjectKind::xorb, c), large.size());
  EXPECT_TRUE(*s.get(ObjectKind::xorb, c) == large);
  EXPECT_EQ(*s.get_range(ObjectKind::xorb, c, large.size() - 100, 100), large.substr(large.size() - 100));
  {
    auto w2 = s.writer(ObjectKind::xorb);  // abandoned: nothing visible
    ASSERT_TRUE((*w2)->write(as_bytes(std::string_view("abandoned"))));
  }

  auto listed = s.list(ObjectKind::xorb);
  ASSERT_TRUE(listed) << listed.error().message;
  std::sort(listed->begin(), listed->end());
  std::vector<MerkleHash> want{a, c};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(*listed, want);
  EXPECT_EQ(s.list(ObjectKind::shard)->size(), 1u);
  ASSERT_TRUE(s.remove(ObjectKind::xorb, a));
  EXPECT_FALSE(*s.size(ObjectKind::xorb, a));
  EXPECT_TRUE(s.remove(ObjectKind::xorb, a));  // absent is not an error
  EXPECT_EQ(s.list(ObjectKind::xorb)->size(), 1u);
}

}  // namespace hubgate::xet::testing
