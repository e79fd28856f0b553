#include "xet/chunk_store.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "crypto/sha.hpp"
#include "test_data.hpp"
#include "xet/chunker.hpp"

namespace hubgate::xet {
namespace {

std::string to_string(const std::vector<std::uint8_t>& v) { return std::string(v.begin(), v.end()); }

// Expected Xet file hash computed independently of the store.
MerkleHash expected_file_hash(const std::string& data) {
  std::vector<HashAndSize> leaves;
  std::size_t off = 0;
  for (auto l : chunk_lengths(as_bytes(data))) {
    leaves.push_back({chunk_hash(as_bytes(data).subspan(off, l)), l});
    off += l;
  }
  return file_hash(leaves);
}

// A small but real safetensors file: 8-byte header length, JSON header, f32/bf16 tensor data.
std::string make_safetensors(std::size_t floats, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string data;
  for (std::size_t i = 0; i < floats; ++i) {
    float f = static_cast<float>(static_cast<double>(rng() % 20000) / 10000.0 - 1.0) * 0.02f;
    char b[4];
    std::memcpy(b, &f, 4);
    data.append(b, 4);
  }
  std::string header = "{\"__metadata__\":{\"format\":\"pt\"},\"w\":{\"dtype\":\"F32\",\"shape\":[" + std::to_string(floats) +
                       "],\"data_offsets\":[0," + std::to_string(data.size()) + "]}}";
  while (header.size() % 8) header += ' ';
  std::string out;
  put_le<std::uint64_t>(out, header.size());
  return out + header + data;
}

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    mem = std::make_shared<MemoryObjectStore>();
    faulty = std::make_shared<FaultyObjectStore>(mem);
    auto s = ChunkStore::open(faulty);
    ASSERT_TRUE(s);
    store = std::move(*s);
  }
  void round_trip(const std::string& data, const char* what) {
    IngestStats st;
    auto rec = store->ingest_bytes(as_bytes(data), &st);
    ASSERT_TRUE(rec) << what << ": " << rec.error().message;
    EXPECT_EQ(rec->size, data.size()) << what;
    EXPECT_EQ(rec->sha256, crypto::sha256(data)) << what;
    EXPECT_EQ(rec->file_hash, expected_file_hash(data)) << what;
    std::string back;
    ASSERT_TRUE(store->read(*rec, 0, rec->size, back)) << what;
    EXPECT_EQ(crypto::sha256(back), crypto::sha256(data)) << what;
    auto found = store->lookup(rec->file_hash);
    ASSERT_TRUE(found) << what;
    EXPECT_EQ(found->segments, rec->segments);
    // Second ingest stores nothing new.
    std::uint64_t before = mem->total_bytes(ObjectKind::xorb) + mem->total_bytes(ObjectKind::shard);
    IngestStats st2;
    auto again = store->ingest_bytes(as_bytes(data), &st2);
    ASSERT_TRUE(again);
    EXPECT_EQ(again->file_hash, rec->file_hash);
    EXPECT_EQ(st2.new_chunks, 0u) << what;
    EXPECT_EQ(st2.stored_bytes, 0u) << what;
    EXPECT_EQ(mem->total_bytes(ObjectKind::xorb) + mem->total_bytes(ObjectKind::shard), before) << what;
  }
  std::shared_ptr<MemoryObjectStore> mem;
  std::shared_ptr<FaultyObjectStore> faulty;
  std::unique_ptr<ChunkStore> store;
};

TEST_F(StoreTest, RoundTripSizes) {
  round_trip("", "empty");
  round_trip("x", "1 byte");
  round_trip(to_string(test::random_bytes(5000, 1)), "5000 bytes");
  round_trip(to_string(test::random_bytes(131072, 2)), "128 KiB");
  round_trip(make_safetensors(300000, 3), "safetensors");
}

