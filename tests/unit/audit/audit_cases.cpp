// The audit::Log contract, run on SQLite (audit_test.cpp) and PostgreSQL (audit_pg_test.cpp).
#include <gtest/gtest.h>

#include <thread>

#include "audit_cases.hpp"

namespace hubgate::audit {
namespace {

using testing::AuditTest;
using testing::rec;

TEST_P(AuditTest, AppendAndQueryRoundTrip) {
  auto log = open_log();
  ASSERT_TRUE(log) << log.error().message;
  auto id1 = (*log)->append(rec("org/a", Kind::scan, "dangerous", 1000));
  auto id2 = (*log)->append(rec("org/a", Kind::block, "blocked", 2000));
  ASSERT_TRUE(id1 && id2);
  EXPECT_LT(*id1, *id2);
  auto all = (*log)->query({});
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].id, *id1);
  EXPECT_EQ((*all)[0].kind, Kind::scan);
  EXPECT_EQ((*all)[1].kind, Kind::block);
  EXPECT_EQ((*all)[1].decision, "blocked");
  EXPECT_EQ((*all)[1].client, "alice");
  EXPECT_EQ((*all)[1].remote, "127.0.0.1:5555");
  EXPECT_EQ((*all)[1].reason, "pickle.dangerous-global os.system");
  EXPECT_EQ((*all)[1].time_ms, 2000);
}

TEST_P(AuditTest, FiltersByRepoGlobTimeKindAndSha) {
  auto log = open_log();
  ASSERT_TRUE(log);
  ASSERT_TRUE((*log)->append(rec("org/a", Kind::scan, "safe", 1000)));
  ASSERT_TRUE((*log)->append(rec("org/b", Kind::block, "blocked", 2000)));
  ASSERT_TRUE((*log)->append(rec("other/c", Kind::exception, "allowed", 3000)));
  auto r = rec("datasets/org/d", Kind::scan, "safe", 4000);
  r.sha256 = std::string(64, 'b');
  ASSERT_TRUE((*log)->append(r));

  Filter f;
  f.repo = "org/*";
  EXPECT_EQ((*log)->query(f)->size(), 2u);
  f.repo = "*org/*";
  EXPECT_EQ((*log)->query(f)->size(), 3u);
  f.repo = "org/_";  // no character but '*' is special
  EXPECT_EQ((*log)->query(f)->size(), 0u);
  f.repo = "org/b";
  ASSERT_EQ((*log)->query(f)->size(), 1u);
  EXPECT_EQ((*log)->query(f)->front().decision, "blocked");

  Filter t;
  t.since_ms = 2000;
  EXPECT_EQ((*log)->query(t)->size(), 3u);
  t.until_ms = 3000;
  EXPECT_EQ((*log)->query(t)->size(), 1u);

  Filter k;
  k.kind = Kind::exception;
  ASSERT_EQ((*log)->query(k)->size(), 1u);
  EXPECT_EQ((*log)->query(k)->front().repo, "other/c");

  Filter s;
  s.sha256 = std::string(64, 'b');
  ASSERT_EQ((*log)->query(s)->size(), 1u);
  EXPECT_EQ((*log)->query(s)->front().repo, "datasets/org/d");
}

TEST_P(AuditTest, LimitKeepsNewestOrOldest) {
  auto log = open_log();
  ASSERT_TRUE(log);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE((*log)->append(rec("org/a", Kind::scan, std::to_string(i), 1000 + i)));
  Filter f;
  f.limit = 3;
  auto tail = (*log)->query(f);
  ASSERT_EQ(tail->size(), 3u);
  EXPECT_EQ((*tail)[0].decision, "7");
  EXPECT_EQ((*tail)[2].decision, "9");
  f.tail = false;
  auto head = (*log)->query(f);
  ASSERT_EQ(head->size(), 3u);
  EXPECT_EQ((*head)[0].decision, "0");
  EXPECT_EQ((*head)[2].decision, "2");
}

TEST_P(AuditTest, PersistsAcrossReopenAndSharesWithSecondHandle) {
  {
    auto log = open_log();
    ASSERT_TRUE(log);
    ASSERT_TRUE((*log)->append(rec("org/a", Kind::scan, "safe", 1000)));
  }
  auto a = open_log();
  auto b = open_log();  // e.g. `hubgate audit` while the server runs
  ASSERT_TRUE(a && b);
  ASSERT_TRUE((*a)->append(rec("org/a", Kind::warn, "served-with-warning", 2000)));
  auto seen = (*b)->query({});
  ASSERT_TRUE(seen);
  ASSERT_EQ(seen->size(), 2u);
  EXPECT_EQ((*seen)[1].kind, Kind::warn);
}

TEST_P(AuditTest, ConcurrentAppendsAllLand) {
  auto log = open_log();
  ASSERT_TRUE(log);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) ASSERT_TRUE((*log)->append(rec("org/t" + std::to_string(t), Kind::scan, "safe", 0)));
    });
  }
  for (auto& th : threads) th.join();
  Filter f;
  EXPECT_EQ((*log)->query(f)->size(), 200u);
  f.repo = "org/t2";
  EXPECT_EQ((*log)->query(f)->size(), 50u);
}

TEST_P(AuditTest, LongFieldsAreCut) {
  auto log = open_log();
  ASSERT_TRUE(log);
  auto r = rec("org/a", Kind::block, "blocked", 1);
  r.reason = std::string(1 << 20, 'x');
  ASSERT_TRUE((*log)->append(r));
  EXPECT_EQ((*log)->query({})->front().reason.size(), 64u * 1024);
}

}  // namespace
}  // namespace hubgate::audit
