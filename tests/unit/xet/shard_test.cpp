#include "xet/shard.hpp"

#include <gtest/gtest.h>

#include <cstring>

#include "crypto/sha.hpp"
#include "test_data.hpp"

namespace hubgate::xet {
namespace {

ShardWriteOptions no_footer() {
  ShardWriteOptions o;
  o.footer = false;
  return o;
}
ShardParseOptions parse_opts(bool require_verification, std::size_t max_records = 1u << 22) {
  ShardParseOptions o;
  o.require_verification = require_verification;
  o.max_records = max_records;
  return o;
}

MerkleHash hash_of(int i) { return chunk_hash(as_bytes(std::to_string(i))); }

Shard sample() {
  Shard s;
  for (int f = 0; f < 3; ++f) {
    FileInfo fi;
    fi.file_hash = hash_of(1000 + f);
    for (int k = 0; k <= f; ++k) {
      fi.segments.push_back({hash_of(k), 1000u + static_cast<std::uint32_t>(k), static_cast<std::uint32_t>(k), static_cast<std::uint32_t>(k + 2)});
      if (f != 1) fi.verification.push_back(hash_of(5000 + k));
    }
    if (f != 2) fi.sha256 = crypto::sha256(std::to_string(f));
    s.files.push_back(fi);
  }
  for (int x = 0; x < 2; ++x) {
    CasInfo ci;
    ci.xorb_hash = hash_of(x);
    std::uint32_t off = 0;
    for (int c = 0; c < 4 + x; ++c) {
      ci.chunks.push_back({hash_of(100 * x + c), off, 100u + static_cast<std::uint32_t>(c), c == 0 ? kChunkFlagGlobalDedup : 0});
      off += 100 + c;
    }
    ci.unpacked_total = off;
    ci.bytes_on_disk = 12345;
    s.xorbs.push_back(ci);
  }
  return s;
}

TEST(XetShard, RoundTripWithAndWithoutFooter) {
  Shard s = sample();
  for (bool footer : {true, false}) {
    ShardWriteOptions o;
    o.footer = footer;
    o.creation_ts = 1700000000;
    std::string bytes = serialize_shard(s, o);
    EXPECT_EQ(bytes.size() % 4, 0u);
    auto p = parse_shard(as_bytes(bytes));
    ASSERT_TRUE(p) << p.error().message;
    EXPECT_EQ(p->files, s.files);
    EXPECT_EQ(p->xorbs, s.xorbs);
    EXPECT_EQ(p->footer.has_value(), footer);
    if (footer) {
      EXPECT_EQ(p->footer->file_info_offset, 48u);
      EXPECT_EQ(p->footer->creation_ts, 1700000000u);
      EXPECT_EQ(p->footer->footer_offset + 200, bytes.size());
      EXPECT_EQ(p->footer->chunk_lookup_num_entry, 9u);
      EXPECT_EQ(p->footer->file_lookup_num_entry, 3u);
      // file_lookup_offset is the end of the CAS bookend.
      EXPECT_EQ(std::memcmp(bytes.data() + p->footer->file_lookup_offset - 48, std::string(32, '\xff').data(), 32), 0);
    }
  }
}

TEST(XetShard, Sha256StoredWithGroupsReversedSoXetHexIsPlainHex) {
  Shard s;
  FileInfo fi;
  fi.file_hash = hash_of(1);
  fi.sha256 = crypto::sha256("abc");
  s.files.push_back(fi);
  std::string bytes = serialize_shard(s, no_footer());
  // header 48 + file header 48 -> metadata ext record at 96.
  MerkleHash stored = MerkleHash::from_raw(as_bytes(bytes).subspan(96, 32));
  EXPECT_EQ(stored.hex(), crypto::sha256_hex("abc"));
}

TEST(XetShard, RequireVerification) {
  std::string bytes = serialize_shard(sample());
  EXPECT_FALSE(parse_shard(as_bytes(bytes), parse_opts(true)));
  EXPECT_TRUE(parse_shard(as_bytes(bytes)));
}

TEST(XetShard, CorruptInputsGiveErrors) {
  std::string bytes = serialize_shard(sample(), no_footer());
  // Bad tag, version, footer size.
  for (std::size_t at : {0u, 32u, 40u}) {
    std::string b = bytes;
    b[at] ^= 1;
    EXPECT_FALSE(parse_shard(as_bytes(b))) << at;
  }
  // A lying segment count.
  std::string b = bytes;
  b[48 + 36] = static_cast<char>(0xff);
  b[48 + 37] = static_cast<char>(0xff);
  auto r = parse_shard(as_bytes(b));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("records"), std::string::npos);
  // Missing bookends (truncation) at every record boundary.
  for (std::size_t cut = 48; cut < bytes.size(); cut += 48) EXPECT_FALSE(parse_shard(as_bytes(bytes).subspan(0, cut))) << cut;
  // Record cap.
  EXPECT_FALSE(parse_shard(as_bytes(bytes), parse_opts(false, 5)));
  // Single-byte flips never crash.
  for (std::size_t i = 0; i < bytes.size(); i += 7) {
    std::string m = bytes;
    m[i] ^= 0xa5;
    (void)parse_shard(as_bytes(m));
  }
}

}  // namespace
}  // namespace hubgate::xet
