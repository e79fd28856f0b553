// Ingest results pinned before the chunker/ingest speed-ups: for deterministic inputs (random,
// an edited copy that dedups against it, zeros, a short file, bf16-like weights, a
// concatenation), streamed in odd write sizes into a store with 1 MiB xorbs, the Xet file hash,
// the number of segments, the number of new chunks and a digest of every segment (xorb hash,
// chunk range, bytes) must stay exactly what they were. Compression choices may change stored
// sizes, never these; so must the number of ingest threads.
#include <gtest/gtest.h>

#include <cstdio>

#include "crypto/blake3.hpp"
#include "test_data.hpp"
#include "xet/chunk_store.hpp"

namespace hubgate::xet {
namespace {

std::string bf16_like(std::size_t n, std::uint64_t seed) {
  auto r = test::splitmix_data(n, seed);
  std::string s(r.begin(), r.end());
  for (std::size_t i = 1; i < n; i += 2) s[i] = static_cast<char>(0x3c ^ (static_cast<std::uint8_t>(s[i]) & 0x81));
  return s;
}

struct Golden {
  std::size_t size;
  const char* file_hash;
  std::size_t segments;
  std::uint64_t new_chunks;
  const char* segment_digest;
};

// Captured with the chunk store as of main@bc6c46d (before the fast chunker and the ingest
// pipeline).
const Golden kGolden[] = {
    {3145728, "eb3b80e76f870555f8b9bbe6d146572a495a360fbbe835d67c6026bfccb86f21", 4, 50,
     "5cff0f6f506466ecd80658ea37845848dbec60c7f4b9a42029efd7af3d3b5aee"},
    {3245728, "5e8fa5e5d625aa33801e94ad9813daf2f33640ffef2ac168cf8363caa250e920", 5, 2,
     "771ba787c2eba4b332fcd0d4fc64dc51ee09f43cf2d2334651954a2031f5c9e4"},
    {300000, "3d7bd4178bc2851ba07d59c24c3a88ae0c7220e9920d6c5c6a06b01556d46404", 2, 2,
     "aee8d7f99067d4617d175fd1deaa4cb5785def5e7f44e2b4f581310c8f30f39e"},
    {5000, "4135ae1baca54cc2b3ae3e8d3c68baa776ae6d51bf8c9747f1a9621ee1af25f3", 1, 1,
     "f1493b6eb93d02750d311e415043e7a5a0ae6e5c107e0590839d939c96215b42"},
    {2097152, "f4ab95b034f1c10aa3f73cdc06c37c5623372a99372b352fce693128e08976af", 3, 35,
     "c4e23a83a578caee3acef5a70ad0f58c99703404926f357a9914bfe8c76bf2ea"},
    {5242880, "122f9f32c38d8ed79bdd4abf2e97be9470b94c662b628455065430ba1f2fc20d", 8, 1,
     "7405da83c8caaa1450bf59beebbfcd8683d0babacf1334535420abe83a85c87b"},
};

MerkleHash segment_digest(const FileRecord& rec) {
  crypto::Blake3 d;
  for (const auto& s : rec.segments) {
    d.update(as_bytes(s.xorb_hash.hex()));
    char b[64];
    int n = std::snprintf(b, sizeof b, ":%u-%u:%u;", s.chunk_start, s.chunk_end, s.unpacked_bytes);
    d.update(ByteView(reinterpret_cast<const std::uint8_t*>(b), static_cast<std::size_t>(n)));
  }
  MerkleHash h;
  h.bytes = d.finalize();
  return h;
}

TEST(XetIngestGolden, HashesAndSegmentsUnchanged) {
  struct Config {
    CompressionPolicy policy;
    unsigned threads;
  };
  for (Config cfg : {Config{CompressionPolicy::automatic, 2}, Config{CompressionPolicy::automatic, 1}, Config{CompressionPolicy::none, 3},
                     Config{CompressionPolicy::bg4_lz4, 2}}) {
    SCOPED_TRACE("threads " + std::to_string(cfg.threads) + " policy " + std::to_string(static_cast<int>(cfg.policy)));
    auto mem = std::make_shared<MemoryObjectStore>();
    ChunkStoreOptions o;
    o.max_xorb_bytes = 1 << 20;
    o.compression = cfg.policy;
    o.ingest_threads = cfg.threads;
    auto opened = ChunkStore::open(mem, o);
    ASSERT_TRUE(opened);
    auto& store = **opened;
    auto a = test::splitmix_data(3 << 20, 11);
    std::string A(a.begin(), a.end());
    auto x = test::splitmix_data(100000, 12);
    std::string B = A.substr(0, 1 << 20) + std::string(x.begin(), x.end()) + A.substr(1 << 20);
    std::string Z(300000, '\0'), S = A.substr(0, 5000), F = bf16_like(2 << 20, 13);
    const std::string inputs[] = {A, B, Z, S, F, A + F};
    for (std::size_t i = 0; i < std::size(inputs); ++i) {
      const std::string& in = inputs[i];
      FileWriter w = store.ingest();
      // Odd write sizes, 1 byte .. 300 KB (gathered into batches), or 2.5 MB (processed in place).
      const std::size_t big = i % 2 ? 2500000 : 0;
      for (std::size_t off = 0, k = 0; off < in.size(); ++k) {
        std::size_t l = std::min<std::size_t>(in.size() - off, big ? big : 1 + (k * 7919) % 300000);
        ASSERT_TRUE(w.write(as_bytes(in).subspan(off, l)));
        off += l;
      }
      IngestStats st;
      auto rec = w.finish(&st);
      ASSERT_TRUE(rec) << rec.error().message;
      const Golden& g = kGolden[i];
      EXPECT_EQ(rec->size, g.size) << i;
      EXPECT_EQ(rec->file_hash.hex(), g.file_hash) << i;
      EXPECT_EQ(rec->segments.size(), g.segments) << i;
      EXPECT_EQ(st.new_chunks, g.new_chunks) << i;
      EXPECT_EQ(segment_digest(*rec).hex(), g.segment_digest) << i;
      std::string back;
      ASSERT_TRUE(store.read(*rec, 0, rec->size, back));
      EXPECT_TRUE(back == in) << i;
    }
  }
}

}  // namespace
}  // namespace hubgate::xet
