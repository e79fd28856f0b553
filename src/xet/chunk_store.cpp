// Chunk store: streaming ingest with dedup, crash-safe publication, range reads, GC.
//
// Ingest keeps, per file, the chunk list (hash, size) and a reference per chunk: either an
// existing (xorb, index) from the store's index, or (pending xorb k, index) for a chunk packed by
// this writer. A pending xorb is flushed (body + footer, one atomic put) when the next chunk no
// longer fits; its hash resolves the references. finish() merges consecutive references into
// segments, computes each segment's verification hash from the file's own chunk hashes (they are
// the xorb's chunks in that range), writes the shard, then updates the in-memory indexes.
//
// Range reads: plan() maps the byte range onto segments and then onto whole chunks using the
// xorb's cumulative chunk sizes (from the shard's CAS info); each term becomes one ranged get of
// whole records, whose byte offsets come from the xorb footer (read once and cached) — or from
// walking the record headers of a footer-less xorb.
#include "xet/chunk_store.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <future>
#include <set>
#include <unordered_set>

#include "crypto/blake3.hpp"
#include "xet/fork_join.hpp"

namespace hubgate::xet {

namespace {
MerkleHash shard_key(const std::string& bytes) {
  MerkleHash h;
  h.bytes = crypto::Blake3::hash(as_bytes(bytes));
  return h;
}
}  // namespace

// ---- FileWriter ---------------------------------------------------------------------------

struct FileWriter::Impl {
  static constexpr std::size_t kStageBytes = 4 << 20;   // small writes are gathered up to this
  static constexpr std::size_t kDirectBytes = 1 << 20;  // writes this large are processed in place
  static constexpr std::size_t kParallelBytes = 1 << 20;  // batches this large use the helpers

  ChunkStore* store = nullptr;
  Chunker chunker;
  std::string pending;  // bytes of the current chunk fed to the chunker in earlier batches
  std::string stage;    // bytes written but not yet chunked (small writes)
  crypto::Sha256 sha;
  std::vector<HashAndSize> leaves;
  struct Ref {
    std::int32_t pending = -1;  // index into new_xorbs once flushed, or -1 for an existing xorb
    MerkleHash xorb;
    std::uint32_t index = 0;
  };
  std::vector<Ref> refs;
  // The xorb being packed: metadata in `builder`, records written to `writer` as they are added
  // (while hot in cache); its commit (fsync + rename) runs in the background when parallel().
  XorbBuilder builder;
  std::unique_ptr<ObjectWriter> writer;
  std::vector<CasInfo> new_xorbs;
  std::vector<std::vector<std::uint32_t>> new_record_ends;
  std::unordered_map<MerkleHash, std::pair<std::int32_t, std::uint32_t>, MerkleHashHasher> local;
  IngestStats stats;
  bool done = false;
  std::unique_ptr<ForkJoin> pool;  // created with the first large batch when ingest_threads > 1
  std::future<Result<bool>> put_done;  // the previous xorb's commit
  std::size_t put_bytes = 0;

  // Per-batch scratch, reused.
  std::vector<ByteView> spans;
  std::vector<MerkleHash> hashes;
  std::vector<std::int64_t> slot;         // per span: -1 known (ref in known_refs), else index into fresh
  std::vector<Ref> known_refs;
  std::vector<std::size_t> fresh;         // spans to store, in order
  std::vector<std::string> records;       // encoded record per fresh span (unless raw)
  std::vector<char> raw;                  // per fresh span: stored as a scheme-0 record
  std::vector<Ref> fresh_refs;

  explicit Impl(ChunkStore* s) : store(s), builder(s->opts_.compression, /*keep_body=*/false) { ++store->open_writers_; }
  ~Impl() {
    if (put_done.valid()) put_done.wait();
    --store->open_writers_;
  }

  bool parallel() const { return store->opts_.ingest_threads > 1; }

  // Waits for the background commit of the previous xorb and accounts for it.
  Result<void> wait_put() {
    if (!put_done.valid()) return {};
    Result<bool> r = put_done.get();
    if (!r) return fail(r.error());
    if (*r) {
      stats.stored_bytes += put_bytes;
      ++stats.xorbs_written;
    }
    return {};
  }

