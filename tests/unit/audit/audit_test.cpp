// The audit::Log contract on SQLite (audit_tests) — the cases of audit_cases.cpp plus rendering
// and time parsing — and on PostgreSQL (audit_pg_tests, audit_pg_test.cpp).
#include "audit/audit.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "audit_cases.hpp"

namespace hubgate::audit {
namespace {

using testing::AuditTest;
using testing::rec;

std::string sqlite_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("audit_test." + name + ".db")).string();
}

void remove_sqlite(const std::string& name) {
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(sqlite_path(name) + suffix);
}

INSTANTIATE_TEST_SUITE_P(Sqlite, AuditTest,
                         ::testing::Values(testing::AuditBackend{"sqlite",
                                                                 [](const std::string& name, bool fresh) {
                                                                   if (fresh) remove_sqlite(name);
                                                                   return Log::open(sqlite_path(name));
                                                                 },
                                                                 remove_sqlite}));

TEST(AuditRender, JsonAndText) {
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
