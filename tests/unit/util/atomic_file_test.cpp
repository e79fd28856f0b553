#include "util/atomic_file.hpp"

#include <gtest/gtest.h>

#include <filesystem>

using namespace hubgate;
namespace fs = std::filesystem;

namespace {
struct TempDir {
  fs::path path = fs::temp_directory_path() / ("hubgate-test-" + std::to_string(::getpid()) + "-" +
                                               std::to_string(reinterpret_cast<std::uintptr_t>(this)));
  TempDir() { fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
};
}  // namespace

TEST(AtomicFile, InvisibleUntilCommitted) {
  TempDir dir;
  std::string dest = (dir.path / "a" / "b" / "file").string();
  auto f = AtomicFile::create(dest);
  ASSERT_TRUE(f) << f.error().message;
  ASSERT_TRUE(f->write(std::string_view("hello")));
  EXPECT_FALSE(fs::exists(dest));
  ASSERT_TRUE(f->commit());
  EXPECT_EQ(*read_file(dest), "hello");
  // Only the destination remains; no temporary files.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path / "a" / "b"), fs::directory_iterator()), 1);
}

TEST(AtomicFile, CommitWithoutFsyncReplacesTheFile) {
  TempDir dir;
  std::string dest = (dir.path / "file").string();
  ASSERT_TRUE(write_file_atomic(dest, "old"));
  auto f = AtomicFile::create(dest);
  ASSERT_TRUE(f);
  ASSERT_TRUE(f->write(std::string_view("new contents")));
  EXPECT_EQ(*read_file(dest), "old");
  ASSERT_TRUE(f->commit(AtomicFile::Durability::none));
  EXPECT_EQ(*read_file(dest), "new contents");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator()), 1);
  EXPECT_FALSE(f->commit());  // inert after a commit
}

TEST(AtomicFile, AbandonedOnDestruction) {
  TempDir dir;
  std::string dest = (dir.path / "file").string();
  {
    auto f = AtomicFile::create(dest);
    ASSERT_TRUE(f);
    ASSERT_TRUE(f->write(std::string_view("partial")));
  }
  EXPECT_FALSE(fs::exists(dest));
  EXPECT_TRUE(fs::is_empty(dir.path));
}

TEST(AtomicFile, ReadMissingFileIsNotFound) {
  auto r = read_file("/nonexistent/hubgate/file");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::not_found);
}

TEST(AtomicFile, ReserveKeepsTheSizeAndCommitsOnlyWhatWasWritten) {
  TempDir dir;
  std::string dest = (dir.path / "file").string();
  auto f = AtomicFile::create(dest);
  ASSERT_TRUE(f);
  ASSERT_TRUE(f->reserve(4u << 20));
  ASSERT_TRUE(f->write(std::string_view("abc")));
  EXPECT_EQ(fs::file_size(f->temp_path()), 3u);  // blocks reserved, size unchanged
  ASSERT_TRUE(f->commit());
  EXPECT_EQ(*read_file(dest), "abc");
}

TEST(AtomicFile, ReserveBeyondTheDiskFailsWithAMessage) {
  TempDir dir;
  auto f = AtomicFile::create((dir.path / "file").string());
  ASSERT_TRUE(f);
  auto r = f->reserve(std::uint64_t{1} << 62);  // 4 EiB: no file system has that much room
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("fallocate"), std::string::npos) << r.error().message;
}
