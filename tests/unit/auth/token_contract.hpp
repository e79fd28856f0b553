// The TokenStore contract, run on SQLite (auth_tests) and PostgreSQL (auth_pg_tests): `open`
// opens a store on one database (empty at the first call; later calls are other processes).
#pragma once

#include <gtest/gtest.h>

#include <functional>

#include "auth/auth.hpp"

namespace hubgate::auth::testing {

inline void token_store_contract(const std::function<Result<std::unique_ptr<TokenStore>>()>& open) {
  auto ts = open();
  ASSERT_TRUE(ts) << ts.error().message;
  auto t = (*ts)->create("alice", true, "org/*");
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_TRUE(t->starts_with("hf_"));
  EXPECT_EQ(t->size(), 6u + 40u);
  auto v = (*ts)->verify(*t);
  ASSERT_TRUE(v && *v);
  EXPECT_EQ((*v)->name, "alice");
  EXPECT_TRUE((*v)->write);
  EXPECT_EQ((*v)->patterns, (std::vector<std::string>{"org/*"}));
  EXPECT_FALSE(*(*ts)->verify("hf_wrong"));
  EXPECT_FALSE((*ts)->create("", false, ""));
  // A second store on the same database (another process or node) sees new tokens at once.
  auto other = open();
  ASSERT_TRUE(other) << other.error().message;
  auto t2 = (*other)->create("bob", false, "");
  ASSERT_TRUE(t2);
  auto bob = (*ts)->verify(*t2);
  ASSERT_TRUE(bob && *bob);
  EXPECT_EQ((*bob)->name, "bob");
  EXPECT_FALSE((*bob)->write);
  EXPECT_TRUE((*bob)->patterns.empty());
  // S3 access keys of the S3 face: kept with their secret and rights, seen by the other store.
  auto k = (*ts)->create_s3_key("loader", false, "team/*");
  ASSERT_TRUE(k) << k.error().message;
  EXPECT_TRUE(k->access_key.starts_with("HGAK"));
  EXPECT_EQ(k->access_key.size(), 20u);
  EXPECT_EQ(k->secret.size(), 40u);
  auto found = (*other)->find_s3_key(k->access_key);
  ASSERT_TRUE(found && *found);
  EXPECT_EQ((*found)->secret, k->secret);
  EXPECT_EQ((*found)->token.name, "loader");
  EXPECT_FALSE((*found)->token.write);
  EXPECT_EQ((*found)->token.patterns, (std::vector<std::string>{"team/*"}));
  auto missing = (*ts)->find_s3_key("HGAKFFFFFFFFFFFFFFFF");
  ASSERT_TRUE(missing);
  EXPECT_FALSE(*missing);
  // An S3 secret is not a hub token.
  EXPECT_FALSE(*(*ts)->verify(k->secret));
}

}  // namespace hubgate::auth::testing
