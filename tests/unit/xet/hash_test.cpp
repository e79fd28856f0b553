#include "xet/hash.hpp"

#include <gtest/gtest.h>

#include <utility>
#include <vector>

#include "test_data.hpp"
#include "xet/chunker.hpp"

namespace hubgate::xet {
namespace {

#include "agg_vectors.inc"

MerkleHash H(const char* hex) { return *MerkleHash::from_hex(hex); }

TEST(XetHash, HexOfBytes0To31) {
  MerkleHash h;
  for (int i = 0; i < 32; ++i) h.bytes[i] = static_cast<std::uint8_t>(i);
  EXPECT_EQ(h.hex(), "07060504030201000f0e0d0c0b0a090817161514131211101f1e1d1c1b1a1918");
  EXPECT_EQ(*MerkleHash::from_hex(h.hex()), h);
}

TEST(XetHash, HexEndiannessXcVector) {
  const std::uint8_t raw[32] = {22, 175, 58, 132, 4, 75, 131, 214, 190, 153, 138, 66, 226, 3, 153, 242,
                                204, 86, 80, 234, 249, 153, 80, 99, 159, 80, 65, 138, 236, 231, 149, 78};
  MerkleHash h = MerkleHash::from_raw(ByteView(raw, 32));
  EXPECT_EQ(h.hex(), "d6834b04843aaf16f29903e2428a99be635099f9ea5056cc4e95e7ec8a41509f");
  EXPECT_EQ(h.word(0), 0xd6834b04843aaf16ULL);
  EXPECT_EQ(h.word(3), 0x4e95e7ec8a41509fULL);
}

TEST(XetHash, HexParseRejectsBadInput) {
  EXPECT_FALSE(MerkleHash::from_hex("abc"));
  EXPECT_FALSE(MerkleHash::from_hex(std::string(63, '0') + "g"));
  EXPECT_EQ(MerkleHash::from_hex(std::string(64, 'A'))->hex(), std::string(64, 'a'));
}

TEST(XetHash, XcAggregatedHashVectors) {
  ASSERT_EQ(kAggVectors.size(), 18u);
  int checked = 0;
  for (const auto& v : kAggVectors) {
    std::vector<HashAndSize> leaves;
    for (const auto& [h, s] : v.nodes) leaves.push_back({H(h), s});
    MerkleHash root = merkle_root(leaves);
    EXPECT_EQ(root.hex(), v.root) << "nodes=" << leaves.size();
    ++checked;
    for (const auto& [salt, fh] : v.salted) {
      MerkleHash got = leaves.empty() ? MerkleHash{} : file_hash_from_root(root, H(salt));
      EXPECT_EQ(got.hex(), fh) << "nodes=" << leaves.size() << " salt=" << salt;
      ++checked;
    }
  }
  EXPECT_EQ(checked, 72);
}

TEST(XetHash, SpecMerkleAndFileVectors) {
  std::vector<HashAndSize> one = {{H("cfc5d07f6f03c29bbf424132963fe08d19a37d5757aaf520bf08119f05cd56d6"), 100}};
  EXPECT_EQ(merkle_root(one), one[0].hash);
  EXPECT_EQ(file_hash(one).hex(), "8e16257caa3fe079d484d872a8975264b2ff683b0d6db9028cc7c0f968a45661");
  auto three = one;
  three.push_back({H("c3e67584b5c4fc2a89837ec39e40f2c8a6bb0b2987ac94cd4b31e5fbdd210a72"), 200});
  three.push_back({H("0d2beb91b9196929a5ddec9f6e306924ddf4a24268e3e59fd8464738d525af37"), 300});
  EXPECT_EQ(merkle_root(three).hex(), "71ec1275fca074724e2dd666921b3277c7cee603e4d025bcab2d4050015be2bc");
  EXPECT_EQ(file_hash(three).hex(), "54e55dccc6653c612bdb5576c5d3cb34bb31bc4e100248abccf4c908b3ef7715");
  EXPECT_TRUE(file_hash({}).is_zero());
  EXPECT_TRUE(merkle_root({}).is_zero());
}

TEST(XetHash, HelloWorld) {
  auto data = as_bytes("hello world\n");
  auto lens = chunk_lengths(data);
  ASSERT_EQ(lens, std::vector<std::uint32_t>{12});
  MerkleHash c = chunk_hash(data);
  EXPECT_EQ(c.hex(), "6899563fa6b6abb19b8ecdd9f662a6c9acfca9fd4ff9f513086ec6c5685193ab");
  std::vector<HashAndSize> leaves = {{c, 12}};
  EXPECT_EQ(file_hash(leaves).hex(), "a302d931b8763df0bfb9926b9ff26b11c2a77d5be8dde4ce1c8bb7202a6a8681");
}

TEST(XetHash, SplitMixOneMegabyteHashes) {
  auto data = test::splitmix_data(1000000, 0);
  auto lens = chunk_lengths(test::view(data));
  std::vector<HashAndSize> leaves;
  std::size_t off = 0;
  for (auto l : lens) {
    leaves.push_back({chunk_hash(test::view(data).subspan(off, l)), l});
    off += l;
  }
  ASSERT_EQ(leaves.size(), 19u);
  EXPECT_EQ(leaves[0].hash.hex(), "6eca1e7dadaf08cca5d82d318c800f07c2ddcec115a7e8627e5edd9605b94b8d");
  EXPECT_EQ(file_hash(leaves).hex(), "3d17b2d7d64a0e011b6717a52d9a16bd2c3f05b743fa8adf52a7d75dafab6d89");
  std::vector<MerkleHash> first3 = {leaves[0].hash, leaves[1].hash, leaves[2].hash};
  EXPECT_EQ(verification_hash(first3).hex(), "9d229909f34de2ef9143bb807ab4862894ff855af45ff18f79063400cb72383a");
}

TEST(XetHash, HmacIsKeyedHashOfRawBytes) {
  MerkleHash key = H("0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20");
  MerkleHash h = chunk_hash(as_bytes("x"));
  MerkleHash a = hmac(key, h), b = hmac(key, h);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, h);
  EXPECT_NE(hmac(MerkleHash{}, h), a);
}

}  // namespace
}  // namespace hubgate::xet
