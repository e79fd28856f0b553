#include <gtest/gtest.h>

#include "crypto/sha.hpp"
#include "repo/catalog.hpp"

using namespace hubgate;
using namespace hubgate::repo;

namespace {
FileOp put_text(std::string path, std::string content) {
  return put_op(std::move(path), content.size(), crypto::sha256_hex(content), crypto::git_blob_sha1_hex(content), false);
}
NewCommit nc(std::vector<FileOp> ops, std::string title, std::int64_t t) {
  NewCommit c;
  c.ops = std::move(ops);
  c.meta.title = std::move(title);
  c.meta.time = t;
  return c;
}

struct CatalogTest : ::testing::Test {
  std::unique_ptr<Catalog> cat;
  RepoRecord rec;
  void SetUp() override {
    auto c = open_sqlite_catalog(":memory:");
    ASSERT_TRUE(c) << c.error().message;
    cat = std::move(*c);
    auto r = cat->create_repo(*make_repo_id(RepoType::model, "org", "m"), false, 1700000000);
    ASSERT_TRUE(r);
    rec = *r;
  }
};
}  // namespace

TEST_F(CatalogTest, CreateFindDuplicate) {
  auto id = *make_repo_id(RepoType::model, "org", "m");
  auto again = cat->create_repo(id, true, 1);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, Errc::already_exists);
  auto found = cat->find_repo(id);
  ASSERT_TRUE(found && *found);
  EXPECT_EQ((*found)->key, rec.key);
  // Same name, other type: a different repository.
  EXPECT_TRUE(cat->create_repo(*make_repo_id(RepoType::dataset, "org", "m"), false, 1));
  EXPECT_FALSE(*cat->find_repo(*make_repo_id(RepoType::model, "org", "other")));
}

TEST_F(CatalogTest, CommitResolveAndRevisions) {
  auto c1 = cat->commit(rec.key, nc({put_text("a.txt", "1")}, "one", 100));
  ASSERT_TRUE(c1) << c1.error().message;
  auto c2 = cat->commit(rec.key, nc({put_text("b.txt", "2")}, "two", 200));
  ASSERT_TRUE(c2);
  EXPECT_EQ(**cat->resolve(rec.key, "main"), c2->commit);
  EXPECT_EQ(**cat->resolve(rec.key, "HEAD"), c2->commit);
  EXPECT_EQ(**cat->resolve(rec.key, "refs/heads/main"), c2->commit);
  EXPECT_EQ(**cat->resolve(rec.key, c1->commit), c1->commit);
  EXPECT_EQ(**cat->resolve(rec.key, c1->commit.substr(0, 7)), c1->commit);
  EXPECT_FALSE(*cat->resolve(rec.key, c1->commit.substr(0, 6)));  // too short
  EXPECT_FALSE(*cat->resolve(rec.key, "nope"));
  ASSERT_TRUE(cat->set_ref(rec.key, Ref{"v1", RefKind::tag, c1->commit}));
  EXPECT_EQ(**cat->resolve(rec.key, "v1"), c1->commit);
  EXPECT_EQ(**cat->resolve(rec.key, "refs/tags/v1"), c1->commit);
  auto snap = cat->snapshot(rec.key, c2->commit);
  ASSERT_TRUE(snap);
  EXPECT_EQ((*snap)->files.size(), 2u);
  EXPECT_EQ((*snap)->commit.parent, c1->commit);
  EXPECT_EQ((*snap)->commit.title, "two");
  auto old = cat->snapshot(rec.key, c1->commit);
  EXPECT_EQ((*old)->files.size(), 1u);
}

TEST_F(CatalogTest, ParentCommitConflict) {
  auto c1 = cat->commit(rec.key, nc({put_text("a.txt", "1")}, "one", 100));
  auto c2 = cat->commit(rec.key, nc({put_text("a.txt", "2")}, "two", 200));
  NewCommit stale = nc({put_text("a.txt", "3")}, "three", 300);
  stale.expected_parent = c1->commit;
  auto r = cat->commit(rec.key, stale);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::conflict);
  EXPECT_EQ(**cat->resolve(rec.key, "main"), c2->commit);  // nothing moved
  stale.expected_parent = c2->commit;
  EXPECT_TRUE(cat->commit(rec.key, stale));
}

TEST_F(CatalogTest, FailedCommitLeavesNothing) {
  auto c1 = cat->commit(rec.key, nc({put_text("a.txt", "1")}, "one", 100));
  auto bad = cat->commit(rec.key, nc({FileOp{FileOp::Kind::delete_file, {}, "missing"}}, "bad", 200));
  ASSERT_FALSE(bad);
  EXPECT_EQ(**cat->resolve(rec.key, "main"), c1->commit);
}

TEST_F(CatalogTest, PullRequestsAndBranches) {
  auto c1 = cat->commit(rec.key, nc({put_text("a.txt", "1")}, "one", 100));
  NewCommit pr = nc({put_text("p.txt", "p")}, "pr", 200);
  pr.create_pr = true;
  auto p = cat->commit(rec.key, pr);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->pr_number, 1);
  EXPECT_EQ(**cat->resolve(rec.key, "main"), c1->commit);
  EXPECT_EQ(**cat->resolve(rec.key, "refs/pr/1"), p->commit);
  // Committing to the PR ref moves it and keeps its kind.
  NewCommit more = nc({put_text("q.txt", "q")}, "more", 300);
  more.branch = "refs/pr/1";
  auto m = cat->commit(rec.key, more);
  ASSERT_TRUE(m);
  EXPECT_EQ(**cat->resolve(rec.key, "refs/pr/1"), m->commit);
  // A new branch starts from main.
  NewCommit fb = nc({put_text("f.txt", "f")}, "feature", 400);
  fb.branch = "feature/x";
  auto f = cat->commit(rec.key, fb);
  ASSERT_TRUE(f);
  auto snap = cat->snapshot(rec.key, f->commit);
  EXPECT_EQ((*snap)->commit.parent, c1->commit);
  auto refs = cat->list_refs(rec.key);
  ASSERT_TRUE(refs);
  EXPECT_EQ(refs->size(), 3u);
}
