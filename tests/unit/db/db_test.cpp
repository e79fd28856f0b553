// db::Connection and the migration runner against the PostgreSQL of the ctest fixture
// `services`: each test works in a database of its own.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <thread>

#include "db/db.hpp"
#include "db/pool.hpp"
#include "pg_testing.hpp"

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

TEST(DbPool, TransactionsRollBackAndLostConnectionsAreReplaced) {
  std::string url = fresh_database("pool");
  auto pool = db::Pool::open(url, 2);
  ASSERT_TRUE(pool) << pool.error().message;
  auto& p = **pool;
  {
    auto c = p.acquire();
    ASSERT_TRUE(c);
    ASSERT_TRUE((*c)->exec("CREATE TABLE t (k INT PRIMARY KEY)"));
  }
  // A failing transaction leaves nothing; a successful one commits.
  auto bad = p.transaction([](db::Connection& c) -> Result<void> {
    HG_TRY_VOID(c.query("INSERT INTO t VALUES (1)"));
    return fail(Errc::conflict, "changed my mind");
  });
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Errc::conflict);
  auto dup = p.transaction([](db::Connection& c) -> Result<void> {
    HG_TRY_VOID(c.query("INSERT INTO t VALUES (2)"));
    HG_TRY_VOID(c.query("INSERT INTO t VALUES (2)"));
    return {};
  });
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, Errc::conflict);  // unique violation
  ASSERT_TRUE(p.transaction([](db::Connection& c) -> Result<void> {
    HG_TRY_VOID(c.query("INSERT INTO t VALUES (3)"));
    return {};
  }));
  {
    auto c = p.acquire();
    auto rows = (*c)->query("SELECT k FROM t ORDER BY k");
    ASSERT_TRUE(rows);
    ASSERT_EQ(rows->size(), 1u);
    EXPECT_EQ((*rows)[0][0], "3");
  }
  // Two leases at once (the maximum); the server ends both sessions: the next statement on each
  // is unavailable, the pool replaces them and later work succeeds.
  auto a = p.acquire();
  auto b = p.acquire();
  ASSERT_TRUE(a && b);
  auto admin = db::Connection::open(url);
  ASSERT_TRUE(admin);
  ASSERT_TRUE((*admin)->query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname=current_database() AND pid<>pg_backend_pid()"));
  auto lost = (*a)->query("SELECT 1");
  ASSERT_FALSE(lost);
  EXPECT_EQ(lost.error().code, Errc::unavailable);
  { auto unused = std::move(*b); }  // looks healthy: back to the idle list
  { auto broken = std::move(*a); }  // lost: closed, and the idle ones with it
  auto again = p.transaction([](db::Connection& c) -> Result<std::string> {
    HG_TRY(auto rows, c.query("SELECT count(*) FROM t"));
    return rows.at(0).at(0).value_or("");
  });
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(*again, "1");
  auto down = db::Pool::open("postgresql://hubgate@127.0.0.1:1/hubgate?connect_timeout=2");
  ASSERT_FALSE(down);
  EXPECT_EQ(down.error().code, Errc::unavailable);
}