TEST_F(StoreTest, EmptyFileHashIsZero) {
  auto rec = store->ingest_bytes({});
  ASSERT_TRUE(rec);
  EXPECT_TRUE(rec->file_hash.is_zero());
  EXPECT_TRUE(rec->segments.empty());
  std::string out;
  EXPECT_TRUE(store->read(*rec, 0, 10, out));
  EXPECT_TRUE(out.empty());
}

TEST_F(StoreTest, LargeRandomFileStreamedInOddPieces) {
  auto data = to_string(test::splitmix_data(72 << 20, 17));
  FileWriter w = store->ingest();
  std::mt19937_64 rng(1);
  for (std::size_t off = 0; off < data.size();) {
    std::size_t n = std::min<std::size_t>(data.size() - off, 1 + rng() % (3 << 20));
    ASSERT_TRUE(w.write(as_bytes(data).subspan(off, n)));
    off += n;
  }
  IngestStats st;
  auto rec = w.finish(&st);
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->file_hash, expected_file_hash(data));
  EXPECT_GE(st.xorbs_written, 2u);  // > 64 MiB needs two xorbs
  std::string back;
  ASSERT_TRUE(store->read(*rec, 0, rec->size, back));
  EXPECT_TRUE(back == data);
}

TEST_F(StoreTest, LargeZeroFileDedupsToOneChunk) {
  std::string zeros(128 << 20, '\0');
  IngestStats st;
  auto rec = store->ingest_bytes(as_bytes(zeros), &st);
  ASSERT_TRUE(rec);
  EXPECT_EQ(st.chunks, 1024u);
  EXPECT_EQ(st.new_chunks, 1u);
  // One tiny xorb; the shard lists 1024 one-chunk terms (a repeated chunk cannot extend a term),
  // 96 bytes each with its verification entry.
  EXPECT_LT(st.stored_bytes, 1024u * 96 + 4096);
  EXPECT_EQ(rec->segments.size(), 1024u);
  std::string back;
  ASSERT_TRUE(store->read(*rec, 0, rec->size, back));
  EXPECT_TRUE(back == zeros);
}

TEST_F(StoreTest, RangeReadsTouchOnlyNeededChunks) {
  auto data = to_string(test::random_bytes(20 << 20, 5));
  auto rec = store->ingest_bytes(as_bytes(data));
  ASSERT_TRUE(rec);
  std::mt19937_64 rng(3);
  for (int i = 0; i < 60; ++i) {
    std::uint64_t off = rng() % (data.size() + 10), len = rng() % (i % 2 ? 300000 : 100);
    std::string out;
    faulty->reset_counters();
    ASSERT_TRUE(store->read(*rec, off, len, out));
    std::string want = off < data.size() ? data.substr(off, len) : "";
    ASSERT_EQ(out, want) << off << "+" << len;
    // At most the chunks overlapping the range, plus one chunk on either side (<= 128 KiB each).
    EXPECT_LE(faulty->bytes_read(), want.size() + 2 * kMaxChunk + 64) << off << "+" << len;
  }
  auto plan = store->plan(*rec, 1000, 10);
  ASSERT_TRUE(plan);
  ASSERT_EQ(plan->terms.size(), 1u);
  EXPECT_EQ(plan->terms[0].chunk_end - plan->terms[0].chunk_start, 1u);
  EXPECT_EQ(plan->offset_into_first_range, 1000u);
}

TEST_F(StoreTest, SharedChunksAcrossFilesAreStoredOnce) {
  auto base = to_string(test::random_bytes(4 << 20, 8));
  auto rec1 = store->ingest_bytes(as_bytes(base));
  ASSERT_TRUE(rec1);
  std::string edited = base.substr(0, 2 << 20) + std::string(1 << 20, 'Z') + base.substr(2 << 20);
  IngestStats st;
  auto rec2 = store->ingest_bytes(as_bytes(edited), &st);
  ASSERT_TRUE(rec2);
  EXPECT_LT(st.new_chunk_bytes, (1 << 20) + 3 * kMaxChunk);
  std::string back;
  ASSERT_TRUE(store->read(*rec2, 0, rec2->size, back));
  EXPECT_TRUE(back == edited);
}

