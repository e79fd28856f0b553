// Git-format diffs: hunks, context, function context, missing final newlines, file headers,
// LFS pointers and binary files. Expected texts are what `git diff` prints for the same input.
#include <gtest/gtest.h>

#include <map>

#include "crypto/sha.hpp"
#include "repo/diff.hpp"
#include "repo/git.hpp"

using namespace hubgate;
using namespace hubgate::repo;

namespace {

std::string lines(int from, int to) {
  std::string s;
  for (int i = from; i <= to; ++i) s += std::to_string(i) + "\n";
  return s;
}

FileEntry text_file(const std::string& path, const std::string& content) {
  FileEntry f;
  f.path = path;
  f.size = content.size();
  f.sha256 = crypto::sha256_hex(content);
  f.blob_sha1 = crypto::git_blob_sha1_hex(content);
  return f;
}

}  // namespace

TEST(UnifiedHunks, EqualTextsHaveNone) {
  EXPECT_EQ(unified_hunks("a\nb\n", "a\nb\n"), "");
  EXPECT_EQ(unified_hunks("", ""), "");
}

TEST(UnifiedHunks, OneChangeWithThreeLinesOfContext) {
  std::string a = lines(1, 10), b = a;
  b.replace(b.find("5\n"), 2, "five\n");
  EXPECT_EQ(unified_hunks(a, b), "@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n");
}

TEST(UnifiedHunks, FarChangesAreTwoHunksNearOnesOne) {
  std::string a = lines(1, 30);
  std::string far = a, near = a;
  far.replace(far.find("\n2\n") + 1, 2, "x\n");
  far.replace(far.find("\n25\n") + 1, 3, "y\n");
  EXPECT_EQ(unified_hunks(a, far),
            "@@ -1,5 +1,5 @@\n 1\n-2\n+x\n 3\n 4\n 5\n@@ -22,7 +22,7 @@\n 22\n 23\n 24\n-25\n+y\n 26\n 27\n 28\n");
  near.replace(near.find("\n10\n") + 1, 3, "");  // delete 10
  near.replace(near.find("\n16\n") + 1, 3, "");  // delete 16: six lines apart, one hunk
  EXPECT_EQ(unified_hunks(a, near), "@@ -7,13 +7,11 @@\n 7\n 8\n 9\n-10\n 11\n 12\n 13\n 14\n 15\n-16\n 17\n 18\n 19\n");
}

TEST(UnifiedHunks, FunctionContextIsTheNearestLineStartingWithALetter) {
  std::string a = "int f() {\n  1\n  2\n  3\n  4\n  5\n  6\n}\n", b = a;
  b.replace(b.find("  5\n"), 4, "  five\n");
  EXPECT_EQ(unified_hunks(a, b), "@@ -3,6 +3,6 @@ int f() {\n   2\n   3\n   4\n-  5\n+  five\n   6\n }\n");
}

TEST(UnifiedHunks, AddedDeletedAndMissingNewline) {
  EXPECT_EQ(unified_hunks("", "a\nb\n"), "@@ -0,0 +1,2 @@\n+a\n+b\n");
  EXPECT_EQ(unified_hunks("a\n", ""), "@@ -1 +0,0 @@\n-a\n");
  EXPECT_EQ(unified_hunks("x\ny", "x\nz"),
            "@@ -1,2 +1,2 @@\n x\n-y\n\\ No newline at end of file\n+z\n\\ No newline at end of file\n");
  EXPECT_EQ(unified_hunks("x\ny", "x\ny\n"), "@@ -1,2 +1,2 @@\n x\n-y\n\\ No newline at end of file\n+y\n");
}

TEST(UnifiedHunks, ReplacedRunsListDeletionsFirst) {
  EXPECT_EQ(unified_hunks("a\nb\nc\n", "a\nB\nC\n"), "@@ -1,3 +1,3 @@\n a\n-b\n-c\n+B\n+C\n");
}

TEST(GitDiff, HeadersForAddedDeletedModifiedEmptyLfsAndBinary) {
  const std::string old_text = "keep\nold\n", new_text = "keep\nnew\n", bin = std::string("\0bin", 4);
  Snapshot from, to;
  from.files = {text_file("a.txt", old_text), text_file("bin.dat", bin), text_file("gone.txt", "bye\n")};
  FileEntry lfs_old = text_file("w.bin", "");
  lfs_old.lfs = true;
  lfs_old.sha256 = std::string(64, 'a');
  lfs_old.size = 10;
  lfs_old.blob_sha1 = crypto::git_blob_sha1_hex(lfs_pointer(lfs_old.sha256, 10));
  FileEntry lfs_new = lfs_old;
  lfs_new.sha256 = std::string(64, 'b');
  lfs_new.size = 12;
  lfs_new.blob_sha1 = crypto::git_blob_sha1_hex(lfs_pointer(lfs_new.sha256, 12));
  from.files.push_back(lfs_old);
  to.files = {text_file("a.txt", new_text), text_file("bin.dat", bin + "x"), text_file("empty.txt", ""), lfs_new};
  std::map<std::string, std::string> content = {{from.files[0].sha256, old_text}, {from.files[1].sha256, bin},
                                                {from.files[2].sha256, "bye\n"}, {to.files[0].sha256, new_text},
                                                {to.files[1].sha256, bin + "x"}, {to.files[2].sha256, ""}};
  auto read = [&](const FileEntry& f) -> Result<std::string> { return content.at(f.sha256); };
  auto abbrev = [](const FileEntry& f) { return f.blob_sha1.substr(0, 7); };
  std::string want =
      "diff --git a/a.txt b/a.txt\nindex " + abbrev(from.files[0]) + ".." + abbrev(to.files[0]) + " 100644\n"
      "--- a/a.txt\n+++ b/a.txt\n@@ -1,2 +1,2 @@\n keep\n-old\n+new\n"
      "diff --git a/bin.dat b/bin.dat\nindex " + abbrev(from.files[1]) + ".." + abbrev(to.files[1]) + " 100644\n"
      "Binary files a/bin.dat and b/bin.dat differ\n"
      "diff --git a/empty.txt b/empty.txt\nnew file mode 100644\nindex 0000000..e69de29\n"
      "diff --git a/gone.txt b/gone.txt\ndeleted file mode 100644\nindex " + abbrev(from.files[2]) + "..0000000\n"
      "--- a/gone.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-bye\n"
      "diff --git a/w.bin b/w.bin\nindex " + abbrev(lfs_old) + ".." + abbrev(lfs_new) + " 100644\n"
      "--- a/w.bin\n+++ b/w.bin\n@@ -1,3 +1,3 @@\n version https://git-lfs.github.com/spec/v1\n"
      "-oid sha256:" + std::string(64, 'a') + "\n-size 10\n+oid sha256:" + std::string(64, 'b') + "\n+size 12\n";
  EXPECT_EQ(git_diff(from, to, read), want);
  EXPECT_EQ(git_diff(to, to, read), "");
}
