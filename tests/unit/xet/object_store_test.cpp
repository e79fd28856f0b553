// The ObjectStore contract on the local implementation (object_contract.hpp; the same checks run
// on SeaweedFS in s3_object_store_test.cpp).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "object_contract.hpp"

using namespace hubgate;

TEST(ObjectStoreContract, Local) {
  auto root = std::filesystem::temp_directory_path() / ("hubgate-objcontract-" + std::to_string(::getpid()));
  std::filesystem::remove_all(root);
  auto s = xet::LocalObjectStore::open(root.string());
  ASSERT_TRUE(s);
  xet::testing::object_store_contract(**s);
  auto f = (*s)->local_file(xet::ObjectKind::xorb, xet::testing::test_key(3));
  ASSERT_TRUE(f);
  EXPECT_EQ(*f, (*s)->path_of(xet::ObjectKind::xorb, xet::testing::test_key(3)));
  EXPECT_EQ((*s)->local_file(xet::ObjectKind::xorb, xet::testing::test_key(1)).error().code, Errc::not_found);
  std::filesystem::remove_all(root);
}
