// XetByteSource (data flow in the header).
//
// One fetch() builds a plan (xet_plan.hpp) and walks its chunks in file order with a cursor.
// `try_emit_next` emits the chunk under the cursor when its bytes are at hand: local chunks are
// read from the chunk store in runs (one record range read per run of consecutive chunks of a
// local xorb); fetched chunks come from their Flight, the decoded records of one upstream xorb
// byte range, shared by every fill that needs that exact range. When the cursor reaches a
// fetch whose flight is not started, this fill leads it: it streams the range and hands each
// complete record to a helper thread (RecordHasher) that decodes and hashes it and appends the
// chunk to the flight, while the fill assembles the next records and lets the cursor advance
// over the chunks that are ready (so readers see bytes while the range arrives). A fill that joined someone else's
// flight waits on it. Flights are dropped once the fill emitted all of their chunks it needs.
// Emitting a chunk also records its hash and size (for the file hash), where the chunk lives
// locally (an existing local xorb, or one of the new xorbs this fill packs from the chunks the
// store lacks), and, for fetched chunks, the index row that a verified fill will commit.
#include "upstream/xet_fill.hpp"

#include <algorithm>
#include <cstring>
#include <deque>
#include <future>
#include <limits>
#include <thread>

#include <nlohmann/json.hpp>

#include "util/hex.hpp"
#include "util/parse.hpp"

namespace hubgate::upstream {

using json = nlohmann::json;

struct DecodedChunk {
  std::string record;   // the record as upstream sent it (header + payload)
  std::string decoded;  // the chunk, when the record is compressed
  bool raw = false;     // stored uncompressed: the chunk is the record's payload
  xet::MerkleHash hash;
  std::uint64_t offset = 0;  // record header offset in the xorb
  std::uint32_t length = 0;  // record length with header

  std::string_view data() const {
    return raw ? std::string_view(record).substr(xet::kRecordHeaderSize) : std::string_view(decoded);
  }
};

struct XetByteSource::Flight {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::shared_ptr<const DecodedChunk>> chunks;  // in record order
  bool done = false;
  std::optional<Error> error;

  std::shared_ptr<const DecodedChunk> at(std::size_t k) {
    std::lock_guard lock(mu);
    return k < chunks.size() ? chunks[k] : nullptr;
  }
};

struct XetByteSource::Run {
  const FillSpec& spec;
  std::uint64_t skip = 0;  // resume offset: bytes below it are not given to the sink again
  const DataSink& sink;
  const std::atomic<bool>& cancel;
  XetPlan plan;
  std::size_t cursor = 0;
  std::vector<std::shared_ptr<Flight>> flights;  // per plan fetch, once joined/started
  std::vector<std::size_t> remaining;            // per plan fetch: planned chunks not yet emitted
  std::uint64_t emitted = 0;
  std::optional<Error> error;  // a local read or the sink failed inside a transfer callback
  bool sink_refused = false;
  // Where each chunk of the file lives locally: seq -1 = an existing xorb, else new xorb `seq`.
  struct Loc {
    int seq = -1;
    xet::MerkleHash xorb;
    std::uint32_t index = 0;
  };
  std::vector<xet::HashAndSize> leaves;
  std::vector<Loc> locs;
  std::vector<XetIndexRow> rows;
  xet::XorbBuilder builder{xet::CompressionPolicy::automatic, /*keep_body=*/false};
  std::unique_ptr<xet::ObjectWriter> writer;  // the xorb being packed, written record by record
  std::vector<xet::MerkleHash> built;  // hashes of the new xorbs, by seq
  std::vector<xet::CasInfo> cas;
  std::unordered_map<xet::MerkleHash, std::pair<int, std::uint32_t>, xet::MerkleHashHasher> fresh;  // new chunk -> (seq, idx)
  std::vector<xet::MerkleHash> stored;  // xorbs this run inserted into the object store
  std::uint64_t stored_bytes = 0;       // their serialized sizes
  std::uint64_t xorb_bytes = 0;         // xorb bytes received from upstream
  // Commits of packed xorbs (fsync + rename) run beside the fill; at most kMaxPuts at a time.
  struct Put {
    xet::MerkleHash hash;
    std::uint64_t size = 0;
    std::future<Result<bool>> done;
  };
  static constexpr std::size_t kMaxPuts = 2;
  std::deque<Put> puts;
};

namespace {

void bump(Metrics* m, std::atomic<std::uint64_t> Metrics::*field, std::uint64_t n = 1) {
  if (m) (m->*field).fetch_add(n, std::memory_order_relaxed);
}

std::optional<std::uint64_t> content_range_first(std::string_view v) {
  if (!v.starts_with("bytes ")) return std::nullopt;
  v.remove_prefix(6);
  auto dash = v.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  return parse_u64(v.substr(0, dash));
}

Error status_error(long s, const std::string& what) {
  if (s >= 500 || s == 429 || s == 408) return Error(Errc::unavailable, what);
  if (s == 404) return Error(Errc::not_found, what);
  if (s == 401 || s == 403) return Error(Errc::permission_denied, what);
  return Error(Errc::corrupt, what);
}

std::uint32_t u24(const std::uint8_t* p) { return std::uint32_t(p[0]) | std::uint32_t(p[1]) << 8 | std::uint32_t(p[2]) << 16; }

// Decodes and hashes one transfer's records on a helper thread, in order, and appends them to
// the flight, while the transfer's thread assembles the next records and emits what is ready.
// After a record fails to decode, the rest are dropped; error() reports the failure.
class RecordHasher {
 public:
  explicit RecordHasher(XetByteSource::Flight& flight) : flight_(flight), thread_([this] { loop(); }) {}
  ~RecordHasher() { finish(); }
  RecordHasher(const RecordHasher&) = delete;
  RecordHasher& operator=(const RecordHasher&) = delete;