TEST_F(StoreTest, FailedPublishLeavesNothingVisibleAndGcCollectsOrphans) {
  auto data = to_string(test::random_bytes(3 << 20, 9));
  faulty->fail_puts_after(1);  // the xorb lands, the shard does not
  auto rec = store->ingest_bytes(as_bytes(data));
  ASSERT_FALSE(rec);
  faulty->fail_puts_after(-1);
  EXPECT_EQ(store->file_count(), 0u);
  auto reopened = ChunkStore::open(faulty);
  ASSERT_TRUE(reopened);
  EXPECT_EQ((*reopened)->file_count(), 0u);
  EXPECT_EQ(mem->list(ObjectKind::xorb)->size(), 1u);
  auto gc = (*reopened)->collect_garbage({});
  ASSERT_TRUE(gc);
  EXPECT_EQ(gc->xorbs_removed, 1u);
  EXPECT_EQ(mem->list(ObjectKind::xorb)->size(), 0u);
}

// A xorb put that fails in the background (2 ingest threads, 1 MiB xorbs) fails the ingest at the
// latest in finish(): no file and no shard become visible, the xorbs that did land are garbage.
TEST(XetChunkStoreThreads, BackgroundPutFailureFailsTheIngest) {
  for (std::int64_t ok_puts : {0, 1, 2}) {
    auto mem = std::make_shared<MemoryObjectStore>();
    auto faulty = std::make_shared<FaultyObjectStore>(mem);
    ChunkStoreOptions o;
    o.max_xorb_bytes = 1 << 20;
    o.ingest_threads = 2;
    auto s = ChunkStore::open(faulty, o);
    ASSERT_TRUE(s);
    auto data = to_string(test::random_bytes(6 << 20, 21));
    faulty->fail_puts_after(ok_puts);
    FileWriter w = (*s)->ingest();
    bool failed = false;
    for (std::size_t off = 0; off < data.size() && !failed; off += 2 << 20) failed = !w.write(as_bytes(data).subspan(off, 2 << 20));
    if (!failed) failed = !w.finish();
    EXPECT_TRUE(failed) << ok_puts;
    EXPECT_EQ((*s)->file_count(), 0u) << ok_puts;
    EXPECT_EQ(mem->list(ObjectKind::shard)->size(), 0u) << ok_puts;
    EXPECT_EQ(mem->list(ObjectKind::xorb)->size(), static_cast<std::size_t>(ok_puts)) << ok_puts;
  }
}

// Writers of one store reuse xorb buffers and may run concurrently (each with its helpers).
TEST(XetChunkStoreThreads, ConcurrentWritersGiveTheSameRecords) {
  auto mem = std::make_shared<MemoryObjectStore>();
  auto s = ChunkStore::open(mem);
  ASSERT_TRUE(s);
  std::vector<std::string> inputs;
  for (int i = 0; i < 4; ++i) inputs.push_back(to_string(test::random_bytes((3 << 20) + 1000 * i, 30 + i)));
  std::vector<Result<FileRecord>> recs(inputs.size(), fail(Errc::internal, "not run"));
  {
    std::vector<std::thread> ts;
    for (std::size_t i = 0; i < inputs.size(); ++i) ts.emplace_back([&, i] { recs[i] = (*s)->ingest_bytes(as_bytes(inputs[i])); });
    for (auto& t : ts) t.join();
  }
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    ASSERT_TRUE(recs[i]) << i;
    EXPECT_EQ(recs[i]->file_hash, expected_file_hash(inputs[i])) << i;
    std::string back;
    ASSERT_TRUE((*s)->read(*recs[i], 0, recs[i]->size, back));
    EXPECT_TRUE(back == inputs[i]) << i;
  }
  EXPECT_EQ((*s)->file_count(), inputs.size());
}

