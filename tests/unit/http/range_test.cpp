#include <gtest/gtest.h>

#include "http/range.hpp"

using namespace hubgate::http;
using K = ByteRange::Kind;

TEST(Range, Forms) {
  auto r = parse_range("bytes=0-0", 100);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->kind, K::satisfiable);
  EXPECT_EQ(r->first, 0u);
  EXPECT_EQ(r->last, 0u);
  EXPECT_EQ(content_range(*r, 100), "bytes 0-0/100");

  r = parse_range("bytes=10-", 100);
  EXPECT_EQ(r->first, 10u);
  EXPECT_EQ(r->last, 99u);
  r = parse_range("bytes=-7", 100);
  EXPECT_EQ(r->first, 93u);
  EXPECT_EQ(r->last, 99u);
  EXPECT_EQ(r->length(), 7u);
  r = parse_range("bytes=-500", 100);  // longer suffix: whole file
  EXPECT_EQ(r->first, 0u);
  EXPECT_EQ(r->last, 99u);
  r = parse_range("bytes=5-100000", 100);  // end clamped
  EXPECT_EQ(r->last, 99u);
  EXPECT_EQ(content_range(*r, 100), "bytes 5-99/100");
}

TEST(Range, Unsatisfiable) {
  EXPECT_EQ(parse_range("bytes=100-", 100)->kind, K::unsatisfiable);
  EXPECT_EQ(parse_range("bytes=100-200", 100)->kind, K::unsatisfiable);
  EXPECT_EQ(parse_range("bytes=-0", 100)->kind, K::unsatisfiable);
  EXPECT_EQ(parse_range("bytes=0-0", 0)->kind, K::unsatisfiable);
  EXPECT_EQ(parse_range("bytes=-5", 0)->kind, K::unsatisfiable);
}

TEST(Range, Multiple) { EXPECT_EQ(parse_range("bytes=0-1, 5-6", 100)->kind, K::multiple); }

TEST(Range, Malformed) {
  for (const char* s : {"bytes=", "bytes=abc", "bytes=5-1", "items=0-1", "bytes=1", "bytes=-", "bytes=+1-2",
                        "bytes=0-1,x", "bytes=99999999999999999999-", "bytes= 1 - 2"}) {
    EXPECT_FALSE(parse_range(s, 100)) << s;
  }
}
