#include "audit/audit.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

namespace hubgate::audit {
namespace {

class AuditTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("audit_test." + std::to_string(::getpid()) + "." +
                                                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string db() const { return (dir_ / "audit.db").string(); }
  std::filesystem::path dir_;
};

Record rec(std::string repo, Kind kind, std::string decision, std::int64_t t) {
  Record r;
  r.repo = std::move(repo);
  r.kind = kind;
  r.decision = std::move(decision);
  r.time_ms = t;
  r.path = "model.bin";
  r.sha256 = std::string(64, 'a');
  r.client = "alice";
  r.remote = "127.0.0.1:5555";
  r.reason = "pickle.dangerous-global os.system";
  return r;
}

TEST_F(AuditTest, AppendAndQueryRoundTrip) {
  auto log = Log::open(db());
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

TEST_F(AuditTest, FiltersByRepoGlobTimeKindAndSha) {
  auto log = Log::open(db());
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

TEST_F(AuditTest, LimitKeepsNewestOrOldest) {
  auto log = Log::open(db());
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

TEST_F(AuditTest, PersistsAcrossReopenAndSharesWithSecondHandle) {
  {
    auto log = Log::open(db());
    ASSERT_TRUE(log);
    ASSERT_TRUE((*log)->append(rec("org/a", Kind::scan, "safe", 1000)));
  }
  auto a = Log::open(db());
  auto b = Log::open(db());  // e.g. `hubgate audit` while the server runs
  ASSERT_TRUE(a && b);
  ASSERT_TRUE((*a)->append(rec("org/a", Kind::warn, "served-with-warning", 2000)));
  auto seen = (*b)->query({});
  ASSERT_TRUE(seen);
  ASSERT_EQ(seen->size(), 2u);
  EXPECT_EQ((*seen)[1].kind, Kind::warn);
}

TEST_F(AuditTest, ConcurrentAppendsAllLand) {
  auto log = Log::open(db());
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

TEST_F(AuditTest, LongFieldsAreCut) {
  auto log = Log::open(db());
  ASSERT_TRUE(log);
  auto r = rec("org/a", Kind::block, "blocked", 1);
  r.reason = std::string(1 << 20, 'x');
  ASSERT_TRUE((*log)->append(r));
  EXPECT_EQ((*log)->query({})->front().reason.size(), 64u * 1024);
}

TEST_F(AuditTest, JsonAndTextRendering) {
  auto r = rec("org/a", Kind::block, "blocked", 1764145200123);
  r.id = 7;
  r.reason = "line\nbreak\tand tab";
  auto j = nlohmann::json::parse(to_json({r}));
  ASSERT_TRUE(j.is_array());
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["id"], 7);
  EXPECT_EQ(j[0]["time"], "2025-11-26T08:20:00.123Z");
  EXPECT_EQ(j[0]["kind"], "block");
  EXPECT_EQ(j[0]["repo"], "org/a");
  EXPECT_EQ(j[0]["reason"], "line\nbreak\tand tab");
  std::string text = to_text({r});
  EXPECT_EQ(text, "2025-11-26T08:20:00.123Z\tblock\tblocked\torg/a\t\tmodel.bin\t" + std::string(64, 'a') +
                      "\talice\t127.0.0.1:5555\tline break and tab\n");
}

TEST(AuditTime, ParsesFormats) {
  const std::int64_t now = 1764145200000;  // 2025-11-26T08:20:00Z
  EXPECT_EQ(*parse_time("1764145200", now), 1764145200000);
  EXPECT_EQ(*parse_time("2025-11-26", now), 1764115200000);
  EXPECT_EQ(*parse_time("2025-11-26T08:20:00Z", now), 1764145200000);
  EXPECT_EQ(*parse_time("2025-11-26T08:20:00.5Z", now), 1764145200500);
  EXPECT_EQ(*parse_time("30s", now), now - 30000);
  EXPECT_EQ(*parse_time("15m", now), now - 900000);
  EXPECT_EQ(*parse_time("2h", now), now - 7200000);
  EXPECT_EQ(*parse_time("7d", now), now - 7 * 86400000ll);
  for (const char* bad : {"", "yesterday", "2025-13-01", "2025-11-26T25:00:00Z", "2025-11-26T08:20:00", "-5m",
                          "+1764145200", "2025-11-26T08:20:00.Z", "99999999999999999999"}) {
    EXPECT_FALSE(parse_time(bad, now)) << bad;
  }
  EXPECT_EQ(format_time(0), "1970-01-01T00:00:00.000Z");
}

TEST(AuditKind, NamesRoundTrip) {
  for (Kind k : {Kind::scan, Kind::block, Kind::exception, Kind::warn, Kind::signature, Kind::repo}) {
    EXPECT_EQ(kind_from_name(kind_name(k)), k);
  }
  EXPECT_STREQ(kind_name(Kind::repo), "repo");
  EXPECT_FALSE(kind_from_name("nope"));
}

}  // namespace
}  // namespace hubgate::audit
