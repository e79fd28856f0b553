// SQLite runs of the catalog contract (catalog_cases.cpp) and SQLite's own schema migration.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstdio>
#include <filesystem>
#include <unistd.h>

#include "catalog_cases.hpp"

using namespace hubgate;
using namespace hubgate::repo;
using repo::testing::CatalogTest;

namespace {

std::filesystem::path sqlite_path(const std::string& name) {
  return std::filesystem::temp_directory_path() / ("hubgate-catalog-" + name + ".db");
}

void remove_sqlite(const std::string& name) {
  auto p = sqlite_path(name).string();
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(p + suffix);
}

}  // namespace

INSTANTIATE_TEST_SUITE_P(Sqlite, CatalogTest,
                         ::testing::Values(repo::testing::CatalogBackend{
                             "sqlite",
                             [](const std::string& name, bool fresh) {
                               if (fresh) remove_sqlite(name);
                               return open_sqlite_catalog(sqlite_path(name).string());
                             },
                             remove_sqlite}));

TEST(CatalogMigration, VersionOneDatabaseKeepsItsRefs) {
  auto path = std::filesystem::temp_directory_path() / ("hubgate-catalog-v1-" + std::to_string(::getpid()) + ".db");
  std::filesystem::remove(path);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  const char* v1 =
      "CREATE TABLE repos(key INTEGER PRIMARY KEY, type INT NOT NULL, ns TEXT NOT NULL, name TEXT NOT NULL, "
      "private INT NOT NULL, created INT NOT NULL, UNIQUE(type, ns, name));"
      "CREATE TABLE refs(repo INT NOT NULL, name TEXT NOT NULL, kind INT NOT NULL, commit_id TEXT NOT NULL, "
      "PRIMARY KEY(repo, name));"
      "INSERT INTO repos VALUES(1, 0, 'org', 'old', 1, 42);"
      "INSERT INTO refs VALUES(1, 'main', 0, 'abc'), (1, 'refs/pr/4', 2, 'def');";
  ASSERT_EQ(sqlite3_exec(db, v1, nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  {
    auto cat = open_sqlite_catalog(path.string());
    ASSERT_TRUE(cat) << cat.error().message;
    auto r = (*cat)->find_repo(*make_repo_id(RepoType::model, "org", "old"));
    ASSERT_TRUE(r && *r);
    EXPECT_TRUE((*r)->is_private);
    EXPECT_EQ((*r)->gated, "");
    auto refs = (*cat)->list_refs(1);
    ASSERT_TRUE(refs);
    EXPECT_EQ(refs->size(), 2u);
    // Numbering continues after the PR refs that predate discussions.
    Discussion d;
    d.title = "after migration";
    auto made = (*cat)->create_discussion(1, d, DiscussionEvent{"dddddddddddddddddddddddd", "comment", "", 1, "{}"}, "");
    ASSERT_TRUE(made) << made.error().message;
    EXPECT_EQ(made->num, 5);
  }
  auto again = open_sqlite_catalog(path.string());  // version 2 now: opened as is
  ASSERT_TRUE(again) << again.error().message;
  std::filesystem::remove(path);
  std::filesystem::remove(path.string() + "-wal");
  std::filesystem::remove(path.string() + "-shm");
}
