#include "crypto/sha.hpp"

#include <gtest/gtest.h>

#include "util/hex.hpp"

using namespace hubgate;

TEST(Sha, KnownVectors) {
  EXPECT_EQ(crypto::sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(crypto::sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // `git hash-object` of "hello\n".
  EXPECT_EQ(crypto::git_blob_sha1_hex("hello\n"), "ce013625030ba8dba906f756967f9e9ca394464a");
  EXPECT_EQ(crypto::git_blob_sha1_hex(""), "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391");
}

TEST(Sha, StreamingEqualsOneShot) {
  std::string data(100000, 'x');
  crypto::Sha256 h;
  for (std::size_t i = 0; i < data.size(); i += 777) h.update(std::string_view(data).substr(i, 777));
  EXPECT_EQ(to_hex(h.final()), crypto::sha256_hex(data));
}
