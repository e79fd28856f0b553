// Deduplicating chunk store over an `ObjectStore` (the Xet storage model).
//
// Model. A file is its *reconstruction*: an ordered list of terms (`FileSegment`: xorb hash +
// chunk range [start, end)), plus its size, sha256 and Xet file hash. A xorb holds up to 8192
// chunks / 64 MiB, compressed per chunk; a contiguous chunk range of a xorb is a contiguous byte
// range of whole records ("xorb range"), so reading any byte range of a file only touches the
// records of the chunks that overlap it (`plan()` then `read()`), which is also what the CAS API
// serves (terms + per-xorb byte ranges).
//
// Ingest (`FileWriter`): bytes are chunked (gear CDC), each chunk hashed; a chunk already in the
// index is referenced, a new one is packed into the writer's current xorb. `finish()` publishes
// in a crash-safe order: every new xorb (with its footer, fsynced) first, then one shard with the
// file's FileInfo (segments, verification hashes, sha256) and the new xorbs' CAS info. A file is
// visible only once its shard is; xorbs without a shard are garbage. Work is done in batches
// (writes >= 1 MiB in place, smaller ones gathered to 4 MiB) on `ingest_threads` threads: sha256
// alongside chunking + hashing, compression of new chunks in parallel, and the put of a full xorb
// in the background while the next fills (docs/xet.md, "Ingest pipeline"). Results never depend
// on the thread count or the write sizes.
//
// Index. chunk hash -> (xorb, chunk index), file hash -> reconstruction, xorb -> chunk list; all
// rebuilt from the shards on `open()` (shards are the durable index).
//
// GC (`collect_garbage`): marks xorbs from the live files, writes one compacted shard with the
// live files and xorbs, then removes the old shards, then every unmarked xorb. Must not run
// while a FileWriter is open (fails with Errc::conflict).
//
// Thread-safety: the store's methods may be called from several threads; one FileWriter is used
// by one thread at a time (its helper threads are internal and joined by its destructor). Several writers may ingest concurrently (identical new chunks written
// by two at once are stored twice; dedup applies to what is published).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "crypto/sha.hpp"
#include "util/byte_reader.hpp"
#include "util/error.hpp"
#include "xet/chunker.hpp"
#include "xet/hash.hpp"
#include "xet/object_store.hpp"
#include "xet/shard.hpp"
#include "xet/xorb.hpp"

namespace hubgate::xet {

struct ChunkStoreOptions {
  CompressionPolicy compression = CompressionPolicy::automatic;  // per-chunk scheme choice
  std::uint64_t max_xorb_bytes = kMaxXorbBytes;                  // pack new chunks up to this (<= 64 MiB)
  bool verify_on_open = false;  // also check that every xorb named by a shard exists
  // Threads per FileWriter for ingest: the caller plus (ingest_threads - 1) helpers, started with
  // the first batch of >= 1 MiB. > 1 also puts each full xorb in the background while the next one
  // fills (at most one in flight: two xorb buffers per writer). 1 = everything on the caller.
  unsigned ingest_threads = 2;
};

struct FileRecord {
  MerkleHash file_hash;
  std::array<std::uint8_t, 32> sha256{};
  std::uint64_t size = 0;
  std::vector<FileSegment> segments;  // the reconstruction terms, in file order
};

struct IngestStats {
  std::uint64_t logical_bytes = 0;   // bytes of the file
  std::uint64_t chunks = 0;
  std::uint64_t new_chunks = 0;
  std::uint64_t new_chunk_bytes = 0; // unpacked bytes of new chunks
  std::uint64_t stored_bytes = 0;    // serialized bytes of new xorbs + shard written
  std::uint64_t xorbs_written = 0;
};

// A term of a range read: chunks [chunk_start, chunk_end) of `xorb`, and the bytes they unpack to.
struct PlannedTerm {
  MerkleHash xorb;
  std::uint32_t chunk_start = 0, chunk_end = 0;
  std::uint64_t unpacked_length = 0;
};
struct ReadPlan {
  std::uint64_t offset_into_first_range = 0;  // bytes to drop from the first term
  std::uint64_t length = 0;                   // bytes wanted in total (clients trim the tail)
  std::vector<PlannedTerm> terms;
};

// A piece of a range read (`ChunkStore::read_pieces`): either a slice [offset, offset+length) of
// the file `path` holding a xorb, whose bytes are the file's bytes as they are (a record stored
// with scheme `none`), or `bytes` decoded from a compressed record.
struct ReadPiece {
  std::string path;  // empty: the piece is `bytes`
  std::uint64_t offset = 0, length = 0;
  std::string bytes;
  std::uint64_t size() const { return path.empty() ? bytes.size() : length; }
};

struct GcStats {
  std::uint64_t xorbs_kept = 0, xorbs_removed = 0, shards_removed = 0, bytes_removed = 0;
};

class ChunkStore;

class FileWriter {
 public:
  FileWriter(FileWriter&&) noexcept;
  ~FileWriter();
  Result<void> write(ByteView data);
  // Publishes the file (xorbs, then its shard) and returns its record. The writer is spent.
  Result<FileRecord> finish(IngestStats* stats = nullptr);

