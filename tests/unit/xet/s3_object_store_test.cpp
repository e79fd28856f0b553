// xet::S3ObjectStore against a real SeaweedFS (the ctest fixture `services`): the ObjectStore
// contract, and reads after the node's local copies were wiped.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "../store/services_env.hpp"
#include "object_contract.hpp"
#include "xet/s3_object_store.hpp"

using namespace hubgate;
using namespace hubgate::xet;

namespace {
std::string scratch_dir(const std::string& tag) {
  auto p = std::filesystem::temp_directory_path() / ("hubgate-xs3-" + tag + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(p);
  return p.string();
}
}  // namespace

TEST(S3ObjectStoreContract, SeaweedFS) {
  auto client = std::make_shared<store::S3Client>(store::testing::services_s3("xet-contract"));
  std::string dir = scratch_dir("contract");
  auto s = S3ObjectStore::open(client, {dir, nullptr});
  ASSERT_TRUE(s) << s.error().message;
  xet::testing::object_store_contract(**s, 7u << 20);  // the streamed xorb goes up in two parts
  EXPECT_EQ(client->counters().multipart_uploads, 1u);
  std::filesystem::remove_all(dir);
}

TEST(S3ObjectStore, WipedLocalCopiesAreFetchedAgain) {
  auto client = std::make_shared<store::S3Client>(store::testing::services_s3("xet-wipe"));
  std::string dir = scratch_dir("wipe");
  std::string data(300000, 'q');
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = char(i * 131 + (i >> 9));
  MerkleHash k = xet::testing::test_key(42);
  {
    auto s = S3ObjectStore::open(client, {dir, nullptr});
    ASSERT_TRUE(s);
    ASSERT_TRUE(*(*s)->put(ObjectKind::xorb, k, as_bytes(data)));
  }
  std::filesystem::remove_all(dir);
  auto s = S3ObjectStore::open(client, {dir, nullptr});
  ASSERT_TRUE(s);
  // A range of an object without a local copy is a ranged GET (nothing copied locally) ...
  EXPECT_EQ(*(*s)->get_range(ObjectKind::xorb, k, 1000, 200), data.substr(1000, 200));
  EXPECT_EQ((*s)->stats().ranged_reads, 1u);
  EXPECT_FALSE(*(*s)->local().size(ObjectKind::xorb, k));
  // ... a file for sendfile is a whole local copy, fetched once.
  auto f = (*s)->local_file(ObjectKind::xorb, k);
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_TRUE(*read_file(*f) == data);
  EXPECT_EQ((*s)->stats().misses, 1u);
  EXPECT_EQ(*(*s)->get(ObjectKind::xorb, k), data);
  EXPECT_EQ((*s)->stats().misses, 1u);
  auto listed = (*s)->list(ObjectKind::xorb);
  ASSERT_TRUE(listed);
  EXPECT_EQ(*listed, std::vector<MerkleHash>{k});
  std::filesystem::remove_all(dir);
}
