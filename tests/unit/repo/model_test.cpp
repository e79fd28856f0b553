#include <gtest/gtest.h>

#include "crypto/sha.hpp"
#include "repo/edit.hpp"
#include "repo/git.hpp"
#include "repo/model.hpp"

using namespace hubgate;
using namespace hubgate::repo;

namespace {
FileOp put_text(std::string path, std::string content) {
  return put_op(std::move(path), content.size(), crypto::sha256_hex(content), crypto::git_blob_sha1_hex(content), false);
}
CommitMeta meta(std::string title, std::int64_t t = 1700000000) {
  CommitMeta m;
  m.title = std::move(title);
  m.author = "Alice <alice@example.com>";
  m.time = t;
  return m;
}
}  // namespace

TEST(RepoId, Validation) {
  EXPECT_TRUE(make_repo_id(RepoType::model, "org", "name-1.x_y"));
  EXPECT_FALSE(make_repo_id(RepoType::model, "..", "x"));
  EXPECT_FALSE(make_repo_id(RepoType::model, "org", "a..b"));
  EXPECT_FALSE(make_repo_id(RepoType::model, "org", "a/b"));
  EXPECT_FALSE(make_repo_id(RepoType::model, "org", "a\\b"));
  EXPECT_FALSE(make_repo_id(RepoType::model, "org", std::string(97, 'a')));
  EXPECT_FALSE(make_repo_id(RepoType::model, "org", "-x"));
  EXPECT_FALSE(make_repo_id(RepoType::model, "api", "x"));
  EXPECT_FALSE(make_repo_id(RepoType::model, "datasets", "x"));
  EXPECT_FALSE(make_repo_id(RepoType::model, "", "x"));
  auto d = make_repo_id(RepoType::dataset, "org", "d");
  EXPECT_EQ(d->qualified(), "datasets/org/d");
  EXPECT_EQ(d->api_plural(), "datasets");
}

TEST(Path, Validation) {
  EXPECT_TRUE(validate_path("a/b/c.txt"));
  EXPECT_TRUE(validate_path(".gitattributes"));
  EXPECT_TRUE(validate_path("a..b"));
  for (std::string bad : {std::string(""), std::string("/abs"), std::string("a/../b"), std::string(".."),
                          std::string("a//b"), std::string("a/"), std::string("a\\b"), std::string("a\0b", 3),
                          std::string("./a"), std::string(1025, 'a'), std::string("x\ny")}) {
    EXPECT_FALSE(validate_path(bad)) << bad;
  }
}

TEST(Git, LfsPointerAndIds) {
  EXPECT_EQ(lfs_pointer("ab", 5), "version https://git-lfs.github.com/spec/v1\noid sha256:ab\nsize 5\n");
  // `git hash-object` of "hi\n" and of an empty file.
  EXPECT_EQ(crypto::git_blob_sha1_hex("hi\n"), "45b983be36b73c0788dc9cbcb76cbb80fc7bb057");
  std::vector<FileEntry> files = {
      {"sub/x.txt", 3, "45b983be36b73c0788dc9cbcb76cbb80fc7bb057", "", false, 0, ""},
  };
  auto trees = compute_trees(files);
  // `git write-tree` for a repository holding only sub/x.txt = "hi\n".
  EXPECT_EQ(trees["sub"], "18e0904aa8a37b3e83a1d7ef282bb0d8455a26dc");
  EXPECT_EQ(trees.size(), 2u);
}

TEST(Git, TreeOrderTreatsFoldersAsSlashSuffixed) {
  // Git sorts "a.txt" < "a/" ('.' 0x2e < '/' 0x2f) and "a/" < "a0" ('/' < '0').
  std::vector<FileEntry> files = {{"a.txt", 0, "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391", "", false, 0, ""},
                                  {"a/b", 0, "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391", "", false, 0, ""},
                                  {"a0", 0, "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391", "", false, 0, ""}};
  auto trees = compute_trees(files);
  // Computed with git 2.39: empty files a.txt, a/b, a0; `git write-tree`.
  EXPECT_EQ(trees[""], "99e132b2b476988064f1327a26c111cc95316150");
}

TEST(Edit, BuildCommitsAndLastCommit) {
  auto s1 = build_commit(nullptr, {put_text("a.txt", "one"), put_text("d/b.txt", "two")}, meta("first"));
  ASSERT_TRUE(s1);
  EXPECT_EQ(s1->files.size(), 2u);
  EXPECT_TRUE(s1->commit.parent.empty());
  EXPECT_EQ(s1->commit.id.size(), 40u);
  EXPECT_EQ(s1->files[0].last_commit, s1->commit.id);
  EXPECT_TRUE(s1->is_dir("d"));

  auto s2 = build_commit(&*s1, {put_text("a.txt", "changed"), put_text("d/b.txt", "two")}, meta("second", 1700000001));
  ASSERT_TRUE(s2);
  EXPECT_EQ(s2->commit.parent, s1->commit.id);
  EXPECT_EQ(s2->find("a.txt")->last_commit, s2->commit.id);
  EXPECT_EQ(s2->find("d/b.txt")->last_commit, s1->commit.id);  // unchanged content keeps its commit
  EXPECT_EQ(s2->dirs.at("d"), s1->dirs.at("d"));

  auto s3 = build_commit(&*s2, {FileOp{FileOp::Kind::delete_folder, {}, "d"}}, meta("third"));
  ASSERT_TRUE(s3);
  EXPECT_EQ(s3->files.size(), 1u);
  EXPECT_FALSE(s3->is_dir("d"));
}

