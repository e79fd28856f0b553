// The repo::Catalog contract, run against both implementations: SQLite (catalog_test.cpp,
// repo_tests) and PostgreSQL (catalog_pg_test.cpp, repo_pg_tests on the `services` fixture).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include "catalog_cases.hpp"
#include "crypto/sha.hpp"

using namespace hubgate;
using namespace hubgate::repo;
using repo::testing::CatalogTest;

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
}  // namespace

TEST_P(CatalogTest, CreateFindDuplicate) {
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

TEST_P(CatalogTest, CommitResolveAndRevisions) {
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
  ASSERT_TRUE(cat->set_ref(rec.key, Ref{"v1", RefKind::tag, c1->commit, ""}));
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

TEST_P(CatalogTest, ParentCommitConflict) {
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

TEST_P(CatalogTest, FailedCommitLeavesNothing) {
  auto c1 = cat->commit(rec.key, nc({put_text("a.txt", "1")}, "one", 100));
  auto bad = cat->commit(rec.key, nc({FileOp{FileOp::Kind::delete_file, {}, "missing"}}, "bad", 200));
  ASSERT_FALSE(bad);
  EXPECT_EQ(**cat->resolve(rec.key, "main"), c1->commit);
}

TEST_P(CatalogTest, PullRequestsAndBranches) {
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

TEST_P(CatalogTest, RefsCreateDeleteAndSharedNames) {
  auto c1 = cat->commit(rec.key, nc({put_text("a.txt", "1")}, "one", 100));
  ASSERT_TRUE(c1);
  ASSERT_TRUE(cat->create_ref(rec.key, Ref{"dev", RefKind::branch, c1->commit, ""}, false));
  auto again = cat->create_ref(rec.key, Ref{"dev", RefKind::branch, c1->commit, ""}, false);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, Errc::already_exists);
  EXPECT_EQ(again.error().message, "Reference refs/heads/dev already exists");
  // A tag may share a branch's name; the branch wins for a bare name.
  auto c2 = cat->commit(rec.key, nc({put_text("b.txt", "2")}, "two", 101));
  ASSERT_TRUE(c2);
  std::string root = c2->commit;  // the tag's target (not the branch's)
  ASSERT_TRUE(cat->create_ref(rec.key, Ref{"dev", RefKind::tag, root, "a release"}, false));
  EXPECT_EQ(**cat->resolve(rec.key, "dev"), c1->commit);
  EXPECT_EQ(**cat->resolve(rec.key, "refs/tags/dev"), root);
  auto refs = cat->list_refs(rec.key);
  ASSERT_TRUE(refs);
  auto tag = std::find_if(refs->begin(), refs->end(), [](const Ref& r) { return r.kind == RefKind::tag; });
  ASSERT_NE(tag, refs->end());
  EXPECT_EQ(tag->message, "a release");
  ASSERT_TRUE(cat->delete_ref(rec.key, "dev", RefKind::branch));
  EXPECT_EQ(cat->delete_ref(rec.key, "dev", RefKind::branch).error().code, Errc::not_found);
  EXPECT_EQ(**cat->resolve(rec.key, "dev"), root);  // the tag remains
}

TEST_P(CatalogTest, HistoryPagesAndSquash) {
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    auto c = cat->commit(rec.key, nc({put_text("f" + std::to_string(i), std::to_string(i))}, "c" + std::to_string(i), 100 + i));
    ASSERT_TRUE(c);
    ids.insert(ids.begin(), c->commit);
  }
  auto all = cat->history(rec.key, ids[0], 0, 100);
  ASSERT_TRUE(all);
  EXPECT_EQ(all->total, 5);
  ASSERT_EQ(all->commits.size(), 5u);
  for (std::size_t i = 0; i < 5; ++i) EXPECT_EQ(all->commits[i].id, ids[i]);
  auto page = cat->history(rec.key, ids[0], 2, 2);
  ASSERT_TRUE(page);
  EXPECT_EQ(page->total, 5);
  ASSERT_EQ(page->commits.size(), 2u);
  EXPECT_EQ(page->commits[0].id, ids[2]);
  EXPECT_EQ(cat->history(rec.key, ids[3], 0, 100)->total, 2);
  // Super-squash: a root commit with the same tree.
  auto snap = *cat->snapshot(rec.key, ids[0]);
  NewCommit sq = nc({}, "squashed", 200);
  sq.root = true;
  for (const auto& f : snap->files) {
    FileOp op;
    op.entry = f;
    op.entry.last_commit.clear();
    sq.ops.push_back(op);
  }
  auto s = cat->commit(rec.key, sq);
  ASSERT_TRUE(s);
  auto ss = *cat->snapshot(rec.key, s->commit);
  EXPECT_EQ(ss->commit.parent, "");
  EXPECT_EQ(ss->commit.tree, snap->commit.tree);
  EXPECT_EQ(cat->history(rec.key, s->commit, 0, 100)->total, 1);
}

TEST_P(CatalogTest, MoveRemembersOldNameAndDeleteForgetsEverything) {
  auto old_id = *make_repo_id(RepoType::model, "org", "m");
  auto new_id = *make_repo_id(RepoType::model, "org2", "m2");
  ASSERT_TRUE(cat->commit(rec.key, nc({put_text("a.txt", "1")}, "one", 100)));
  auto other = cat->create_repo(*make_repo_id(RepoType::model, "org", "taken"), false, 1);
  ASSERT_TRUE(other);
  EXPECT_EQ(cat->move_repo(rec.key, other->id).error().code, Errc::already_exists);
  ASSERT_TRUE(cat->move_repo(rec.key, new_id));
  EXPECT_FALSE(cat->find_repo(old_id)->has_value());
  EXPECT_EQ((*cat->find_repo(new_id))->key, rec.key);
  EXPECT_EQ(**cat->find_moved(old_id), new_id);
  ASSERT_TRUE(cat->update_repo(rec.key, true, std::string("manual")));
  auto found = *cat->find_repo(new_id);
  EXPECT_TRUE(found->is_private);
  EXPECT_EQ(found->gated, "manual");
  EXPECT_EQ(cat->update_repo(rec.key, std::nullopt, std::string("sometimes")).error().code, Errc::invalid_argument);
  ASSERT_TRUE(cat->put_access(rec.key, AccessRequest{"bob", "pending", 5, "", "{}"}));
  NewCommit pr = nc({put_text("p.txt", "p")}, "pr", 200);
  pr.create_pr = true;
  pr.pr_author = "bob";
  ASSERT_TRUE(cat->commit(rec.key, pr));
  auto listed = cat->list_repos(RepoType::model);
  ASSERT_TRUE(listed);
  EXPECT_EQ(listed->size(), 2u);

  ASSERT_TRUE(cat->delete_repo(rec.key));
  EXPECT_FALSE(cat->find_repo(new_id)->has_value());
  EXPECT_FALSE(cat->find_moved(old_id)->has_value());
  EXPECT_TRUE(cat->list_refs(rec.key)->empty());
  EXPECT_TRUE(cat->list_discussions(rec.key)->empty());
  EXPECT_TRUE(cat->list_access(rec.key, "pending")->empty());
  EXPECT_EQ(cat->list_repos(std::nullopt)->size(), 1u);
}

TEST_P(CatalogTest, DiscussionsSharePrNumbers) {
  auto c1 = cat->commit(rec.key, nc({put_text("a.txt", "1")}, "one", 100));
  ASSERT_TRUE(c1);
  std::string head = c1->commit;
  Discussion d;
  d.title = "question";
  d.author = "alice";
  DiscussionEvent first{"aaaaaaaaaaaaaaaaaaaaaaaa", "comment", "alice", 10, "{\"raw\":\"hi\"}"};
  auto made = cat->create_discussion(rec.key, d, first, "");
  ASSERT_TRUE(made);
  EXPECT_EQ(made->num, 1);
  NewCommit pr = nc({put_text("p.txt", "p")}, "tuned", 200);
  pr.create_pr = true;
  pr.pr_author = "bob";
  auto p = cat->commit(rec.key, pr);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->pr_number, 2);
  auto pd = **cat->find_discussion(rec.key, 2);
  EXPECT_TRUE(pd.is_pr);
  EXPECT_EQ(pd.status, "open");
  EXPECT_EQ(pd.base, "refs/heads/main");
  EXPECT_EQ(pd.start_commit, head);
  EXPECT_EQ(pd.author, "bob");
  NewCommit more = nc({put_text("q.txt", "q")}, "more", 300);
  more.branch = "refs/pr/2";
  ASSERT_TRUE(cat->commit(rec.key, more));
  auto evs = *cat->list_events(rec.key, 2);
  ASSERT_EQ(evs.size(), 3u);
  EXPECT_EQ(evs[0].type, "comment");
  EXPECT_EQ(evs[1].type, "commit");
  EXPECT_EQ(evs[2].type, "commit");
  Discussion draft;
  draft.title = "draft";
  draft.is_pr = true;
  draft.status = "draft";
  draft.base = "refs/heads/main";
  auto dr = cat->create_discussion(rec.key, draft, DiscussionEvent{"bbbbbbbbbbbbbbbbbbbbbbbb", "comment", "", 1, "{}"}, head);
  ASSERT_TRUE(dr);
  EXPECT_EQ(dr->num, 3);
  EXPECT_EQ(**cat->resolve(rec.key, "refs/pr/3"), head);
  auto all = *cat->list_discussions(rec.key);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].num, 3);
  dr->status = "closed";
  ASSERT_TRUE(cat->update_discussion(rec.key, *dr, DiscussionEvent{"cccccccccccccccccccccccc", "status-change", "", 2, "{}"}));
  EXPECT_EQ((**cat->find_discussion(rec.key, 3)).status, "closed");
  DiscussionEvent edit = evs[0];
  edit.data = "{\"raw\":\"edited\"}";
  ASSERT_TRUE(cat->replace_event(rec.key, 2, edit));
  EXPECT_EQ((*cat->list_events(rec.key, 2))[0].data, "{\"raw\":\"edited\"}");
}