TEST_F(StoreTest, GcKeepsLiveFilesAndDropsDeadOnes) {
  auto a = to_string(test::random_bytes(2 << 20, 10));
  auto b = to_string(test::random_bytes(2 << 20, 11));
  auto ra = store->ingest_bytes(as_bytes(a));
  auto rb = store->ingest_bytes(as_bytes(b));
  ASSERT_TRUE(ra && rb);
  std::vector<MerkleHash> live = {ra->file_hash};
  auto gc = store->collect_garbage(live);
  ASSERT_TRUE(gc);
  EXPECT_EQ(gc->xorbs_removed, 1u);
  EXPECT_EQ(gc->xorbs_kept, 1u);
  EXPECT_FALSE(store->lookup(rb->file_hash));
  std::string back;
  ASSERT_TRUE(store->read(*ra, 0, ra->size, back));
  EXPECT_TRUE(back == a);
  // The compacted shard is the durable index: a reopened store sees the same.
  auto reopened = ChunkStore::open(mem);
  ASSERT_TRUE(reopened);
  EXPECT_EQ((*reopened)->file_count(), 1u);
  EXPECT_TRUE((*reopened)->lookup(ra->file_hash));
  // GC while a writer is open is refused.
  {
    FileWriter w = store->ingest();
    EXPECT_FALSE(store->collect_garbage(live));
  }
}

TEST(XetChunkStoreDisk, IndexSurvivesRestart) {
  std::string root = ::testing::TempDir() + "/xet_store_" + std::to_string(::getpid());
  std::filesystem::remove_all(root);
  auto data = to_string(test::random_bytes(3 << 20, 12));
  MerkleHash fh;
  {
    auto objs = LocalObjectStore::open(root);
    ASSERT_TRUE(objs);
    auto store = ChunkStore::open(std::shared_ptr<ObjectStore>(std::move(*objs)));
    ASSERT_TRUE(store);
    auto rec = (*store)->ingest_bytes(as_bytes(data));
    ASSERT_TRUE(rec);
    fh = rec->file_hash;
  }
  // A stale temporary from a "crash" is ignored.
  std::filesystem::create_directories(root + "/xorbs/00/00");
  { std::ofstream(root + "/xorbs/00/00/junk.tmp.123") << "partial"; }
  auto objs = LocalObjectStore::open(root);
  ASSERT_TRUE(objs);
  auto store = ChunkStore::open(std::shared_ptr<ObjectStore>(std::move(*objs)), [] { ChunkStoreOptions o; o.verify_on_open = true; return o; }());
  ASSERT_TRUE(store) << store.error().message;
  auto rec = (*store)->lookup(fh);
  ASSERT_TRUE(rec);
  EXPECT_GT((*store)->chunk_count(), 10u);
  std::string back;
  ASSERT_TRUE((*store)->read(*rec, 0, rec->size, back));
  EXPECT_TRUE(back == data);
  IngestStats st;
  ASSERT_TRUE((*store)->ingest_bytes(as_bytes(data), &st));
  EXPECT_EQ(st.stored_bytes, 0u);
  std::filesystem::remove_all(root);
}

TEST(XetObjectStore, PutPartsStoresTheConcatenationOnceOnEveryBackend) {
  std::string root = ::testing::TempDir() + "/xet_parts_" + std::to_string(::getpid());
  std::filesystem::remove_all(root);
  auto local = LocalObjectStore::open(root);
  ASSERT_TRUE(local);
  MemoryObjectStore memory;
  MerkleHash key = chunk_hash(as_bytes(std::string_view("key")));
  const std::string a = "records...", b = "footer";
  const ByteView parts[] = {as_bytes(a), as_bytes(b)};
  for (ObjectStore* s : {static_cast<ObjectStore*>(local->get()), static_cast<ObjectStore*>(&memory)}) {
    auto put = s->put_parts(ObjectKind::xorb, key, parts);
    ASSERT_TRUE(put) << put.error().message;
    EXPECT_TRUE(*put);
    auto again = s->put_parts(ObjectKind::xorb, key, parts);  // present: not written again
    ASSERT_TRUE(again);
    EXPECT_FALSE(*again);
    auto got = s->get(ObjectKind::xorb, key);
    ASSERT_TRUE(got);
    EXPECT_EQ(*got, a + b);
  }
  std::filesystem::remove_all(root);
}

