// PostgreSQL runs of the audit::Log contract (audit_cases.cpp), one database per test on the
// server of the ctest fixture `services`.
#include <gtest/gtest.h>

#include "../db/pg_testing.hpp"
#include "audit_cases.hpp"

namespace hubgate::audit {
namespace {

using testing::AuditTest;

Result<std::unique_ptr<Log>> open_pg(const std::string& name, bool fresh) {
  HG_TRY(auto pool, db::testing::test_pool(name, fresh));
  return Log::open_pg(std::move(pool));
}

INSTANTIATE_TEST_SUITE_P(Postgres, AuditTest,
                         ::testing::Values(testing::AuditBackend{"postgresql", open_pg, db::testing::drop_database}));

}  // namespace
}  // namespace hubgate::audit
