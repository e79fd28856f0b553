// The TokenStore contract on the PostgreSQL of the ctest fixture `services`.
#include <gtest/gtest.h>

#include "../db/pg_testing.hpp"
#include "token_contract.hpp"

using namespace hubgate;

TEST(AuthPg, TokenStore) {
  bool fresh = true;
  auth::testing::token_store_contract([&]() -> Result<std::unique_ptr<auth::TokenStore>> {
    HG_TRY(auto pool, db::testing::test_pool("tokens", fresh));
    fresh = false;
    return auth::TokenStore::open_pg(std::move(pool));
  });
  db::testing::drop_database("tokens");
}
