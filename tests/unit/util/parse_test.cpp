#include "util/parse.hpp"

#include <gtest/gtest.h>

using namespace hubgate;

TEST(Parse, U64IsStrict) {
  EXPECT_EQ(parse_u64("0"), 0u);
  EXPECT_EQ(parse_u64("18446744073709551615"), 18446744073709551615ull);
  EXPECT_FALSE(parse_u64("18446744073709551616"));
  EXPECT_FALSE(parse_u64(""));
  EXPECT_FALSE(parse_u64("+1"));
  EXPECT_FALSE(parse_u64(" 1"));
  EXPECT_FALSE(parse_u64("1a"));
  EXPECT_FALSE(parse_u64("-1"));
}

TEST(Parse, Bool) {
  EXPECT_EQ(parse_bool("True"), true);
  EXPECT_EQ(parse_bool("false"), false);
  EXPECT_EQ(parse_bool("1"), true);
  EXPECT_EQ(parse_bool("0"), false);
  EXPECT_FALSE(parse_bool("yes"));
}

TEST(ParseHeaderLine, LowercaseNameTrimmedValue) {
  auto h = parse_header_line("X-Linked-Etag:  \"abc\" \r\n");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->first, "x-linked-etag");
  EXPECT_EQ(h->second, "\"abc\"");
  auto empty = parse_header_line("Location:\r\n");
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->second, "");
  auto colon_in_value = parse_header_line("location: http://h:1/x\r\n");
  ASSERT_TRUE(colon_in_value);
  EXPECT_EQ(colon_in_value->second, "http://h:1/x");
  EXPECT_FALSE(parse_header_line("HTTP/1.1 200 OK\r\n"));
  EXPECT_FALSE(parse_header_line("\r\n"));
}

TEST(SplitSegments, KeepsEmptySegments) {
  using V = std::vector<std::string_view>;
  EXPECT_EQ(split_segments("a/b//c"), (V{"a", "b", "", "c"}));
  EXPECT_EQ(split_segments(""), (V{""}));
  EXPECT_EQ(split_segments("a/"), (V{"a", ""}));
  EXPECT_EQ(split_segments("/x"), (V{"", "x"}));
}
