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
