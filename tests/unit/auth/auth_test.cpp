#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "auth/auth.hpp"
#include "token_contract.hpp"

using namespace hubgate;
using namespace hubgate::auth;

TEST(Auth, Glob) {
  EXPECT_TRUE(glob_match("org/*", "org/model"));
  EXPECT_TRUE(glob_match("*", "datasets/a/b"));
  EXPECT_TRUE(glob_match("datasets/*/x", "datasets/a/x"));
  EXPECT_FALSE(glob_match("org/*", "other/model"));
  EXPECT_FALSE(glob_match("org/m", "org/m2"));
  EXPECT_TRUE(glob_match("a*b*c", "aXXbYYc"));
  EXPECT_FALSE(glob_match("a*b*c", "aXXbYY"));
  EXPECT_EQ(split_patterns(" a/* , b/c ,,"), (std::vector<std::string>{"a/*", "b/c"}));
}

TEST(Auth, Rules) {
  Token reader{"r", false, {}};
  Token scoped{"s", true, {"team/*"}};
  EXPECT_TRUE(can_read(nullptr, "x/y", false));
  EXPECT_FALSE(can_read(nullptr, "x/y", true));
  EXPECT_TRUE(can_read(&reader, "x/y", true));
  EXPECT_FALSE(can_write(&reader, "x/y"));
  EXPECT_FALSE(can_write(nullptr, "x/y"));
  EXPECT_TRUE(can_write(&scoped, "team/y"));
  EXPECT_FALSE(can_write(&scoped, "x/y"));
  EXPECT_FALSE(can_read(&scoped, "x/y", true));
  EXPECT_TRUE(can_read(&scoped, "x/y", false));
}

TEST(Auth, TokenStore) {
  auto dir = std::filesystem::temp_directory_path() / ("hubgate-auth-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string db = dir / "auth.db";
  auth::testing::token_store_contract([&] { return TokenStore::open(db); });
  std::filesystem::remove_all(dir);
}

TEST(Auth, Signer) {
  Signer s("0123456789abcdef0123456789abcdef");
  std::string sig = s.sign("payload", 1000);
  EXPECT_EQ(sig.size(), 64u);
  EXPECT_TRUE(s.verify("payload", 1000, sig, 999));
  EXPECT_FALSE(s.verify("payload", 1000, sig, 1000));   // expired
  EXPECT_FALSE(s.verify("payload2", 1000, sig, 10));    // other payload
  EXPECT_FALSE(s.verify("payload", 1001, sig, 10));     // other expiry
  EXPECT_FALSE(s.verify("payload", 1000, "00", 10));
  Signer other("fedcba9876543210fedcba9876543210");
  EXPECT_FALSE(other.verify("payload", 1000, sig, 10));
}