// Two nodes (two catalogs on one database) commit to one branch at once, both with the same
// parent: exactly one succeeds, the other gets Errc::conflict, and the branch holds the winner.
TEST_P(CatalogTest, TwoNodesCommittingToOneBranchGiveOneConflict) {
  auto base = cat->commit(rec.key, nc({put_text("a.txt", "0")}, "base", 100));
  ASSERT_TRUE(base);
  auto other = second_node();
  ASSERT_TRUE(other);
  for (int round = 0; round < 5; ++round) {
    auto head = **cat->resolve(rec.key, "main");
    Catalog* nodes[2] = {cat.get(), other.get()};
    Result<CommitResult> results[2];
    std::atomic<int> ready{0};
    std::vector<std::thread> ts;
    for (int i = 0; i < 2; ++i)
      ts.emplace_back([&, i] {
        NewCommit c = nc({put_text("n" + std::to_string(i), std::to_string(round))}, "node", 200 + round);
        c.expected_parent = head;
        ++ready;
        while (ready.load() < 2) std::this_thread::yield();
        results[i] = nodes[i]->commit(rec.key, c);
      });
    for (auto& t : ts) t.join();
    int ok = 0, conflicts = 0;
    std::string winner;
    for (auto& r : results) {
      if (r) {
        ++ok;
        winner = r->commit;
      } else {
        EXPECT_EQ(r.error().code, Errc::conflict) << r.error().message;
        conflicts += r.error().code == Errc::conflict;
      }
    }
    EXPECT_EQ(ok, 1);
    EXPECT_EQ(conflicts, 1);
    EXPECT_EQ(**other->resolve(rec.key, "main"), winner);
    EXPECT_EQ(**cat->resolve(rec.key, "main"), winner);
  }
  EXPECT_EQ(cat->history(rec.key, **cat->resolve(rec.key, "main"), 0, 100)->total, 6);
}

// Without a parent check every concurrent commit lands, each on top of the previous one.
TEST_P(CatalogTest, ConcurrentCommitsWithoutParentAreAllKept) {
  auto other = second_node();
  ASSERT_TRUE(other);
  Catalog* nodes[2] = {cat.get(), other.get()};
  std::vector<std::thread> ts;
  std::atomic<int> failures{0};
  for (int i = 0; i < 4; ++i)
    ts.emplace_back([&, i] {
      for (int j = 0; j < 5; ++j) {
        auto r = nodes[i % 2]->commit(rec.key, nc({put_text("f" + std::to_string(i) + "_" + std::to_string(j), "x")},
                                                  "c", 100 + j));
        if (!r) ++failures;
      }
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(failures.load(), 0);
  auto head = **cat->resolve(rec.key, "main");
  EXPECT_EQ(cat->history(rec.key, head, 0, 100)->total, 20);
  EXPECT_EQ((*other->snapshot(rec.key, head))->files.size(), 20u);
}
