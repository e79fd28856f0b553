#include "upstream/meta_store.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "crypto/sha.hpp"
#include "test_util.hpp"
#include "util/atomic_file.hpp"

using namespace hubgate;
using namespace hubgate::upstream;
using namespace hubgate::upstream::testing;

namespace {
std::string file_of(const TempDir& dir, const std::string& key) {
  std::string h = crypto::sha256_hex(key);
  return dir.str() + "/" + h.substr(0, 2) + "/" + h;
}
}  // namespace

TEST(MetaStore, ValuesSurviveAReopen) {
  TempDir dir;
  {
    auto s = std::move(*MetaStore::open_dir(dir.str()));
    ASSERT_TRUE(s->put("file\tmodels/a/b\tc\tx.bin", "value\nwith lines"));
    EXPECT_EQ(s->get("file\tmodels/a/b\tc\tx.bin"), "value\nwith lines");
  }
  auto s = std::move(*MetaStore::open_dir(dir.str()));
  EXPECT_EQ(s->get("file\tmodels/a/b\tc\tx.bin"), "value\nwith lines");
  EXPECT_EQ(s->get("other"), std::nullopt);
}

TEST(MetaStore, TornEmptyOrOldFormatFilesReadAsAbsent) {
  TempDir dir;
  const std::string key = "ref\tmodels/a/b\tmain";
  {
    auto s = std::move(*MetaStore::open_dir(dir.str()));
    ASSERT_TRUE(s->put(key, "0123456789abcdef0123456789abcdef01234567 1700000000000"));
  }
  std::string path = file_of(dir, key);
  auto whole = read_file(path);
  ASSERT_TRUE(whole);
  ASSERT_TRUE(whole->starts_with("hgmeta1 "));
  for (std::string bad : {whole->substr(0, whole->size() - 5), std::string(), key + "\n" + "0123 1"}) {
    ASSERT_TRUE(write_file_atomic(path, bad));
    auto s = std::move(*MetaStore::open_dir(dir.str()));
    EXPECT_EQ(s->get(key), std::nullopt) << bad;
  }
  ASSERT_TRUE(write_file_atomic(path, *whole));
  auto s = std::move(*MetaStore::open_dir(dir.str()));
  EXPECT_EQ(s->get(key), "0123456789abcdef0123456789abcdef01234567 1700000000000");
}