TEST(Edit, Errors) {
  auto s1 = build_commit(nullptr, {put_text("a", "x")}, meta("m"));
  ASSERT_TRUE(s1);
  auto missing = build_commit(&*s1, {FileOp{FileOp::Kind::delete_file, {}, "nope"}}, meta("m"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::not_found);
  auto clash = build_commit(&*s1, {put_text("a/b", "y")}, meta("m"));  // "a" file and folder
  ASSERT_FALSE(clash);
  EXPECT_EQ(clash.error().code, Errc::invalid_argument);
  EXPECT_FALSE(build_commit(nullptr, {put_text("../x", "y")}, meta("m")));
  EXPECT_FALSE(build_commit(&*s1, {FileOp{FileOp::Kind::delete_folder, {}, "zz"}}, meta("m")));
}

TEST(Edit, LfsPutUsesPointerBlob) {
  std::string sha(64, 'a');
  auto op = put_op("w.bin", 1000, sha, "", true);
  std::string ptr = lfs_pointer(sha, 1000);
  EXPECT_EQ(op.entry.blob_sha1, crypto::git_blob_sha1_hex(ptr));
  EXPECT_EQ(op.entry.pointer_size, ptr.size());
  EXPECT_EQ(op.entry.sha256, sha);
}

TEST(Revision, LongestPrefixSplit) {
  auto known = [](std::string_view s) { return s == "main" || s == "refs/pr/1" || s == "feature/x" || s == "refs"; };
  auto r = split_rev_path("refs/pr/1/dir/file.txt", known);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->rev, "refs/pr/1");
  EXPECT_EQ(r->path, "dir/file.txt");
  r = split_rev_path("feature/x/a", known);
  EXPECT_EQ(r->rev, "feature/x");
  EXPECT_EQ(r->path, "a");
  r = split_rev_path("main", known);
  EXPECT_EQ(r->rev, "main");
  EXPECT_EQ(r->path, "");
  EXPECT_FALSE(split_rev_path("nope/a", known));
  EXPECT_TRUE(is_commit_prefix("abcdef0"));
  EXPECT_FALSE(is_commit_prefix("abcdef"));
  EXPECT_FALSE(is_commit_prefix("ABCDEF0"));
  EXPECT_FALSE(is_commit_prefix(std::string(41, 'a')));
}

TEST(Tree, Listing) {
  auto s = build_commit(nullptr,
                        {put_text("a.txt", "1"), put_text("d/b.txt", "2"), put_text("d/e/c.txt", "3"), put_text("z", "4")},
                        meta("m"));
  ASSERT_TRUE(s);
  auto top = list_tree(*s, "", false);
  ASSERT_TRUE(top);
  std::vector<std::string> paths;
  for (const auto& t : *top) paths.push_back(t.path + (t.is_dir ? "/" : ""));
  EXPECT_EQ(paths, (std::vector<std::string>{"a.txt", "d/", "z"}));
  auto all = list_tree(*s, "", true);
  paths.clear();
  for (const auto& t : *all) paths.push_back(t.path + (t.is_dir ? "/" : ""));
  EXPECT_EQ(paths, (std::vector<std::string>{"a.txt", "d/", "d/b.txt", "d/e/", "d/e/c.txt", "z"}));
  auto sub = list_tree(*s, "d", false);
  ASSERT_EQ(sub->size(), 2u);
  EXPECT_EQ((*sub)[1].oid, s->dirs.at("d/e"));
  EXPECT_FALSE(list_tree(*s, "nope", false));
  EXPECT_FALSE(list_tree(*s, "a.txt", false));
}

TEST(VersionHeaders, LfsResolveRawAndRegularFiles) {
  using H = std::vector<std::pair<std::string, std::string>>;
  std::string sha(64, 'a'), oid(40, 'b');
  EXPECT_EQ(repo::version_headers(false, sha, 1234, oid),
            (H{{"ETag", "\"" + sha + "\""}, {"X-Linked-Etag", "\"" + sha + "\""}, {"X-Linked-Size", "1234"}}));
  EXPECT_EQ(repo::version_headers(true, sha, 1234, oid), (H{{"ETag", "\"" + oid + "\""}}));
  EXPECT_EQ(repo::version_headers(false, "", 10, oid), (H{{"ETag", "\"" + oid + "\""}}));
}