  Result<void> flush_xorb() {
    if (builder.empty()) return {};
    HG_TRY_VOID(wait_put());
    MerkleHash h = builder.hash();
    std::size_t body = builder.body_bytes();
    CasInfo ci;
    ci.xorb_hash = h;
    ci.unpacked_total = static_cast<std::uint32_t>(builder.unpacked_bytes());
    ci.bytes_on_disk = static_cast<std::uint32_t>(body);
    std::vector<std::uint32_t> ends;
    for (const auto& c : builder.chunks()) {
      ci.chunks.push_back({c.hash, c.unpacked_start, c.unpacked_size, 0});
      ends.push_back(c.record_end);
    }
    const std::string footer = builder.footer();
    HG_TRY_VOID(writer->write(as_bytes(footer)));
    const std::size_t total = body + footer.size();
    if (parallel()) {
      // The commit (fsync + rename) overlaps the next xorb's hashing and compression.
      put_bytes = total;
      put_done = std::async(std::launch::async, [w = std::move(writer), h] { return w->commit(h); });
    } else {
      HG_TRY(bool inserted, writer->commit(h));
      writer.reset();
      if (inserted) {
        stats.stored_bytes += total;
        ++stats.xorbs_written;
      }
    }
    builder.clear();
    new_xorbs.push_back(std::move(ci));
    new_record_ends.push_back(std::move(ends));
    return {};
  }

  // Chunks `buf` (continuing the pending chunk) into `spans`; the tail after the last cut is
  // returned through `tail` (it joins `pending` once the batch is done).
  void cut(ByteView buf, std::size_t& tail) {
    spans.clear();
    std::size_t off = 0;
    while (off < buf.size()) {
      std::size_t c = chunker.next_cut(buf.subspan(off));
      if (c == 0) break;
      if (spans.empty() && !pending.empty()) {
        pending.append(reinterpret_cast<const char*>(buf.data()), c);
        spans.push_back(as_bytes(pending));
      } else {
        spans.push_back(buf.subspan(off, c));
      }
      off += c;
    }
    tail = off;
  }

  // One batch: sha256 || (chunking, then chunk hashes); dedup decisions; compression of the new
  // chunks in parallel; records appended in order. Every view into `buf` dies with the batch.
  Result<void> process(ByteView buf) {
    if (parallel() && !pool && buf.size() >= kParallelBytes) {
      pool = std::make_unique<ForkJoin>(store->opts_.ingest_threads - 1);
    }
    ForkJoin* fj = buf.size() >= kParallelBytes ? pool.get() : nullptr;
    auto run = [&](std::size_t n, const std::function<void(std::size_t)>& fn) {
      if (fj) {
        fj->run(n, fn);
      } else {
        for (std::size_t i = 0; i < n; ++i) fn(i);
      }
    };
    std::size_t tail = 0;
    run(2, [&](std::size_t task) {
      if (task == 0) {
        sha.update(buf);
        return;
      }
      cut(buf, tail);
      hashes.resize(spans.size());
      for (std::size_t i = 0; i < spans.size(); ++i) hashes[i] = chunk_hash(spans[i]);
    });
    stats.logical_bytes += buf.size();
    HG_TRY_VOID(store_spans());
    // The rest of buf belongs to the next chunk.
    if (spans.empty() || spans.front().data() != reinterpret_cast<const std::uint8_t*>(pending.data())) {
      pending.append(reinterpret_cast<const char*>(buf.data() + tail), buf.size() - tail);
    } else {
      pending.assign(reinterpret_cast<const char*>(buf.data() + tail), buf.size() - tail);
    }
    return {};
  }