// A CAS server publishes client files without sha256 metadata; the sha256 link comes only from
// the store's own ingest or link_sha256, and survives a restart and GC.
TEST(XetChunkStoreSha256, LinksComeOnlyFromVerifiedSourcesAndPersist) {
  auto a = to_string(test::random_bytes(300000, 41));
  auto b = to_string(test::random_bytes(300000, 42));
  // Build the xorbs and file records in a scratch store, then publish them into `mem` the way
  // the CAS does: xorbs copied, shard files without sha256.
  auto scratch_mem = std::make_shared<MemoryObjectStore>();
  auto scratch = ChunkStore::open(scratch_mem);
  ASSERT_TRUE(scratch);
  auto ra = (*scratch)->ingest_bytes(as_bytes(a));
  auto rb = (*scratch)->ingest_bytes(as_bytes(b));
  ASSERT_TRUE(ra && rb);
  auto mem = std::make_shared<MemoryObjectStore>();
  auto xorbs = scratch_mem->list(ObjectKind::xorb);
  ASSERT_TRUE(xorbs);
  Shard pub;
  for (const auto& x : *xorbs) {
    ASSERT_TRUE(mem->put(ObjectKind::xorb, x, as_bytes(*scratch_mem->get(ObjectKind::xorb, x))));
    pub.xorbs.push_back(*(*scratch)->xorb_info(x));
  }
  for (const auto* r : {&*ra, &*rb}) pub.files.push_back({r->file_hash, r->segments, {}, std::nullopt});
  auto store = ChunkStore::open(mem);
  ASSERT_TRUE(store);
  ASSERT_TRUE((*store)->add_shard(pub));
  ASSERT_TRUE((*store)->lookup(ra->file_hash));
  EXPECT_FALSE((*store)->lookup_sha256(crypto::sha256(a)));
  EXPECT_FALSE((*store)->lookup_sha256(crypto::sha256(b)));
  // An ingest of content whose file is already indexed (without sha256) still links it.
  IngestStats st;
  auto again = (*store)->ingest_bytes(as_bytes(a), &st);
  ASSERT_TRUE(again);
  EXPECT_EQ(st.new_chunks, 0u);
  auto la = (*store)->lookup_sha256(crypto::sha256(a));
  ASSERT_TRUE(la);
  EXPECT_EQ(la->file_hash, ra->file_hash);
  EXPECT_EQ(la->sha256, crypto::sha256(a));
  // link_sha256: durable, idempotent, unknown files refused.
  auto l = (*store)->link_sha256(rb->file_hash, crypto::sha256(b));
  ASSERT_TRUE(l) << l.error().message;
  EXPECT_TRUE(*l);
  EXPECT_FALSE(*(*store)->link_sha256(rb->file_hash, crypto::sha256(b)));
  auto unknown = (*store)->link_sha256(MerkleHash{crypto::sha256("nope")}, crypto::sha256(b));
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, Errc::not_found);
  auto reopened = ChunkStore::open(mem);
  ASSERT_TRUE(reopened);
  for (const auto& [data, fh] : {std::pair{&a, ra->file_hash}, std::pair{&b, rb->file_hash}}) {
    auto f = (*reopened)->lookup_sha256(crypto::sha256(*data));
    ASSERT_TRUE(f);
    EXPECT_EQ(f->file_hash, fh);
    std::string back;
    ASSERT_TRUE((*reopened)->read(*f, 0, f->size, back));
    EXPECT_TRUE(back == *data);
  }
  // GC keeps the links of live files (and writes no sha256 for files without one).
  std::vector<MerkleHash> live = {rb->file_hash};
  ASSERT_TRUE((*reopened)->collect_garbage(live));
  auto after = ChunkStore::open(mem);
  ASSERT_TRUE(after);
  auto f = (*after)->lookup_sha256(crypto::sha256(b));
  ASSERT_TRUE(f);
  EXPECT_EQ(f->file_hash, rb->file_hash);
  EXPECT_FALSE((*after)->lookup_sha256(crypto::sha256(a)));
  EXPECT_FALSE((*after)->lookup_sha256(std::array<std::uint8_t, 32>{}));
}

