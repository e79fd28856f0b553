#include <gtest/gtest.h>

#include "store/copy_lru.hpp"

using namespace hubgate::store;

namespace {
std::vector<std::string> names(const std::vector<std::pair<std::string, std::uint64_t>>& v) {
  std::vector<std::string> out;
  for (const auto& [d, s] : v) out.push_back(d);
  return out;
}
}  // namespace

TEST(CopyLru, UnlimitedNeverEvicts) {
  CopyLru l(std::nullopt);
  l.insert("a", 1ull << 40);
  l.insert("b", 1ull << 40);
  EXPECT_TRUE(l.take_victims().empty());
  EXPECT_EQ(l.bytes(), 2ull << 40);
  EXPECT_TRUE(l.fits(~0ull));
}

TEST(CopyLru, EvictsLeastRecentlyUsedFirst) {
  CopyLru l(100);
  l.insert("a", 40);
  l.insert("b", 40);
  EXPECT_TRUE(l.take_victims().empty());
  EXPECT_TRUE(l.touch("a"));  // b is now the oldest
  l.insert("c", 40);          // 120 > 100
  EXPECT_EQ(names(l.take_victims()), std::vector<std::string>{"b"});
  EXPECT_EQ(l.bytes(), 80u);
  EXPECT_EQ(l.count(), 2u);
  EXPECT_FALSE(l.contains("b"));
  EXPECT_FALSE(l.touch("b"));
  l.insert("d", 90);  // needs a and c out: oldest first
  EXPECT_EQ(names(l.take_victims()), (std::vector<std::string>{"a", "c"}));
  EXPECT_EQ(l.bytes(), 90u);
}

TEST(CopyLru, ZeroBudgetAndOversizedEntries) {
  CopyLru z(0);
  EXPECT_FALSE(z.fits(1));
  EXPECT_TRUE(z.fits(0));
  z.insert("a", 5);
  z.insert("b", 7);
  auto v = z.take_victims();
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0], (std::pair<std::string, std::uint64_t>{"a", 5}));
  EXPECT_EQ(v[1], (std::pair<std::string, std::uint64_t>{"b", 7}));
  EXPECT_EQ(z.bytes(), 0u);
  CopyLru l(10);
  l.insert("small", 3);
  l.insert("huge", 50);  // larger than the budget: it goes, and everything older with it
  EXPECT_EQ(names(l.take_victims()), (std::vector<std::string>{"small", "huge"}));
  EXPECT_EQ(l.count(), 0u);
}

TEST(CopyLru, ReinsertUpdatesSizeAndOrder) {
  CopyLru l(10);
  l.insert("a", 4);
  l.insert("b", 4);
  l.insert("a", 6);  // refreshed: b is the oldest; total 10
  EXPECT_EQ(l.bytes(), 10u);
  EXPECT_TRUE(l.take_victims().empty());
  l.insert("c", 1);
  EXPECT_EQ(names(l.take_victims()), std::vector<std::string>{"b"});
  EXPECT_TRUE(l.erase("a"));
  EXPECT_FALSE(l.erase("a"));
  EXPECT_EQ(l.bytes(), 1u);
}
