// PostgreSQL runs of the catalog contract (catalog_cases.cpp), each test in a database of its
// own on the server of the ctest fixture `services`, migrated by db::migrate like `serve` does.
#include <gtest/gtest.h>

#include "../db/pg_testing.hpp"
#include "catalog_cases.hpp"
#include "db/pool.hpp"

using namespace hubgate;
using namespace hubgate::repo;
using repo::testing::CatalogTest;

namespace {

Result<std::unique_ptr<Catalog>> open_pg(const std::string& name, bool fresh) {
  HG_TRY(auto pool, db::testing::test_pool(name, fresh));
  return open_pg_catalog(std::move(pool));
}

}  // namespace

INSTANTIATE_TEST_SUITE_P(Postgres, CatalogTest,
                         ::testing::Values(repo::testing::CatalogBackend{"postgresql", open_pg,
                                                                         db::testing::drop_database}));

// The database going away is Errc::unavailable (the hub's 503), not a wrong answer.
TEST(PgCatalog, UnreachableDatabaseIsUnavailable) {
  auto url = db::testing::fresh_database("gone");
  {
    auto c = db::Connection::open(url);
    ASSERT_TRUE(c);
    ASSERT_TRUE(db::migrate(**c));
  }
  auto pool = db::Pool::open(url, 2);
  ASSERT_TRUE(pool);
  auto cat = open_pg_catalog(*pool);
  ASSERT_TRUE(cat);
  auto id = *make_repo_id(RepoType::model, "org", "m");
  ASSERT_TRUE((*cat)->create_repo(id, false, 1));
  db::testing::drop_database("gone");  // ends every session, then the database itself
  auto r = (*cat)->find_repo(id);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::unavailable) << r.error().message;
  auto again = (*cat)->find_repo(id);  // a new connection: the database does not exist
  ASSERT_FALSE(again);
}