// writer(): bytes written in pieces become visible under the key only at commit; a commit of a
// present key stores nothing; a writer dropped without commit, or whose commit fails, leaves
// nothing (on disk: no temporary either).
TEST(XetObjectStore, WriterPublishesOnlyAtCommitOnEveryBackend) {
  std::string root = ::testing::TempDir() + "/xet_writer_" + std::to_string(::getpid());
  std::filesystem::remove_all(root);
  auto local = LocalObjectStore::open(root);
  ASSERT_TRUE(local);
  auto memory = std::make_shared<MemoryObjectStore>(), behind_faulty = std::make_shared<MemoryObjectStore>();
  FaultyObjectStore faulty(behind_faulty);
  MerkleHash key = chunk_hash(as_bytes(std::string_view("streamed"))), other = chunk_hash(as_bytes(std::string_view("dropped")));
  for (ObjectStore* s : {static_cast<ObjectStore*>(local->get()), static_cast<ObjectStore*>(memory.get()),
                         static_cast<ObjectStore*>(&faulty)}) {
    auto w = s->writer(ObjectKind::xorb);
    ASSERT_TRUE(w) << w.error().message;
    ASSERT_TRUE((*w)->write(as_bytes(std::string_view("records "))));
    ASSERT_TRUE((*w)->write(as_bytes(std::string_view("and footer"))));
    auto none = s->size(ObjectKind::xorb, key);
    ASSERT_TRUE(none);
    EXPECT_FALSE(none->has_value());  // not visible before commit
    auto c = (*w)->commit(key);
    ASSERT_TRUE(c) << c.error().message;
    EXPECT_TRUE(*c);
    EXPECT_EQ(*s->get(ObjectKind::xorb, key), "records and footer");
    auto again = s->writer(ObjectKind::xorb);
    ASSERT_TRUE(again);
    ASSERT_TRUE((*again)->write(as_bytes(std::string_view("records and footer"))));
    auto c2 = (*again)->commit(key);
    ASSERT_TRUE(c2);
    EXPECT_FALSE(*c2);
    {
      auto dropped = s->writer(ObjectKind::xorb);
      ASSERT_TRUE(dropped);
      ASSERT_TRUE((*dropped)->write(as_bytes(std::string_view("never committed"))));
    }
    auto listed = s->list(ObjectKind::xorb);
    ASSERT_TRUE(listed);
    EXPECT_EQ(*listed, std::vector<MerkleHash>{key});
    EXPECT_FALSE(s->size(ObjectKind::xorb, other)->has_value());
  }
  std::size_t files = 0;
  for (auto& e : std::filesystem::recursive_directory_iterator(root))
    if (e.is_regular_file()) files++;
  EXPECT_EQ(files, 1u);  // the object, no temporaries
  faulty.fail_puts_after(0);
  auto w = faulty.writer(ObjectKind::xorb);
  ASSERT_TRUE(w);
  ASSERT_TRUE((*w)->write(as_bytes(std::string_view("x"))));
  EXPECT_FALSE((*w)->commit(other));
  EXPECT_FALSE(behind_faulty->size(ObjectKind::xorb, other)->has_value());
  std::filesystem::remove_all(root);
}

}  // namespace
}  // namespace hubgate::xet