  void push(std::shared_ptr<DecodedChunk> d) {
    {
      std::lock_guard lock(mu_);
      queue_.push_back(std::move(d));
    }
    cv_.notify_all();
  }
  std::optional<Error> error() {
    std::lock_guard lock(mu_);
    return error_;
  }
  // Waits until every pushed record is in the flight (or dropped after a failure).
  std::optional<Error> finish() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    return error_;
  }

 private:
  void loop() {
    std::unique_lock lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;
      auto d = std::move(queue_.front());
      queue_.pop_front();
      if (error_) continue;
      lock.unlock();
      auto bad = decode_and_hash(*d);
      if (!bad) {
        {
          std::lock_guard fl(flight_.mu);
          flight_.chunks.push_back(std::move(d));
        }
        flight_.cv.notify_all();
      }
      lock.lock();
      if (bad) error_ = std::move(bad);
    }
  }
  static std::optional<Error> decode_and_hash(DecodedChunk& d) {
    const auto* h = reinterpret_cast<const std::uint8_t*>(d.record.data());
    if (!d.raw) {
      const std::uint32_t usize = u24(h + 5);
      d.decoded.reserve(usize);
      auto payload = as_bytes(d.record).subspan(xet::kRecordHeaderSize);
      if (auto r = xet::decode_payload(payload, h[4], usize, d.decoded); !r)
        return Error(Errc::corrupt, "xorb range: record at " + std::to_string(d.offset) + ": " + r.error().message);
    }
    d.hash = xet::chunk_hash(as_bytes(d.data()));
    return std::nullopt;
  }

  XetByteSource::Flight& flight_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<DecodedChunk>> queue_;
  std::optional<Error> error_;
  bool stop_ = false;
  std::thread thread_;  // last: starts once the members above exist
};

}  // namespace

XetByteSource::XetByteSource(Client& client, ByteSource& plain, xet::ChunkStore& chunks, XetIndex& index, Metrics* metrics,
                             XetFillOptions options)
    : client_(client), plain_(plain), chunks_(chunks), index_(index), metrics_(metrics), opt_(options) {}

XetByteSource::~XetByteSource() = default;

Result<void> XetByteSource::fetch(const FillSpec& spec, std::uint64_t offset, const DataSink& sink,
                                  const std::atomic<bool>& cancel) {
  if (!spec.xet_hash || spec.xet_token_url.empty()) return plain_.fetch(spec, offset, sink, cancel);
  auto declared = xet::MerkleHash::from_hex(*spec.xet_hash);
  if (!declared) return plain_.fetch(spec, offset, sink, cancel);
  {
    std::lock_guard lock(mu_);
    if (plain_fills_.count(spec.key)) return plain_.fetch(spec, offset, sink, cancel);
  }
  auto r = run_xet(spec, *declared, offset, sink, cancel);
  if (!r && r.error().code == Errc::unsupported) {
    bump(metrics_, &Metrics::xet_fallbacks);
    {
      std::lock_guard lock(mu_);
      plain_fills_[spec.key] = true;
    }
    return plain_.fetch(spec, offset, sink, cancel);
  }
  return r;
}

