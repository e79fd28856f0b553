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

TEST(Range, Multiple) {
  EXPECT_EQ(parse_range("bytes=0-1, 5-6", 100)->kind, K::multiple);
  EXPECT_EQ(parse_range("bytes=200-300, 0-1", 100)->kind, K::multiple);  // one satisfiable is enough
  EXPECT_EQ(parse_range("bytes=0-1, ,5-6", 100)->kind, K::multiple);     // empty list elements
  EXPECT_EQ(parse_range("bytes=200-300, 100-", 100)->kind, K::unsatisfiable);  // none satisfiable
}

TEST(Range, UnitIsCaseInsensitive) {
  auto r = parse_range("Bytes=0-9", 100);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->kind, K::satisfiable);
  EXPECT_EQ(r->last, 9u);
  EXPECT_TRUE(parse_range("BYTES=-1", 100));
}

TEST(Range, Malformed) {
  for (const char* s : {"bytes=", "bytes=abc", "bytes=5-1", "items=0-1", "bytes=1", "bytes=-", "bytes=+1-2",
                        "bytes=0-1,x", "bytes=99999999999999999999-", "bytes= 1 - 2", "bytes=,", "bytes=0-1,5-1"}) {
    EXPECT_FALSE(parse_range(s, 100)) << s;
  }
}

TEST(SelectRange, WholeSliceUnsatisfiableAndEmpty) {
  auto whole = select_range(std::nullopt, 100);
  ASSERT_TRUE(whole);
  EXPECT_EQ(whole->status, 200);
  EXPECT_EQ(whole->length, 100u);
  EXPECT_FALSE(whole->content_range);

  auto slice = select_range("bytes=-10", 100);
  ASSERT_TRUE(slice);
  EXPECT_EQ(slice->status, 206);
  EXPECT_EQ(slice->first, 90u);
  EXPECT_EQ(slice->length, 10u);
  EXPECT_EQ(*slice->content_range, "bytes 90-99/100");

  auto past = select_range("bytes=100-", 100);
  ASSERT_TRUE(past);
  EXPECT_EQ(past->status, 416);
  EXPECT_EQ(*past->content_range, "bytes */100");

  auto several = select_range("bytes=0-1, 5-6", 100);
  ASSERT_TRUE(several);
  EXPECT_EQ(several->status, 200);
  EXPECT_EQ(several->length, 100u);

  for (std::optional<std::string_view> h : {std::optional<std::string_view>{}, std::optional<std::string_view>{"bytes=0-0"}}) {
    auto empty = select_range(h, 0);
    ASSERT_TRUE(empty);
    EXPECT_EQ(empty->status, 200);
    EXPECT_EQ(empty->length, 0u);
    EXPECT_EQ(*empty->content_range, "bytes */0");
  }
}

// RFC 9110 §14.2: an invalid Range field is ignored (the whole body, 200); only a valid set whose
// ranges all lie past the end is 416.
TEST(SelectRange, InvalidIsIgnoredUnsatisfiableIs416) {
  for (const char* h : {"bytes=x-1", "bytes=5-1", "items=0-1", "bytes=", "bytes=--3", "bytes=0-1,x"}) {
    auto sel = select_range(h, 100);
    ASSERT_TRUE(sel) << h;
    EXPECT_EQ(sel->status, 200) << h;
    EXPECT_EQ(sel->first, 0u) << h;
    EXPECT_EQ(sel->length, 100u) << h;
    EXPECT_FALSE(sel->content_range) << h;
  }
  auto none = select_range("bytes=100-, 500-600", 100);
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 416);
  EXPECT_EQ(*none->content_range, "bytes */100");
  auto empty = select_range("bytes=x-1", 0);
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->status, 200);
  EXPECT_EQ(empty->length, 0u);
}
