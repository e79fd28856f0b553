#include <gtest/gtest.h>

#include "util/base64.hpp"

using namespace hubgate;

TEST(Base64, RoundTripAndVectors) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(*base64_decode("Zm9vYg=="), "foob");
  EXPECT_EQ(*base64_decode("Zm9v\nYmE="), "fooba");
  std::string all;
  for (int i = 0; i < 256; ++i) all += char(i);
  EXPECT_EQ(*base64_decode(base64_encode(all)), all);
}

TEST(Base64, RejectsMalformed) {
  for (const char* s : {"Zg=", "Z===", "Zm9v!mFy", "=Zm9", "Zg==Zg==", "Zh=="}) EXPECT_FALSE(base64_decode(s)) << s;
}

TEST(Base64, StrictOptions) {
  Base64DecodeOptions o{.skip_whitespace = false, .accept_url_safe = true, .require_padding = false};
  EXPECT_EQ(*base64_decode("aGVsbG8", o), "hello");
  EXPECT_EQ(*base64_decode("aGVsbG8=", o), "hello");
  EXPECT_EQ(*base64_decode("-_8=", o), "\xfb\xff");
  EXPECT_FALSE(base64_decode("-_8="));           // default: standard alphabet only
  EXPECT_FALSE(base64_decode("aGVsbG8"));        // default: padding required
  EXPECT_FALSE(base64_decode("aGV sbG8=", o));   // strict: no whitespace
  EXPECT_FALSE(base64_decode("a", o));
  EXPECT_FALSE(base64_decode("aGVsbA=", o));     // partial padding
}