Result<HttpResponse> XetByteSource::get_json(const std::string& url, const Headers& headers, const char* what) {
  HttpRequest req;
  req.url = url;
  req.headers = headers;
  req.headers.emplace_back("Accept-Encoding", "identity");
  auto resp = client_.send(req);
  if (!resp) return fail(resp.error().context(what));
  if (resp->status == 404) return fail(Errc::unsupported, std::string(what) + ": upstream answered 404 (no Xet)");
  if (resp->status != 200) return fail(status_error(resp->status, std::string(what) + " " + url + ": upstream status " + std::to_string(resp->status)));
  return resp;
}

Result<void> XetByteSource::stream_local(const xet::FileRecord& rec, std::uint64_t offset, const DataSink& sink,
                                         const std::atomic<bool>& cancel) {
  std::string buf;
  for (std::uint64_t pos = offset; pos < rec.size;) {
    if (cancel.load()) return fail(Errc::unavailable, "cancelled");
    std::uint64_t n = std::min<std::uint64_t>(opt_.local_read_batch, rec.size - pos);
    buf.clear();
    HG_TRY_VOID(chunks_.read(rec, pos, n, buf));
    if (buf.size() != n) return fail(Errc::corrupt, "xet fill: local chunk store returned a short read");
    if (!sink(as_bytes(buf))) return fail(Errc::io, "xet fill: sink refused the bytes");
    bump(metrics_, &Metrics::xet_bytes_reused, n);
    pos += n;
  }
  return {};
}

