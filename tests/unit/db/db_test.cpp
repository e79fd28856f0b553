// db::Connection and the migration runner against the PostgreSQL of the ctest fixture
// `services`: each test works in a database of its own.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <thread>

#include "fresh_database.hpp"
#include "db/db.hpp"

using namespace hubgate;

using db::testing::fresh_database;

TEST(Db, QueriesBindParametersAndMapErrors) {
  auto c = db::Connection::open(fresh_database("query"));
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_TRUE((*c)->exec("CREATE TABLE t (k TEXT PRIMARY KEY, v TEXT)"));
  std::string tricky = "it's; DROP TABLE t; --";
  ASSERT_TRUE((*c)->query("INSERT INTO t VALUES ($1, $2)", {"a", tricky}));
  ASSERT_TRUE((*c)->query("INSERT INTO t VALUES ($1, NULL)", {"b"}));
  auto rows = (*c)->query("SELECT k, v FROM t ORDER BY k");
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0][1], tricky);
  EXPECT_EQ((*rows)[1][1], std::nullopt);
  auto dup = (*c)->query("INSERT INTO t VALUES ($1, $2)", {"a", "x"});
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, Errc::conflict);
  auto bad = (*c)->exec("SELEKT 1");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Errc::invalid_argument);
  auto down = db::Connection::open("postgresql://hubgate@127.0.0.1:1/hubgate?connect_timeout=2");
  ASSERT_FALSE(down);
  EXPECT_EQ(down.error().code, Errc::unavailable);
}

TEST(Db, MigrationsApplyOnceEvenFromConcurrentNodes) {
  std::string url = fresh_database("migrate");
  auto c = db::Connection::open(url);
  ASSERT_TRUE(c);
  EXPECT_EQ(*db::schema_version(**c), 0);
  // Four "nodes" start at once: every step is applied exactly once.
  std::vector<std::vector<int>> applied(4);
  std::vector<std::thread> ts;
  for (int i = 0; i < 4; ++i)
    ts.emplace_back([&, i] {
      auto own = db::Connection::open(url);
      ASSERT_TRUE(own);
      auto r = db::migrate(**own);
      ASSERT_TRUE(r) << r.error().message;
      applied[i] = *r;
    });
  for (auto& t : ts) t.join();
  std::vector<int> all;
  for (auto& a : applied) all.insert(all.end(), a.begin(), a.end());
  std::vector<int> want;
  for (const auto& m : db::migrations()) want.push_back(m.version);
  std::sort(all.begin(), all.end());
  EXPECT_EQ(all, want);
  EXPECT_EQ(*db::schema_version(**c), db::migrations().back().version);
  EXPECT_TRUE(db::migrate(**c)->empty());  // current: nothing to do
  auto members = (*c)->query("SELECT count(*) FROM cluster_members");
  ASSERT_TRUE(members) << members.error().message;
  EXPECT_EQ((*members)[0][0], "0");
}
