#include <gtest/gtest.h>

#include "http/url.hpp"

using namespace hubgate::http;

TEST(Url, PercentDecode) {
  EXPECT_EQ(*percent_decode("refs%2Fpr%2F1"), "refs/pr/1");
  EXPECT_EQ(*percent_decode("a+b%20c"), "a+b c");
  EXPECT_EQ(*percent_decode("%e2%9c%93"), "\xe2\x9c\x93");
  EXPECT_EQ(*percent_decode(""), "");
}

TEST(Url, PercentDecodeRejectsMalformed) {
  EXPECT_FALSE(percent_decode("%"));
  EXPECT_FALSE(percent_decode("%2"));
  EXPECT_FALSE(percent_decode("abc%zz"));
  EXPECT_FALSE(percent_decode("a%00b"));
  EXPECT_FALSE(percent_decode(std::string("a\0b", 3)));
}

TEST(Url, FormDecodePlus) { EXPECT_EQ(*decode_form_component("a+b"), "a b"); }

TEST(Url, ParseQuery) {
  auto q = parse_query("paths=a.txt&paths=dir%2Fb.bin&expand=True&&flag");
  ASSERT_TRUE(q);
  ASSERT_EQ(q->size(), 4u);
  EXPECT_EQ(query_all(*q, "paths"), (std::vector<std::string>{"a.txt", "dir/b.bin"}));
  EXPECT_EQ(query_get(*q, "expand"), "True");
  EXPECT_EQ(query_get(*q, "flag"), "");
  EXPECT_EQ(query_get(*q, "missing"), "");
  EXPECT_FALSE(parse_query("a=%g0"));
}

TEST(Url, Encode) {
  EXPECT_EQ(percent_encode("refs/pr/1", false), "refs%2Fpr%2F1");
  EXPECT_EQ(percent_encode("dir/a b.txt", true), "dir/a%20b.txt");
  EXPECT_EQ(*percent_decode(percent_encode("x/\xff?&=", false)), "x/\xff?&=");
}

TEST(AbsoluteForm, SplitsAuthorityAndOriginForm) {
  auto t = split_absolute_form("http://hub.local:8080/api/models/a/b?x=1");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->authority, "hub.local:8080");
  EXPECT_EQ(t->origin_form, "/api/models/a/b?x=1");
  auto bare = split_absolute_form("HTTPS://user:pw@h");
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->authority, "h");
  EXPECT_EQ(bare->origin_form, "/");
  auto query_only = split_absolute_form("http://h?q=1#frag");
  ASSERT_TRUE(query_only);
  EXPECT_EQ(query_only->origin_form, "/?q=1");
  EXPECT_FALSE(split_absolute_form("/api/models"));
  EXPECT_FALSE(split_absolute_form("*"));
  EXPECT_FALSE(split_absolute_form("ftp://h/x"));
  EXPECT_FALSE(split_absolute_form("http:///x"));
  EXPECT_FALSE(split_absolute_form("/resolve/main/http://x"));
}
