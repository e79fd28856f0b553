#include "util/hex.hpp"

#include <gtest/gtest.h>

using namespace hubgate;

TEST(Hex, RoundTrip) {
  std::string raw("\x00\x01\xab\xff", 4);
  EXPECT_EQ(to_hex(raw), "0001abff");
  auto back = from_hex("0001ABff");
  ASSERT_TRUE(back);
  EXPECT_EQ(std::string(back->begin(), back->end()), raw);
}

TEST(Hex, RejectsOddLengthAndBadDigits) {
  EXPECT_FALSE(from_hex("abc"));
  EXPECT_FALSE(from_hex("zz"));
  EXPECT_TRUE(is_lower_hex("00ff", 4));
  EXPECT_FALSE(is_lower_hex("00FF", 4));
  EXPECT_FALSE(is_lower_hex("00f", 4));
}