Result<void> XetByteSource::run_xet(const FillSpec& spec, const xet::MerkleHash& declared, std::uint64_t offset,
                                    const DataSink& sink, const std::atomic<bool>& cancel) {
  bump(metrics_, &Metrics::xet_fills_started);
  if (auto rec = chunks_.lookup(declared); rec && rec->size == spec.size) {
    bump(metrics_, &Metrics::xet_local_files);
    return stream_local(*rec, offset, sink, cancel);
  }
  // 1. token
  HG_TRY(auto tok_resp, get_json(spec.xet_token_url, spec.headers, "xet-read-token"));
  auto tj = json::parse(tok_resp.body, nullptr, false);
  std::string token, cas_url;
  if (tj.is_object() && tj.contains("accessToken") && tj["accessToken"].is_string()) token = tj["accessToken"].get<std::string>();
  if (tj.is_object() && tj.contains("casUrl") && tj["casUrl"].is_string()) cas_url = tj["casUrl"].get<std::string>();
  if (token.empty())
    if (const auto* h = tok_resp.header("x-xet-access-token")) token = *h;
  if (cas_url.empty())
    if (const auto* h = tok_resp.header("x-xet-cas-url")) cas_url = *h;
  if (token.empty() || cas_url.empty() || token.size() > 64000 ||
      !(cas_url.starts_with("http://") || cas_url.starts_with("https://")))
    return fail(Errc::corrupt, "xet-read-token: upstream sent no usable accessToken/casUrl");
  while (!cas_url.empty() && cas_url.back() == '/') cas_url.pop_back();
  // 2. reconstruction
  HG_TRY(auto rec_resp, get_json(cas_url + "/v1/reconstructions/" + declared.hex(), Headers{{"Authorization", "Bearer " + token}},
                                 "reconstruction"));
  HG_TRY(auto rec, parse_reconstruction_v1(rec_resp.body, opt_.limits));
  if (rec.offset_into_first_range != 0) return fail(Errc::corrupt, "upstream reconstruction: non-zero offset_into_first_range for a whole file");
  std::uint64_t total = 0;
  for (const auto& t : rec.terms) total += t.unpacked_length;
  if (total != spec.size)
    return fail(Errc::corrupt, "upstream reconstruction: terms hold " + std::to_string(total) + " bytes, the file has " + std::to_string(spec.size));
  // 3. plan
  Run run{spec, offset, sink, cancel, {}, 0, {}, {}, 0, std::nullopt, false, {}, {}, {},
          xet::XorbBuilder{xet::CompressionPolicy::automatic, false}, nullptr, {}, {}, {}, {}, 0, 0, {}};
  // Index rows are read once per upstream xorb (one query each, not one per chunk).
  std::unordered_map<xet::MerkleHash, std::vector<XetIndexRow>, xet::MerkleHashHasher> known;
  auto row_of = [&](const xet::MerkleHash& x, std::uint32_t i) -> std::optional<XetIndexRow> {
    auto it = known.find(x);
    if (it == known.end()) it = known.emplace(x, index_.range(x, 0, std::numeric_limits<std::uint32_t>::max())).first;
    const auto& rows = it->second;  // ordered by index
    auto r = std::lower_bound(rows.begin(), rows.end(), i, [](const XetIndexRow& row, std::uint32_t k) { return row.index < k; });
    if (r == rows.end() || r->index != i) return std::nullopt;
    return *r;
  };
  HG_TRY(run.plan, plan_terms(rec, row_of, [&](const xet::MerkleHash& c) { return chunks_.find_chunk(c).has_value(); }));
  run.flights.resize(run.plan.fetches.size());
  run.remaining.assign(run.plan.fetches.size(), 0);
  for (const auto& c : run.plan.chunks)
    if (!c.local) run.remaining[c.fetch]++;
  auto cleanup_stored = [&] {
    std::lock_guard lock(mu_);
    auto& p = pending_[spec.key];
    p.xorbs.insert(p.xorbs.end(), run.stored.begin(), run.stored.end());
    run.stored.clear();
  };
  // 4. walk the chunks in file order
  auto result = [&]() -> Result<void> {
    while (run.cursor < run.plan.chunks.size()) {
      if (cancel.load()) return fail(Errc::unavailable, "cancelled");
      if (try_emit_next(run)) continue;
      if (run.error) return fail(*run.error);
      const auto& c = run.plan.chunks[run.cursor];
      const XetFetch& f = run.plan.fetches[c.fetch];
      if (!run.flights[c.fetch]) {
        auto [flight, leader] = join_flight(f);
        run.flights[c.fetch] = flight;
        if (leader) {
          auto t = transfer(run, f, *flight);
          end_flight(f, flight, t ? std::nullopt : std::optional<Error>(t.error()));
          if (run.error) return fail(*run.error);
          if (!t) return t;
        } else {
          bump(metrics_, &Metrics::xet_range_joins);
        }
        continue;
      }
      // Someone else's flight: wait for the chunk (or its end).
      Flight& fl = *run.flights[c.fetch];
      std::unique_lock lock(fl.mu);
      std::size_t k = c.index - f.chunk_start;
      fl.cv.wait_for(lock, std::chrono::milliseconds(100), [&] { return fl.done || fl.chunks.size() > k; });
      if (fl.chunks.size() > k) continue;
      if (fl.done) {
        if (fl.error) return fail(Errc::unavailable, "xet fill: shared xorb range failed: " + fl.error->message);
        return fail(Errc::corrupt, "xet fill: shared xorb range ended before chunk " + std::to_string(c.index));
      }
    }
    if (run.emitted != spec.size)
      return fail(Errc::corrupt, "xet fill: assembled " + std::to_string(run.emitted) + " bytes, upstream declared " + std::to_string(spec.size));
    // 5. verify the Xet file hash before anything becomes durable
    auto got = xet::file_hash(run.leaves);
    if (got != declared)
      return fail(Errc::corrupt, "xet fill: chunks hash to file " + got.hex() + ", upstream declared " + declared.hex());
    HG_TRY_VOID(flush_xorb(run));
    HG_TRY_VOID(drain_puts(run));
    xet::FileInfo fi;
    fi.file_hash = declared;
    for (std::size_t i = 0; i < run.locs.size(); ++i) {
      auto& l = run.locs[i];
      xet::MerkleHash x = l.seq < 0 ? l.xorb : run.built[static_cast<std::size_t>(l.seq)];
      if (!fi.segments.empty() && fi.segments.back().xorb_hash == x && fi.segments.back().chunk_end == l.index) {
        fi.segments.back().chunk_end++;
        fi.segments.back().unpacked_bytes += static_cast<std::uint32_t>(run.leaves[i].size);
      } else {
        fi.segments.push_back(xet::FileSegment{x, static_cast<std::uint32_t>(run.leaves[i].size), l.index, l.index + 1});
      }
    }
    std::size_t leaf = 0;
    for (const auto& s : fi.segments) {
      std::vector<xet::MerkleHash> hs;
      for (std::uint32_t k = s.chunk_start; k < s.chunk_end; ++k) hs.push_back(run.leaves[leaf++].hash);
      fi.verification.push_back(xet::verification_hash(hs));
    }
    if (spec.key.algo == ContentKey::Algo::sha256) {
      if (auto raw = from_hex(spec.key.hex); raw && raw->size() == 32) {
        std::array<std::uint8_t, 32> d{};
        std::memcpy(d.data(), raw->data(), 32);
        fi.sha256 = d;
      }
    }
    xet::Shard shard;
    shard.files.push_back(std::move(fi));
    shard.xorbs = std::move(run.cas);
    std::lock_guard lock(mu_);
    auto& p = pending_[spec.key];
    p.shard = std::move(shard);
    p.rows = std::move(run.rows);
    p.file = declared;
    p.size = spec.size;
    p.stored_bytes = run.stored_bytes;
    p.xorb_bytes = run.xorb_bytes;
    return {};
  }();
  if (auto d = drain_puts(run); !d && result) result = d;
  cleanup_stored();
  if (!result && run.sink_refused) return fail(Errc::io, "xet fill: the fill refused the bytes");
  return result;
}