  // Dedup and store the batch's chunks (spans/hashes), then push leaves and refs in order.
  Result<void> store_spans() {
    const std::size_t n = spans.size();
    slot.assign(n, -1);
    known_refs.assign(n, Ref{});
    fresh.clear();
    {
      std::lock_guard lock(store->mu_);
      for (std::size_t i = 0; i < n; ++i) {
        auto it = store->chunks_.find(hashes[i]);
        if (it != store->chunks_.end()) known_refs[i] = {-1, it->second.first, it->second.second};
        else slot[i] = 0;
      }
    }
    std::unordered_map<MerkleHash, std::size_t, MerkleHashHasher> batch;  // new in this batch -> fresh index
    for (std::size_t i = 0; i < n; ++i) {
      if (slot[i] < 0) continue;
      if (auto it = local.find(hashes[i]); it != local.end()) {
        known_refs[i] = {it->second.first, {}, it->second.second};
        slot[i] = -1;
        continue;
      }
      auto [it, inserted] = batch.try_emplace(hashes[i], fresh.size());
      if (inserted) fresh.push_back(i);
      slot[i] = static_cast<std::int64_t>(it->second);
    }
    if (records.size() < fresh.size()) records.resize(fresh.size());
    const CompressionPolicy policy = store->opts_.compression;
    // Compression (the probe, and the encoding when it pays) runs on every thread; chunks that
    // stay raw are copied once, straight into the xorb, below.
    if (raw.size() < fresh.size()) raw.resize(fresh.size());
    auto encode = [&](std::size_t k) {
      records[k].clear();
      const CompressionPolicy p = resolve_policy(spans[fresh[k]], policy);
      raw[k] = p == CompressionPolicy::none;
      if (!raw[k]) append_record(records[k], spans[fresh[k]], p);
    };
    if (pool && fresh.size() > 1 && n > 0) {
      pool->run(fresh.size(), encode);
    } else {
      for (std::size_t k = 0; k < fresh.size(); ++k) encode(k);
    }
    fresh_refs.assign(fresh.size(), Ref{});
    for (std::size_t k = 0; k < fresh.size(); ++k) {
      const ByteView c = spans[fresh[k]];
      if (!builder.fits(c.size()) || builder.unpacked_bytes() + c.size() > store->opts_.max_xorb_bytes) HG_TRY_VOID(flush_xorb());
      if (!writer) {
        HG_TRY(writer, store->objects_->writer(ObjectKind::xorb));
      }
      std::uint32_t idx = 0;
      if (raw[k]) {  // header, then the chunk straight from the caller's bytes
        const auto hdr = record_header(Compression::none, static_cast<std::uint32_t>(c.size()), static_cast<std::uint32_t>(c.size()));
        HG_TRY(idx, builder.add_record_header(ByteView(hdr.data(), hdr.size()), hashes[fresh[k]]));
        HG_TRY_VOID(writer->write(ByteView(hdr.data(), hdr.size())));
        HG_TRY_VOID(writer->write(c));
      } else {
        HG_TRY(idx, builder.add_record_header(as_bytes(records[k]).subspan(0, kRecordHeaderSize), hashes[fresh[k]]));
        HG_TRY_VOID(writer->write(as_bytes(records[k])));
      }
      auto pid = static_cast<std::int32_t>(new_xorbs.size());
      local.emplace(hashes[fresh[k]], std::make_pair(pid, idx));
      fresh_refs[k] = {pid, {}, idx};
      ++stats.new_chunks;
      stats.new_chunk_bytes += c.size();
    }
    for (std::size_t i = 0; i < n; ++i) {
      leaves.push_back({hashes[i], spans[i].size()});
      refs.push_back(slot[i] < 0 ? known_refs[i] : fresh_refs[static_cast<std::size_t>(slot[i])]);
    }
    stats.chunks += n;
    return {};
  }

  Result<void> write(ByteView data) {
    if (done) return fail(Errc::internal, "chunk store: write after finish");
    if (data.size() >= kDirectBytes) {
      if (!stage.empty()) {
        HG_TRY_VOID(process(as_bytes(stage)));
        stage.clear();
      }
      return process(data);
    }
    stage.append(reinterpret_cast<const char*>(data.data()), data.size());
    if (stage.size() >= kStageBytes) {
      HG_TRY_VOID(process(as_bytes(stage)));
      stage.clear();
    }
    return {};
  }

  Result<FileRecord> finish(IngestStats* out_stats) {
    if (done) return fail(Errc::internal, "chunk store: finish called twice");
    done = true;
    if (!stage.empty()) {
      HG_TRY_VOID(process(as_bytes(stage)));
      stage.clear();
    }
    if (std::uint64_t last = chunker.finish(); last > 0) {  // the last chunk: whatever is pending
      if (last != pending.size()) return fail(Errc::internal, "chunk store: pending chunk bytes disagree with the chunker");
      spans.assign(1, as_bytes(pending));
      hashes.assign(1, chunk_hash(spans[0]));
      HG_TRY_VOID(store_spans());
    }
    pending.clear();
    HG_TRY_VOID(flush_xorb());
    HG_TRY_VOID(wait_put());

    FileRecord rec;
    rec.sha256 = sha.final();
    rec.size = stats.logical_bytes;
    rec.file_hash = file_hash(leaves);
    FileInfo fi;
    fi.file_hash = rec.file_hash;
    fi.sha256 = rec.sha256;
    std::size_t seg_first_chunk = 0;
    for (std::size_t i = 0; i < refs.size(); ++i) {
      Ref& r = refs[i];
      if (r.pending >= 0) r.xorb = new_xorbs[static_cast<std::size_t>(r.pending)].xorb_hash;
      bool extend = !rec.segments.empty() && rec.segments.back().xorb_hash == r.xorb && rec.segments.back().chunk_end == r.index &&
                    std::uint64_t{rec.segments.back().unpacked_bytes} + leaves[i].size <= kMaxXorbBytes;
      if (!extend) {
        if (!rec.segments.empty()) {
          fi.verification.push_back(verification_hash_of(seg_first_chunk, i));
        }
        seg_first_chunk = i;
        rec.segments.push_back({r.xorb, 0, r.index, r.index});
      }
      rec.segments.back().chunk_end = r.index + 1;
      rec.segments.back().unpacked_bytes += static_cast<std::uint32_t>(leaves[i].size);
    }
    if (!rec.segments.empty()) fi.verification.push_back(verification_hash_of(seg_first_chunk, refs.size()));
    fi.segments = rec.segments;

    bool known;  // the file and its (server-computed) sha256 link are already indexed
    {
      std::lock_guard lock(store->mu_);
      auto it = store->files_.find(rec.file_hash);
      known = it != store->files_.end() && it->second.sha256 == rec.sha256 && store->by_sha256_.count(MerkleHash{rec.sha256}) > 0;
    }
    if (!known || !new_xorbs.empty()) {
      Shard shard;
      shard.files.push_back(std::move(fi));
      shard.xorbs = new_xorbs;
      std::string bytes = serialize_shard(shard);
      HG_TRY(bool inserted, store->objects_->put(ObjectKind::shard, shard_key(bytes), as_bytes(bytes)));
      if (inserted) stats.stored_bytes += bytes.size();
      std::lock_guard lock(store->mu_);
      store->index_shard_locked(shard);
      for (std::size_t k = 0; k < new_xorbs.size(); ++k) store->xorbs_[new_xorbs[k].xorb_hash].record_ends = new_record_ends[k];
    }
    if (out_stats) *out_stats = stats;
    return rec;
  }

