// The VerdictStore contract on the PostgreSQL of the ctest fixture `services`.
#include <gtest/gtest.h>

#include "../db/pg_testing.hpp"
#include "verdict_store_contract.hpp"

using namespace hubgate;

TEST(GateStorePg, RoundTripAndVersions) {
  bool fresh = true;
  gate::testing::verdict_store_contract([&]() -> Result<std::unique_ptr<gate::VerdictStore>> {
    HG_TRY(auto pool, db::testing::test_pool("verdicts", fresh));
    fresh = false;
    return gate::VerdictStore::open_pg(std::move(pool));
  });
  db::testing::drop_database("verdicts");
}