// Emits the chunk under the cursor if its bytes are at hand (never blocks on the network).
bool XetByteSource::try_emit_next(Run& run) {
  if (run.error || run.cursor >= run.plan.chunks.size()) return false;
  const auto& c = run.plan.chunks[run.cursor];
  if (c.local) {
    if (auto r = emit_local_run(run); !r) {
      run.error = r.error();
      return false;
    }
    return !run.error;
  }
  auto& fl = run.flights[c.fetch];
  if (!fl) return false;
  const XetFetch& f = run.plan.fetches[c.fetch];
  auto d = fl->at(c.index - f.chunk_start);
  if (!d) return false;
  XetIndexRow row{c.xorb, c.index, d->hash, d->offset, d->length};
  emit(run, d->data(), d->hash, &row, d->record);
  bump(metrics_, &Metrics::xet_chunks_fetched);
  bump(metrics_, &Metrics::xet_bytes_fetched, d->data().size());
  if (--run.remaining[c.fetch] == 0) fl.reset();  // this fill needs nothing more from it
  run.cursor++;
  return !run.error;
}

// The run of local chunks at the cursor that are consecutive records of one local xorb.
Result<void> XetByteSource::emit_local_run(Run& run) {
  const auto& first = run.plan.chunks[run.cursor];
  auto loc = chunks_.find_chunk(first.hash);
  if (!loc) return fail(Errc::not_found, "xet fill: chunk " + first.hash.hex() + " left the local store");
  auto info = chunks_.xorb_info(loc->first);
  if (!info) return fail(Errc::not_found, "xet fill: local xorb " + loc->first.hex() + " is not indexed");
  std::size_t n = 1;
  std::uint64_t bytes = info->chunks[loc->second].unpacked_len;
  while (run.cursor + n < run.plan.chunks.size() && bytes < opt_.local_read_batch) {
    const auto& c = run.plan.chunks[run.cursor + n];
    std::uint32_t next = loc->second + static_cast<std::uint32_t>(n);
    if (!c.local || next >= info->chunks.size() || info->chunks[next].hash != c.hash) break;
    bytes += info->chunks[next].unpacked_len;
    n++;
  }
  HG_TRY(auto br, chunks_.xorb_byte_range(loc->first, loc->second, loc->second + static_cast<std::uint32_t>(n)));
  HG_TRY(auto raw, chunks_.objects().get_range(xet::ObjectKind::xorb, loc->first, br.first, br.second - br.first));
  std::string out;
  std::vector<std::uint32_t> sizes;
  HG_TRY_VOID(xet::decode_records(as_bytes(raw), out, &sizes));
  if (sizes.size() != n) return fail(Errc::corrupt, "xet fill: local xorb " + loc->first.hex() + " records disagree with its index");
  std::size_t pos = 0;
  for (std::size_t k = 0; k < n; ++k) {
    const auto& c = run.plan.chunks[run.cursor];
    emit(run, std::string_view(out).substr(pos, sizes[k]), c.hash, nullptr);
    pos += sizes[k];
    bump(metrics_, &Metrics::xet_chunks_reused);
    bump(metrics_, &Metrics::xet_bytes_reused, sizes[k]);
    run.cursor++;
    if (run.error) break;
  }
  return {};
}