  MerkleHash verification_hash_of(std::size_t a, std::size_t b) const {
    std::vector<MerkleHash> hs;
    hs.reserve(b - a);
    for (std::size_t i = a; i < b; ++i) hs.push_back(leaves[i].hash);
    return verification_hash(hs);
  }
};

FileWriter::FileWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
FileWriter::FileWriter(FileWriter&&) noexcept = default;
FileWriter::~FileWriter() = default;
Result<void> FileWriter::write(ByteView data) { return impl_->write(data); }
Result<FileRecord> FileWriter::finish(IngestStats* stats) { return impl_->finish(stats); }

// ---- ChunkStore ---------------------------------------------------------------------------

ChunkStore::~ChunkStore() = default;

Result<std::unique_ptr<ChunkStore>> ChunkStore::open(std::shared_ptr<ObjectStore> objects, ChunkStoreOptions opts) {
  if (opts.max_xorb_bytes == 0 || opts.max_xorb_bytes > kMaxXorbBytes)
    return fail(Errc::invalid_argument, "chunk store: max_xorb_bytes must be in 1..64 MiB");
  std::unique_ptr<ChunkStore> s(new ChunkStore(std::move(objects), opts));
  HG_TRY(auto shards, s->objects_->list(ObjectKind::shard));
  for (const auto& key : shards) HG_TRY_VOID(s->load_shard(key));
  if (opts.verify_on_open) {
    for (const auto& [h, e] : s->xorbs_) {
      HG_TRY(auto sz, s->objects_->size(ObjectKind::xorb, h));
      if (!sz) return fail(Errc::corrupt, "chunk store: xorb " + h.hex() + " named by a shard is missing");
    }
  }
  return s;
}

Result<void> ChunkStore::load_shard(const MerkleHash& key) {
  HG_TRY(auto bytes, objects_->get(ObjectKind::shard, key));
  auto shard = parse_shard(as_bytes(bytes));
  if (!shard) return fail(shard.error().context("shard " + key.hex()));
  std::lock_guard lock(mu_);
  index_shard_locked(*shard);
  return {};
}

void ChunkStore::index_shard_locked(const Shard& shard) {
  for (const auto& x : shard.xorbs) {
    auto [it, inserted] = xorbs_.try_emplace(x.xorb_hash);
    if (!inserted) continue;
    XorbEntry& e = it->second;
    std::uint32_t end = 0;
    for (std::uint32_t i = 0; i < x.chunks.size(); ++i) {
      e.chunk_hashes.push_back(x.chunks[i].hash);
      e.unpacked_ends.push_back(end += x.chunks[i].unpacked_len);
      chunks_.try_emplace(x.chunks[i].hash, x.xorb_hash, i);
    }
  }
  for (const auto& f : shard.files) {
    FileRecord r;
    r.file_hash = f.file_hash;
    if (f.sha256) r.sha256 = *f.sha256;
    r.segments = f.segments;
    for (const auto& s : f.segments) r.size += s.unpacked_bytes;
    if (f.sha256) by_sha256_.try_emplace(MerkleHash{*f.sha256}, f.file_hash);
    auto [it, inserted] = files_.try_emplace(f.file_hash, std::move(r));
    // A file first indexed without sha256 (a CAS upload) gains it from a later server shard.
    if (!inserted && f.sha256 && MerkleHash{it->second.sha256}.is_zero()) it->second.sha256 = *f.sha256;
  }
}

FileWriter ChunkStore::ingest() { return FileWriter(std::make_unique<FileWriter::Impl>(this)); }

Result<FileRecord> ChunkStore::ingest_bytes(ByteView data, IngestStats* stats) {
  FileWriter w = ingest();
  HG_TRY_VOID(w.write(data));
  return w.finish(stats);
}

std::optional<FileRecord> ChunkStore::lookup(const MerkleHash& file_hash) const {
  std::lock_guard lock(mu_);
  auto it = files_.find(file_hash);
  if (it == files_.end()) return std::nullopt;
  return it->second;
}

std::size_t ChunkStore::file_count() const {
  std::lock_guard lock(mu_);
  return files_.size();
}

std::size_t ChunkStore::chunk_count() const {
  std::lock_guard lock(mu_);
  return chunks_.size();
}

Result<std::uint64_t> ChunkStore::stored_bytes() const {
  std::uint64_t total = 0;
  for (ObjectKind k : {ObjectKind::xorb, ObjectKind::shard}) {
    HG_TRY(auto keys, objects_->list(k));
    for (const auto& key : keys) {
      HG_TRY(auto sz, objects_->size(k, key));
      total += sz.value_or(0);
    }
  }
  return total;
}

Result<ReadPlan> ChunkStore::plan(const FileRecord& file, std::uint64_t offset, std::uint64_t length) const {
  ReadPlan p;
  if (offset >= file.size) return p;
  length = std::min(length, file.size - offset);
  p.length = length;
  const std::uint64_t a = offset, b = offset + length;  // [a, b)
  std::uint64_t seg_off = 0;
  std::lock_guard lock(mu_);
  for (const auto& s : file.segments) {
    const std::uint64_t seg_end = seg_off + s.unpacked_bytes;
    if (seg_end <= a) {
      seg_off = seg_end;
      continue;
    }
    if (seg_off >= b) break;
    auto it = xorbs_.find(s.xorb_hash);
    if (it == xorbs_.end()) return fail(Errc::corrupt, "chunk store: xorb " + s.xorb_hash.hex() + " is not indexed");
    const auto& ends = it->second.unpacked_ends;
    if (s.chunk_end > ends.size() || s.chunk_start >= s.chunk_end)
      return fail(Errc::corrupt, "chunk store: segment chunk range out of bounds for xorb " + s.xorb_hash.hex());
    const std::uint64_t base = s.chunk_start == 0 ? 0 : ends[s.chunk_start - 1];
    if (ends[s.chunk_end - 1] - base != s.unpacked_bytes)
      return fail(Errc::corrupt, "chunk store: segment size disagrees with xorb " + s.xorb_hash.hex());
    // First chunk whose end (in file offsets) is past a; last chunk whose start is before b.
    std::uint32_t first = s.chunk_start, last = s.chunk_end - 1;
    if (a > seg_off) {
      std::uint64_t rel = a - seg_off + base;  // offset within the xorb's unpacked data
      first = static_cast<std::uint32_t>(std::upper_bound(ends.begin() + s.chunk_start, ends.begin() + s.chunk_end, rel) - ends.begin());
    }
    if (b < seg_end) {
      std::uint64_t rel = b - seg_off + base;
      last = static_cast<std::uint32_t>(std::lower_bound(ends.begin() + s.chunk_start, ends.begin() + s.chunk_end, rel) - ends.begin());
    }
    const std::uint64_t first_start = first == 0 ? 0 : ends[first - 1];
    if (p.terms.empty()) p.offset_into_first_range = a - (seg_off + (first_start - base));
    p.terms.push_back({s.xorb_hash, first, last + 1, ends[last] - first_start});
    seg_off = seg_end;
  }
  return p;
}

Result<std::vector<std::uint32_t>> ChunkStore::record_ends(const MerkleHash& xorb) const {
  {
    std::lock_guard lock(mu_);
    auto it = xorbs_.find(xorb);
    if (it != xorbs_.end() && !it->second.record_ends.empty()) return it->second.record_ends;
  }
  std::vector<std::uint32_t> ends;
  HG_TRY(auto size, objects_->size(ObjectKind::xorb, xorb));
  if (!size) return fail(Errc::not_found, "chunk store: xorb " + xorb.hex() + " is missing");
  bool have = false;
  if (*size >= 96) {
    HG_TRY(auto tail, objects_->get_range(ObjectKind::xorb, xorb, *size - 4, 4));
    std::uint32_t info_len;
    std::memcpy(&info_len, tail.data(), 4);
    if (info_len >= 92 && info_len <= *size - 4 && (info_len - 92) % 40 == 0) {
      HG_TRY(auto info, objects_->get_range(ObjectKind::xorb, xorb, *size - 4 - info_len, info_len));
      if (info.compare(0, 7, "XETBLOB") == 0) {
        HG_TRY(auto f, parse_xorb_footer(as_bytes(info)));
        ends = std::move(f.record_ends);
        have = true;
      }
    }
  }
  if (!have) {  // no footer: walk the record headers
    HG_TRY(auto all, objects_->get(ObjectKind::xorb, xorb));
    HG_TRY(auto lay, parse_xorb_layout(as_bytes(all)));
    for (const auto& r : lay.records) ends.push_back(r.offset + static_cast<std::uint32_t>(kRecordHeaderSize) + r.payload_size);
  }
  std::lock_guard lock(mu_);
  auto it = xorbs_.find(xorb);
  if (it != xorbs_.end()) {
    if (ends.size() != it->second.unpacked_ends.size())
      return fail(Errc::corrupt, "chunk store: xorb " + xorb.hex() + " has " + std::to_string(ends.size()) + " records, index says " +
                                     std::to_string(it->second.unpacked_ends.size()));
    it->second.record_ends = ends;
  }
  return ends;
}

Result<std::pair<std::uint64_t, std::uint64_t>> ChunkStore::xorb_byte_range(const MerkleHash& xorb, std::uint32_t chunk_start,
                                                                            std::uint32_t chunk_end) const {
  HG_TRY(auto ends, record_ends(xorb));
  if (chunk_start >= chunk_end || chunk_end > ends.size())
    return fail(Errc::invalid_argument, "chunk store: chunk range [" + std::to_string(chunk_start) + ", " + std::to_string(chunk_end) +
                                            ") out of bounds for xorb " + xorb.hex());
  return std::make_pair<std::uint64_t, std::uint64_t>(chunk_start == 0 ? 0 : ends[chunk_start - 1], ends[chunk_end - 1]);
}

Result<void> ChunkStore::read(const FileRecord& file, std::uint64_t offset, std::uint64_t length, std::string& out) const {
  HG_TRY(auto p, plan(file, offset, length));
  std::uint64_t skip = p.offset_into_first_range, left = p.length;
  std::string data;
  for (const auto& t : p.terms) {
    HG_TRY(auto range, xorb_byte_range(t.xorb, t.chunk_start, t.chunk_end));
    HG_TRY(auto records, objects_->get_range(ObjectKind::xorb, t.xorb, range.first, range.second - range.first));
    data.clear();
    std::vector<std::uint32_t> sizes;
    HG_TRY_VOID(decode_records(as_bytes(records), data, &sizes));
    if (sizes.size() != t.chunk_end - t.chunk_start || data.size() != t.unpacked_length)
      return fail(Errc::corrupt, "chunk store: xorb " + t.xorb.hex() + " records disagree with the index");
    std::uint64_t from = std::min<std::uint64_t>(skip, data.size());
    std::uint64_t n = std::min<std::uint64_t>(data.size() - from, left);
    out.append(data, from, n);
    skip -= from;
    left -= n;
  }
  if (left != 0) return fail(Errc::corrupt, "chunk store: reconstruction is short by " + std::to_string(left) + " bytes");
  return {};
}

Result<void> ChunkStore::read_pieces(const FileRecord& file, std::uint64_t offset, std::uint64_t length,
                                     std::vector<ReadPiece>& out) const {
  HG_TRY(auto p, plan(file, offset, length));
  std::uint64_t skip = p.offset_into_first_range, left = p.length;
  // Keeps the [from, from + n) part of a piece of `size` bytes; false when nothing of it is wanted.
  auto trim = [&](std::uint64_t size, std::uint64_t& from, std::uint64_t& n) {
    from = std::min(skip, size);
    n = std::min(size - from, left);
    skip -= from;
    left -= n;
    return n > 0;
  };
  for (const auto& t : p.terms) {
    if (left == 0) break;
    const std::string path = objects_->local_path(ObjectKind::xorb, t.xorb);
    HG_TRY(auto ends, record_ends(t.xorb));
    std::vector<std::uint32_t> unpacked;  // chunk sizes, from the index
    {
      std::lock_guard lock(mu_);
      auto it = xorbs_.find(t.xorb);
      if (it == xorbs_.end() || t.chunk_end > it->second.unpacked_ends.size() || t.chunk_end > ends.size())
        return fail(Errc::corrupt, "chunk store: xorb " + t.xorb.hex() + " records disagree with the index");
      for (std::uint32_t i = t.chunk_start; i < t.chunk_end; ++i)
        unpacked.push_back(it->second.unpacked_ends[i] - (i == 0 ? 0 : it->second.unpacked_ends[i - 1]));
    }
    int fd = path.empty() ? -1 : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {  // not a local file: read and decode the term's records
      std::string data;
      HG_TRY(auto range, xorb_byte_range(t.xorb, t.chunk_start, t.chunk_end));
      HG_TRY(auto records, objects_->get_range(ObjectKind::xorb, t.xorb, range.first, range.second - range.first));
      HG_TRY_VOID(decode_records(as_bytes(records), data, nullptr));
      if (data.size() != t.unpacked_length)
        return fail(Errc::corrupt, "chunk store: xorb " + t.xorb.hex() + " records disagree with the index");
      std::uint64_t from, n;
      if (trim(data.size(), from, n)) out.push_back({"", 0, 0, data.substr(from, n)});
      continue;
    }
    struct Close {
      int fd;
      ~Close() { ::close(fd); }
    } close_fd{fd};
    for (std::uint32_t i = t.chunk_start; i < t.chunk_end && left > 0; ++i) {
      const std::uint64_t rec_start = i == 0 ? 0 : ends[i - 1], rec_end = ends[i];
      const std::uint32_t size = unpacked[i - t.chunk_start];
      if (skip >= size) {  // the whole chunk lies before the range
        skip -= size;
        continue;
      }
      std::uint8_t h[kRecordHeaderSize];
      if (rec_end < rec_start + kRecordHeaderSize ||
          ::pread(fd, h, sizeof h, static_cast<off_t>(rec_start)) != static_cast<ssize_t>(sizeof h))
        return fail(Errc::corrupt, "chunk store: cannot read record " + std::to_string(i) + " of xorb " + t.xorb.hex());
      auto rh = parse_record_header(ByteView(h, sizeof h));
      if (!rh || rh->unpacked_size != size || rec_start + kRecordHeaderSize + rh->payload_size != rec_end)
        return fail(Errc::corrupt, "chunk store: record " + std::to_string(i) + " of xorb " + t.xorb.hex() + " disagrees with the index");
      const std::uint32_t payload = rh->payload_size;
      std::uint64_t from, n;
      if (rh->scheme == static_cast<std::uint8_t>(Compression::none) && payload == size) {
        trim(size, from, n);
        out.push_back({path, rec_start + kRecordHeaderSize + from, n, {}});
        continue;
      }
      std::string packed(payload, '\0');
      if (::pread(fd, packed.data(), payload, static_cast<off_t>(rec_start + kRecordHeaderSize)) != static_cast<ssize_t>(payload))
        return fail(Errc::corrupt, "chunk store: cannot read record " + std::to_string(i) + " of xorb " + t.xorb.hex());
      std::string data;
      HG_TRY_VOID(decode_payload(as_bytes(packed), rh->scheme, size, data));
      trim(size, from, n);
      out.push_back({"", 0, 0, data.substr(from, n)});
    }
  }
  if (left != 0) return fail(Errc::corrupt, "chunk store: reconstruction is short by " + std::to_string(left) + " bytes");
  return {};
}

std::optional<FileRecord> ChunkStore::lookup_sha256(const std::array<std::uint8_t, 32>& sha256) const {
  std::lock_guard lock(mu_);
  auto it = by_sha256_.find(MerkleHash{sha256});
  if (it == by_sha256_.end()) return std::nullopt;
  auto f = files_.find(it->second);
  if (f == files_.end()) return std::nullopt;
  return f->second;
}

std::optional<std::pair<MerkleHash, std::uint32_t>> ChunkStore::find_chunk(const MerkleHash& chunk) const {
  std::lock_guard lock(mu_);
  auto it = chunks_.find(chunk);
  if (it == chunks_.end()) return std::nullopt;
  return it->second;
}

std::optional<CasInfo> ChunkStore::xorb_info(const MerkleHash& xorb) const {
  std::lock_guard lock(mu_);
  auto it = xorbs_.find(xorb);
  if (it == xorbs_.end()) return std::nullopt;
  CasInfo ci;
  ci.xorb_hash = xorb;
  std::uint32_t prev = 0;
  for (std::size_t i = 0; i < it->second.chunk_hashes.size(); ++i) {
    ci.chunks.push_back({it->second.chunk_hashes[i], prev, it->second.unpacked_ends[i] - prev, 0});
    prev = it->second.unpacked_ends[i];
  }
  ci.unpacked_total = prev;
  return ci;
}

Result<bool> ChunkStore::link_sha256(const MerkleHash& file_hash, const std::array<std::uint8_t, 32>& sha256) {
  Shard shard;
  {
    std::lock_guard lock(mu_);
    auto it = files_.find(file_hash);
    if (it == files_.end()) return fail(Errc::not_found, "chunk store: unknown file " + file_hash.hex());
    if (auto l = by_sha256_.find(MerkleHash{sha256}); l != by_sha256_.end() && l->second == file_hash) return false;
    FileInfo fi;
    fi.file_hash = file_hash;
    fi.segments = it->second.segments;
    fi.sha256 = sha256;
    for (const auto& s : fi.segments) {
      auto x = xorbs_.find(s.xorb_hash);
      if (x == xorbs_.end() || s.chunk_end > x->second.chunk_hashes.size() || s.chunk_start >= s.chunk_end)
        return fail(Errc::corrupt, "chunk store: file " + file_hash.hex() + " names unknown xorb " + s.xorb_hash.hex());
      fi.verification.push_back(verification_hash(std::span(x->second.chunk_hashes).subspan(s.chunk_start, s.chunk_end - s.chunk_start)));
    }
    shard.files.push_back(std::move(fi));
  }
  HG_TRY_VOID(add_shard(shard));
  std::lock_guard lock(mu_);
  by_sha256_.insert_or_assign(MerkleHash{sha256}, file_hash);  // verified: replaces any older link
  files_.at(file_hash).sha256 = sha256;
  return true;
}

Result<bool> ChunkStore::add_shard(const Shard& shard) {
  std::string bytes = serialize_shard(shard);
  HG_TRY(bool inserted, objects_->put(ObjectKind::shard, shard_key(bytes), as_bytes(bytes)));
  std::lock_guard lock(mu_);
  index_shard_locked(shard);
  return inserted;
}

Result<GcStats> ChunkStore::collect_garbage(std::span<const MerkleHash> live_files) {
  if (open_writers_.load() > 0) return fail(Errc::conflict, "chunk store: garbage collection while a writer is open");
  GcStats st;
  Shard compact;
  std::set<MerkleHash> marked;
  {
    std::lock_guard lock(mu_);
    std::set<MerkleHash> seen;
    for (const auto& fh : live_files) {
      auto it = files_.find(fh);
      if (it == files_.end() || !seen.insert(fh).second) continue;
      const FileRecord& r = it->second;
      FileInfo fi;
      fi.file_hash = r.file_hash;
      if (!MerkleHash{r.sha256}.is_zero()) fi.sha256 = r.sha256;  // only files with a known sha256
      fi.segments = r.segments;
      for (const auto& s : r.segments) {
        marked.insert(s.xorb_hash);
        auto x = xorbs_.find(s.xorb_hash);
        if (x == xorbs_.end() || s.chunk_end > x->second.chunk_hashes.size())
          return fail(Errc::corrupt, "chunk store: live file " + fh.hex() + " names unknown xorb " + s.xorb_hash.hex());
        fi.verification.push_back(verification_hash(std::span(x->second.chunk_hashes).subspan(s.chunk_start, s.chunk_end - s.chunk_start)));
      }
      compact.files.push_back(std::move(fi));
    }
    for (const auto& h : marked) {
      const XorbEntry& e = xorbs_.at(h);
      CasInfo ci;
      ci.xorb_hash = h;
      std::uint32_t prev = 0;
      for (std::size_t i = 0; i < e.chunk_hashes.size(); ++i) {
        ci.chunks.push_back({e.chunk_hashes[i], prev, e.unpacked_ends[i] - prev, 0});
        prev = e.unpacked_ends[i];
      }
      ci.unpacked_total = prev;
      compact.xorbs.push_back(std::move(ci));
    }
  }
  // 1. The compacted shard becomes durable first; 2. old shards go; 3. unmarked xorbs go.
  std::optional<MerkleHash> keep;
  if (!compact.files.empty()) {
    std::string bytes = serialize_shard(compact);
    keep = shard_key(bytes);
    HG_TRY_VOID(objects_->put(ObjectKind::shard, *keep, as_bytes(bytes)));
  }
  HG_TRY(auto shards, objects_->list(ObjectKind::shard));
  for (const auto& k : shards) {
    if (keep && k == *keep) continue;
    HG_TRY(auto sz, objects_->size(ObjectKind::shard, k));
    HG_TRY_VOID(objects_->remove(ObjectKind::shard, k));
    st.bytes_removed += sz.value_or(0);
    ++st.shards_removed;
  }
  HG_TRY(auto xorbs, objects_->list(ObjectKind::xorb));
  for (const auto& k : xorbs) {
    if (marked.count(k)) {
      ++st.xorbs_kept;
      continue;
    }
    HG_TRY(auto sz, objects_->size(ObjectKind::xorb, k));
    HG_TRY_VOID(objects_->remove(ObjectKind::xorb, k));
    st.bytes_removed += sz.value_or(0);
    ++st.xorbs_removed;
  }
  std::lock_guard lock(mu_);
  std::unordered_map<MerkleHash, XorbEntry, MerkleHashHasher> old;
  old.swap(xorbs_);
  chunks_.clear();
  files_.clear();
  by_sha256_.clear();
  index_shard_locked(compact);
  for (auto& [h, e] : xorbs_) {
    auto it = old.find(h);
    if (it != old.end()) e.record_ends = std::move(it->second.record_ends);
  }
  return st;
}

}  // namespace hubgate::xet