 private:
  friend class ChunkStore;
  struct Impl;
  explicit FileWriter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

class ChunkStore {
 public:
  // Opens the store, rebuilding the indexes from every shard in `objects`.
  static Result<std::unique_ptr<ChunkStore>> open(std::shared_ptr<ObjectStore> objects, ChunkStoreOptions opts = {});
  ~ChunkStore();

  FileWriter ingest();
  Result<FileRecord> ingest_bytes(ByteView data, IngestStats* stats = nullptr);

  std::optional<FileRecord> lookup(const MerkleHash& file_hash) const;
  std::size_t file_count() const;
  std::size_t chunk_count() const;
  // Sum of stored xorb and shard sizes.
  Result<std::uint64_t> stored_bytes() const;

  // Terms covering [offset, offset+length) of `file` (clamped to its size).
  Result<ReadPlan> plan(const FileRecord& file, std::uint64_t offset, std::uint64_t length) const;
  // Byte range [start, end) of whole records holding chunks [chunk_start, chunk_end) of a xorb.
  Result<std::pair<std::uint64_t, std::uint64_t>> xorb_byte_range(const MerkleHash& xorb, std::uint32_t chunk_start,
                                                                  std::uint32_t chunk_end) const;
  // Appends bytes [offset, offset+length) of the file to `out`, reading only the needed records.
  Result<void> read(const FileRecord& file, std::uint64_t offset, std::uint64_t length, std::string& out) const;

  // The same bytes as `read`, as pieces in order (appended to `out`): a record stored as it is
  // in a xorb that the object store keeps as a local file becomes a slice of that file (only the
  // record's 8-byte header is read), so a server can sendfile(2) it; other records are read and
  // decoded. Slices are never merged (record headers lie between records).
  Result<void> read_pieces(const FileRecord& file, std::uint64_t offset, std::uint64_t length,
                           std::vector<ReadPiece>& out) const;

  Result<GcStats> collect_garbage(std::span<const MerkleHash> live_files);

  ObjectStore& objects() const { return *objects_; }

  // ---- For a CAS server that accepts client xorbs and shards (src/cas/) ----
  // A file by the sha256 of its content (the shard's metadata ext), when one is indexed. The
  // store trusts the sha256 metadata of every shard it holds: a CAS server must publish client
  // shards *without* it (clients' claims are unverified) and link verified pairs with
  // link_sha256 — ingests (FileWriter) link the sha256 they computed themselves.
  std::optional<FileRecord> lookup_sha256(const std::array<std::uint8_t, 32>& sha256) const;
  // Records that indexed file `file_hash` has content sha256 `sha256` (the caller computed it):
  // publishes a small shard with the file's info and that sha256 (durable), and makes it the
  // answer of lookup_sha256 from now on. False when that exact link was already indexed;
  // Errc::not_found for an unknown file.
  Result<bool> link_sha256(const MerkleHash& file_hash, const std::array<std::uint8_t, 32>& sha256);
  // Where an indexed chunk lives: (xorb, chunk index).
  std::optional<std::pair<MerkleHash, std::uint32_t>> find_chunk(const MerkleHash& chunk) const;
  // The indexed chunk list of a xorb (hashes, unpacked offsets and sizes; flags 0).
  std::optional<CasInfo> xorb_info(const MerkleHash& xorb) const;
  // Persists `shard` (serialized with a footer, keyed like ingest shards) and indexes it. The
  // caller has validated it: every xorb named by a file is stored and indexed or described in
  // `shard.xorbs`. Returns false when an identical shard was already stored.
  Result<bool> add_shard(const Shard& shard);

 private:
  friend class FileWriter;
  struct XorbEntry {
    std::vector<MerkleHash> chunk_hashes;
    std::vector<std::uint32_t> unpacked_ends;  // cumulative chunk sizes
    std::vector<std::uint32_t> record_ends;    // empty until known (from the footer)
  };
  ChunkStore(std::shared_ptr<ObjectStore> objects, ChunkStoreOptions opts) : objects_(std::move(objects)), opts_(opts) {}
  Result<void> load_shard(const MerkleHash& key);
  void index_shard_locked(const Shard& shard);
  Result<std::vector<std::uint32_t>> record_ends(const MerkleHash& xorb) const;

  std::shared_ptr<ObjectStore> objects_;
  ChunkStoreOptions opts_;
  mutable std::mutex mu_;
  std::unordered_map<MerkleHash, std::pair<MerkleHash, std::uint32_t>, MerkleHashHasher> chunks_;
  std::unordered_map<MerkleHash, FileRecord, MerkleHashHasher> files_;
  std::unordered_map<MerkleHash, MerkleHash, MerkleHashHasher> by_sha256_;  // sha256 (as a hash value) -> file
  mutable std::unordered_map<MerkleHash, XorbEntry, MerkleHashHasher> xorbs_;
  std::atomic<int> open_writers_{0};
};

}  // namespace hubgate::xet