void XetByteSource::emit(Run& run, std::string_view data, const xet::MerkleHash& hash, const XetIndexRow* fetched,
                         std::string_view record) {
  run.leaves.push_back({hash, data.size()});
  Run::Loc loc;
  if (auto it = run.fresh.find(hash); it != run.fresh.end()) {
    loc = {it->second.first, {}, it->second.second};
  } else if (auto l = chunks_.find_chunk(hash)) {
    loc = {-1, l->first, l->second};
  } else {
    if (!run.builder.fits(data.size())) {
      if (auto r = flush_xorb(run); !r) {
        run.error = r.error();
        return;
      }
    }
    std::string encoded;
    if (record.empty()) {  // not a fetched record: compress it here
      xet::append_record(encoded, as_bytes(data), xet::CompressionPolicy::automatic);
      record = encoded;
    }
    if (!run.writer) {
      auto w = chunks_.objects().writer(xet::ObjectKind::xorb);
      if (!w) {
        run.error = w.error();
        return;
      }
      run.writer = std::move(*w);
    }
    auto idx = run.builder.add_record(as_bytes(record), static_cast<std::uint32_t>(data.size()), hash);
    if (!idx) {
      run.error = idx.error();
      return;
    }
    if (auto w = run.writer->write(as_bytes(record)); !w) {
      run.error = w.error();
      return;
    }
    loc = {static_cast<int>(run.built.size()), {}, *idx};
    run.fresh[hash] = {loc.seq, *idx};
  }
  run.locs.push_back(loc);
  if (fetched) run.rows.push_back(*fetched);
  std::uint64_t start = run.emitted, end = run.emitted + data.size();
  run.emitted = end;
  if (end <= run.skip) return;
  std::size_t from = start < run.skip ? static_cast<std::size_t>(run.skip - start) : 0;
  if (!run.sink(as_bytes(data.substr(from)))) {
    run.sink_refused = true;
    run.error = Error(Errc::io, "xet fill: the fill refused the bytes");
  }
}

Result<void> XetByteSource::flush_xorb(Run& run) {
  if (run.builder.empty()) return {};
  xet::CasInfo ci;
  ci.xorb_hash = run.builder.hash();
  for (std::size_t i = 0; i < run.builder.chunks().size(); ++i) {
    const auto& m = run.builder.chunks()[i];
    std::uint32_t flags = (i == 0 || m.hash.mod(1024) == 0) ? xet::kChunkFlagGlobalDedup : 0;
    ci.chunks.push_back({m.hash, m.unpacked_start, m.unpacked_size, flags});
  }
  ci.unpacked_total = static_cast<std::uint32_t>(run.builder.unpacked_bytes());
  const std::string footer = run.builder.footer();
  ci.bytes_on_disk = static_cast<std::uint32_t>(run.builder.body_bytes() + footer.size());
  HG_TRY_VOID(run.writer->write(as_bytes(footer)));
  while (run.puts.size() >= Run::kMaxPuts) HG_TRY_VOID(reap_put(run));
  Run::Put put{ci.xorb_hash, ci.bytes_on_disk, {}};
  put.done = std::async(std::launch::async, [w = std::move(run.writer), key = ci.xorb_hash]() { return w->commit(key); });
  run.puts.push_back(std::move(put));
  run.built.push_back(ci.xorb_hash);
  run.cas.push_back(std::move(ci));
  run.builder.clear();
  return {};
}

