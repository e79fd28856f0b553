#include "util/byte_reader.hpp"

#include <gtest/gtest.h>

#include <vector>

using namespace hubgate;

TEST(ByteReader, ReadsLittleAndBigEndian) {
  const std::vector<std::uint8_t> data = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  ByteReader r(data);
  EXPECT_EQ(*r.u32le(), 0x04030201u);
  EXPECT_EQ(*r.be<std::uint32_t>(), 0x05060708u);
  EXPECT_EQ(*r.u8(), 9);
  EXPECT_TRUE(r.empty());
}

TEST(ByteReader, FailsOnUnderflowWithoutMoving) {
  const std::vector<std::uint8_t> data = {1, 2, 3};
  ByteReader r(data, "header");
  auto v = r.u32le();
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().code, Errc::corrupt);
  EXPECT_EQ(v.error().message, "header: need 4 bytes at offset 0, 3 left");
  EXPECT_EQ(r.offset(), 0u);
  EXPECT_FALSE(r.skip(4));
  EXPECT_TRUE(r.skip(3));
  EXPECT_FALSE(r.seek(4));
}
