// The catalog contract, statistics part: download days, likes, blob references. Run on every
// backend with the other cases (catalog_cases.hpp): SQLite in repo_tests, PostgreSQL in
// repo_pg_tests.
#include <algorithm>
#include <ctime>

#include "catalog_cases.hpp"
#include "crypto/sha.hpp"

namespace hubgate::repo::testing {

namespace {

// Two repositories on the case's catalog: org/a (public) and org/b (private).
struct Stats {
  Catalog* cat;
  RepoRecord a, b;
  explicit Stats(Catalog* c) : cat(c) {
    a = *cat->create_repo(*make_repo_id(RepoType::model, "org", "a"), false, 1700000000);
    b = *cat->create_repo(*make_repo_id(RepoType::model, "org", "b"), true, 1700000000);
  }
  std::int64_t today() const { return std::int64_t(std::time(nullptr)) / 86400; }
  RepoRecord find(const char* name) {
    auto r = cat->find_repo(*make_repo_id(RepoType::model, "org", name));
    EXPECT_TRUE(r && *r);
    return r && *r ? **r : RepoRecord{};
  }
  void commit(const RepoRecord& r, const std::string& content, const std::string& path) {
    NewCommit c;
    c.ops.push_back(put_op(path, content.size(), crypto::sha256_hex(content), crypto::git_blob_sha1_hex(content), false));
    c.meta.title = "add " + path;
    c.meta.time = 1700000001;
    ASSERT_TRUE(cat->commit(r.key, c));
  }
};

}  // namespace

TEST_P(CatalogTest, StatsDownloadsOfTheLast30DaysAndAllTime) {
  Stats st(cat.get());
  auto& a = st.a;
  auto& b = st.b;
  ASSERT_TRUE(cat->count_download(a.key, st.today()));
  ASSERT_TRUE(cat->count_download(a.key, st.today()));
  ASSERT_TRUE(cat->count_download(a.key, st.today() - 29));  // still inside the window
  ASSERT_TRUE(cat->count_download(a.key, st.today() - 30));  // outside
  ASSERT_TRUE(cat->count_download(b.key, st.today()));
  auto r = st.find("a");
  EXPECT_EQ(r.downloads, 3);
  EXPECT_EQ(r.downloads_all_time, 4);
  auto all = cat->list_repos(RepoType::model);
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 3u);  // org/a, org/b, org/m (the case's own)
  EXPECT_EQ((*all)[0].downloads, 3);
  EXPECT_EQ((*all)[0].downloads_all_time, 4);
  EXPECT_EQ((*all)[1].downloads, 1);
  EXPECT_EQ(cat->count_download(999, st.today()).error().code, Errc::not_found);
}

TEST_P(CatalogTest, StatsLikesAreOnePerUser) {
  Stats st(cat.get());
  auto& a = st.a;
  auto& b = st.b;
  EXPECT_TRUE(*cat->set_like(a.key, "alice", true, 100));
  EXPECT_FALSE(*cat->set_like(a.key, "alice", true, 101));  // already liked
  EXPECT_TRUE(*cat->set_like(a.key, "bob", true, 102));
  EXPECT_TRUE(*cat->set_like(b.key, "alice", true, 103));
  EXPECT_EQ(st.find("a").likes, 2);
  auto likers = cat->list_likers(a.key);
  ASSERT_TRUE(likers);
  ASSERT_EQ(likers->size(), 2u);
  EXPECT_EQ((*likers)[0].user, "alice");
  EXPECT_EQ((*likers)[0].time, 100);
  auto liked = cat->list_liked("alice");
  ASSERT_TRUE(liked);
  ASSERT_EQ(liked->size(), 2u);
  EXPECT_EQ((*liked)[0].repo.id.full(), "org/b");  // newest first
  EXPECT_TRUE((*liked)[0].repo.is_private);
  EXPECT_TRUE(*cat->set_like(a.key, "alice", false, 104));
  EXPECT_FALSE(*cat->set_like(a.key, "alice", false, 105));  // not liked any more
  EXPECT_EQ(st.find("a").likes, 1);
  // Counts belong to the repository: a move keeps them, a delete removes them.
  ASSERT_TRUE(cat->count_download(a.key, st.today()));
  ASSERT_TRUE(cat->move_repo(a.key, *make_repo_id(RepoType::model, "org", "a2")));
  EXPECT_EQ(st.find("a2").likes, 1);
  EXPECT_EQ(st.find("a2").downloads, 1);
  ASSERT_TRUE(cat->delete_repo(a.key));
  EXPECT_TRUE(cat->list_likers(a.key)->empty());
  auto again = cat->create_repo(*make_repo_id(RepoType::model, "org", "a2"), false, 1700000100);
  ASSERT_TRUE(again);
  EXPECT_EQ(st.find("a2").likes, 0);
  EXPECT_EQ(st.find("a2").downloads_all_time, 0);
}

TEST_P(CatalogTest, StatsBlobReferencesAcrossRepositories) {
  Stats st(cat.get());
  auto& a = st.a;
  auto& b = st.b;
  st.commit(a, "shared\n", "s.txt");
  st.commit(a, "own\n", "o.txt");
  st.commit(a, "own v2\n", "o.txt");  // history: the first version stays named by the older commit
  st.commit(b, "shared\n", "copy.txt");
  auto blobs = cat->repo_blobs(a.key);
  ASSERT_TRUE(blobs);
  std::vector<std::string> want = {crypto::sha256_hex("shared\n"), crypto::sha256_hex("own\n"),
                                   crypto::sha256_hex("own v2\n")};
  std::sort(want.begin(), want.end());
  auto got = *blobs;
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, want);
  ASSERT_TRUE(cat->delete_repo(a.key));
  EXPECT_TRUE(*cat->blob_referenced(crypto::sha256_hex("shared\n")));
  EXPECT_FALSE(*cat->blob_referenced(crypto::sha256_hex("own\n")));
  EXPECT_FALSE(*cat->blob_referenced(crypto::sha256_hex("own v2\n")));
}

}  // namespace hubgate::repo::testing