// Waits for the oldest xorb put and records what it stored.
Result<void> XetByteSource::reap_put(Run& run) {
  Run::Put put = std::move(run.puts.front());
  run.puts.pop_front();
  auto inserted = put.done.get();
  if (!inserted) return fail(inserted.error().context("xet fill: storing xorb " + put.hash.hex()));
  if (*inserted) {
    run.stored.push_back(put.hash);
    run.stored_bytes += put.size;
    std::lock_guard lock(mu_);
    xorb_refs_[put.hash]++;
  }
  return {};
}

// Waits for every xorb put of the run; the first failure, if any.
Result<void> XetByteSource::drain_puts(Run& run) {
  Result<void> first;
  while (!run.puts.empty())
    if (auto r = reap_put(run); !r && first) first = r;
  return first;
}

std::pair<std::shared_ptr<XetByteSource::Flight>, bool> XetByteSource::join_flight(const XetFetch& f) {
  std::string key = f.xorb.hex() + ":" + std::to_string(f.first) + "-" + std::to_string(f.last);
  std::lock_guard lock(mu_);
  if (auto it = flights_.find(key); it != flights_.end()) return {it->second, false};
  auto fl = std::make_shared<Flight>();
  flights_.emplace(key, fl);
  return {fl, true};
}

void XetByteSource::end_flight(const XetFetch& f, const std::shared_ptr<Flight>& flight, std::optional<Error> error) {
  std::string key = f.xorb.hex() + ":" + std::to_string(f.first) + "-" + std::to_string(f.last);
  {
    std::lock_guard lock(mu_);
    if (auto it = flights_.find(key); it != flights_.end() && it->second == flight) flights_.erase(it);
  }
  {
    std::lock_guard lock(flight->mu);
    flight->done = true;
    flight->error = std::move(error);
  }
  flight->cv.notify_all();
}

