#include <gtest/gtest.h>

#include "scan/json_strict.hpp"

namespace hubgate::scan {
namespace {

TEST(JsonStrict, ParsesValidObject) {
  auto j = parse_json_strict(R"({"a": [1, 2, {"b": "c"}], "n": 18446744073709551615})");
  ASSERT_TRUE(j) << j.error().message;
  EXPECT_EQ((*j)["a"][2]["b"], "c");
  EXPECT_EQ((*j)["n"].get<std::uint64_t>(), 18446744073709551615ull);
}

TEST(JsonStrict, RejectsDuplicateKeysAtAnyDepth) {
  auto top = parse_json_strict(R"({"a": 1, "a": 2})");
  ASSERT_FALSE(top);
  EXPECT_EQ(top.error().message, "duplicate key 'a'");
  auto nested = parse_json_strict(R"({"x": {"k": 1, "j": 2, "k": 3}})");
  ASSERT_FALSE(nested);
  EXPECT_EQ(nested.error().message, "duplicate key 'k'");
  // Same key in sibling objects is fine.
  EXPECT_TRUE(parse_json_strict(R"([{"k": 1}, {"k": 2}])"));
}

TEST(JsonStrict, RejectsInvalidUtf8AndTrailingGarbage) {
  EXPECT_FALSE(parse_json_strict("{\"a\": \"\xff\"}"));
  EXPECT_FALSE(parse_json_strict("{\"a\": \"\xc0\xaf\"}"));  // overlong
  EXPECT_FALSE(parse_json_strict(R"({"a": 1} x)"));
  EXPECT_FALSE(parse_json_strict(R"({"a": 1,})"));
  EXPECT_TRUE(parse_json_strict("{\"a\": 1}   \n"));
}

TEST(JsonStrict, NulByteIsNotTheEnd) {
  // A NUL is no end of input: what follows it would otherwise go unseen.
  std::string t = std::string("{\"a\": 1}") + std::string(1, '\0') + "{\"b\": 2}";
  auto r = parse_json_strict(t);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("NUL"), std::string::npos);
  EXPECT_FALSE(parse_json_strict(std::string("{\"a\": 1}") + std::string(1, '\0')));
}

TEST(JsonStrict, BoundsDepth) {
  std::string deep(200, '[');
  deep += std::string(200, ']');
  auto r = parse_json_strict(deep, {.max_depth = 128});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::limit_exceeded);
  EXPECT_TRUE(parse_json_strict(deep, {.max_depth = 200}));
}

}  // namespace
}  // namespace hubgate::scan