// Streams [f.first, f.last] and decodes records as they complete. Transient failures resume at
// the next undecoded record; malformed records fail at once (Errc::corrupt).
Result<void> XetByteSource::transfer(Run& run, const XetFetch& f, Flight& flight) {
  const std::uint32_t want = f.chunk_end - f.chunk_start;
  std::uint64_t record = f.first;  // offset of the next record to decode
  std::uint32_t decoded = 0;
  auto backoff = opt_.retry_backoff;
  bump(metrics_, &Metrics::xet_xorb_ranges);
  RecordHasher hasher(flight);
  for (int attempt = 1;; ++attempt) {
    if (run.cancel.load()) return fail(Errc::unavailable, "cancelled");
    std::shared_ptr<DecodedChunk> cur;  // the record being assembled
    std::uint64_t skip = 0, received = 0;
    const std::uint64_t length = f.last + 1 - record;
    std::optional<Error> bad;
    HttpRequest req;
    req.url = f.url;
    req.headers = {{"Range", "bytes=" + std::to_string(record) + "-" + std::to_string(f.last)}, {"Accept-Encoding", "identity"}};
    BodySink body;
    body.on_start = [&](long status, const Headers& headers) {
      if (status == 200) {
        skip = record;  // whole object: drop what precedes the range
        return true;
      }
      for (const auto& [k, v] : headers)
        if (k == "content-range") {
          if (content_range_first(v) == record) return true;
          bad = Error(Errc::corrupt, "xorb range: upstream answered Content-Range " + v + " for a range at " + std::to_string(record));
          return false;
        }
      bad = Error(Errc::corrupt, "xorb range: 206 without Content-Range");
      return false;
    };
    // Records are assembled straight from the network pieces (one copy), then decoded (a raw
    // record's payload is the chunk itself) and hashed as soon as they are complete.
    body.on_data = [&](ByteView b) {
      bump(metrics_, &Metrics::xet_xorb_bytes, b.size());
      run.xorb_bytes += b.size();
      if (skip > 0) {
        std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(skip, b.size()));
        skip -= n;
        b = b.subspan(n);
      }
      if (b.size() > length - received) b = b.subspan(0, static_cast<std::size_t>(length - received));
      received += b.size();
      auto take = [&](std::string& into, std::size_t upto) {
        std::size_t n = std::min(upto - into.size(), b.size());
        into.append(reinterpret_cast<const char*>(b.data()), n);
        b = b.subspan(n);
        return into.size() == upto;
      };
      while (!b.empty()) {
        if (!cur) cur = std::make_shared<DecodedChunk>();  // the header fits the string's inline buffer
        std::string& r = cur->record;
        if (r.size() < xet::kRecordHeaderSize) {
          if (!take(r, xet::kRecordHeaderSize)) break;
          const auto* h = reinterpret_cast<const std::uint8_t*>(r.data());
          std::uint32_t csize = u24(h + 1), usize = u24(h + 5);
          std::uint64_t need = xet::kRecordHeaderSize + csize;
          if (h[0] != 0) bad = Error(Errc::corrupt, "xorb range: record version " + std::to_string(h[0]) + " at " + std::to_string(record));
          else if (record + need > f.last + 1) bad = Error(Errc::corrupt, "xorb range: record at " + std::to_string(record) + " crosses the range end");
          else if (decoded >= want) bad = Error(Errc::corrupt, "xorb range: more records than the " + std::to_string(want) + " chunks it holds");
          else if (usize == 0) bad = Error(Errc::corrupt, "xorb range: empty chunk record");
          if (bad) return false;
          r.reserve(need);
        }
        const auto* h = reinterpret_cast<const std::uint8_t*>(r.data());
        const std::uint32_t csize = u24(h + 1), usize = u24(h + 5);
        const std::uint8_t scheme = h[4];
        const std::size_t need = xet::kRecordHeaderSize + csize;
        if (!take(r, need)) break;
        auto d = std::move(cur);
        d->raw = scheme == 0 && csize == usize;
        d->offset = record;
        d->length = static_cast<std::uint32_t>(need);
        hasher.push(std::move(d));
        record += need;
        decoded++;
        while (try_emit_next(run)) {
        }
        if (run.error) return false;
        if (auto e = hasher.error()) {
          bad = std::move(e);
          return false;
        }
      }
      return received < length;
    };
    auto resp = client_.send(req, &body, &run.cancel);
    if (bad) return fail(*bad);
    if (run.error) return fail(*run.error);
    if (decoded == want && record == f.last + 1) {
      if (auto e = hasher.finish()) return fail(*e);
      return {};
    }
    Error err = !resp ? resp.error()
                : (resp->status < 200 || resp->status >= 300)
                    ? status_error(resp->status, "GET xorb range: upstream status " + std::to_string(resp->status))
                    : Error(Errc::unavailable, "xorb range ended at " + std::to_string(record) + " of " + std::to_string(f.last + 1));
    if (resp && resp->status >= 200 && resp->status < 300 && received == length)
      err = Error(Errc::corrupt, "xorb range: " + std::to_string(decoded) + " records where " + std::to_string(want) + " chunks were announced");
    if (err.code != Errc::unavailable || attempt >= opt_.max_range_attempts) return fail(err);
    bump(metrics_, &Metrics::xet_range_resumes);
    std::this_thread::sleep_for(backoff);
    backoff *= 2;
  }
}

void XetByteSource::finished(const FillSpec& spec, bool verified) {
  Pending p;
  bool had = false;
  {
    std::lock_guard lock(mu_);
    plain_fills_.erase(spec.key);
    if (auto it = pending_.find(spec.key); it != pending_.end()) {
      p = std::move(it->second);
      pending_.erase(it);
      had = true;
    }
  }
  if (!had) return;
  bool ok = verified && p.shard.has_value();
  if (ok) {
    auto added = chunks_.add_shard(*p.shard);
    if (!added) ok = false;
    else if (auto c = index_.commit(p.rows); !c) ok = false;
    else if (opt_.on_committed && *added)
      opt_.on_committed(spec, p.file, p.size, p.stored_bytes + xet::serialize_shard(*p.shard).size(), p.xorb_bytes);
  }
  bump(metrics_, ok ? &Metrics::xet_fills_completed : &Metrics::xet_fills_failed);
  std::vector<xet::MerkleHash> orphans;
  {
    std::lock_guard lock(mu_);
    for (const auto& x : p.xorbs) {
      auto it = xorb_refs_.find(x);
      if (it == xorb_refs_.end()) continue;
      if (--it->second == 0) {
        xorb_refs_.erase(it);
        if (!ok) orphans.push_back(x);
      }
    }
  }
  for (const auto& x : orphans)
    if (!chunks_.xorb_info(x)) (void)chunks_.objects().remove(xet::ObjectKind::xorb, x);
}

}  // namespace hubgate::upstream
