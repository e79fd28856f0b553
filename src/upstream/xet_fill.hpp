// upstream::XetByteSource — a fill's bytes through Xet: only the chunks the edge lacks cross
// the network.
//
// A `ByteSource` (fill.hpp) for fills whose upstream metadata carries a Xet hash
// (`FillSpec::xet_hash`, `xet_token_url`); every other fill goes to the plain source given at
// construction. Data flow of one Xet fill (ARCHITECTURE.md, "Xet fill"):
//
//   1. the file is already in the edge's chunk store (same Xet file hash): stream it from there;
//   2. else GET the read token (`xet_token_url`, the fill's own Authorization), then the v1
//      reconstruction (`{casUrl}/v1/reconstructions/{hash}`, Bearer token). A 404 on either
//      (upstream offers no Xet for it) falls back to the plain source — only before any byte;
//   3. plan (xet_plan.hpp): chunks the XetIndex maps to a chunk the store holds are read
//      locally; the rest are fetched as whole-record byte ranges of the fetch_info URLs
//      (sub-ranges where record offsets are known), single-flight per (xorb, byte range) across
//      concurrent fills (a second fill waits for the first's decoded chunks). Records are
//      decoded as they arrive (xet/xorb.hpp: strict headers, LZ4/BG4 with exact sizes), and
//      chunks are written in file order to the fill's sink, so plain readers stream;
//      a transient failure inside a range resumes at the next undecoded record;
//   4. chunks the store lacks are packed into new local xorbs, each record kept as upstream
//      compressed it and written to the object store's streaming writer as it is packed (while
//      it is still in cache); a full xorb's commit (fsync + rename) runs on a helper thread while
//      the fill goes on (at most two at a time), and all of them end before step 5 ends;
//   5. at the end the file's Xet hash is recomputed from its chunk hashes and sizes and must be
//      the declared one (else Errc::corrupt). The fill then checks size and sha256 and runs the
//      security gate; only when it calls `finished(spec, true)` are the file's shard (segments
//      over local xorbs, verification hashes, sha256) added to the chunk store and the index
//      rows of the fetched chunks committed. `finished(spec, false)` removes the xorbs this
//      fill stored, so a corrupt upstream range leaves neither index rows nor chunks behind.
//
// Thread-safety: fetch() runs concurrently for different fills (one call at a time per fill).
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>

#include "upstream/client.hpp"
#include "upstream/fill.hpp"
#include "upstream/metrics.hpp"
#include "upstream/xet_index.hpp"
#include "upstream/xet_plan.hpp"
#include "xet/chunk_store.hpp"
#include "xet/shard.hpp"

namespace hubgate::upstream {

struct XetFillOptions {
  int max_range_attempts = 4;                     // transfers per xorb range (resuming at a record)
  std::chrono::milliseconds retry_backoff{100};   // doubled after each failed attempt
  std::uint64_t local_read_batch = 8u << 20;      // bytes per local chunk-store read
  XetLimits limits;                               // reconstruction parsing limits
  // Called after a verified fill was committed (accounting): the Xet file, its size, the bytes
  // of xorbs + shard it added to the chunk store, the xorb bytes it pulled from upstream.
  std::function<void(const FillSpec& spec, const xet::MerkleHash& file, std::uint64_t size, std::uint64_t stored_bytes,
                     std::uint64_t xorb_bytes)>
      on_committed;
};

class XetByteSource final : public ByteSource {
 public:
  // `plain` serves fills without Xet and fallbacks; `chunks` is the edge's chunk store (shared
  // with the CAS service when there is one), `index` the durable upstream-chunk index.
  XetByteSource(Client& client, ByteSource& plain, xet::ChunkStore& chunks, XetIndex& index, Metrics* metrics = nullptr,
                XetFillOptions options = {});
  ~XetByteSource() override;

  Result<void> fetch(const FillSpec& spec, std::uint64_t offset, const DataSink& sink,
                     const std::atomic<bool>& cancel) override;
  void finished(const FillSpec& spec, bool verified) override;
  // Ranges (the security gate's early verdicts) come from the plain source.
  Result<void> fetch_range(const FillSpec& spec, std::uint64_t first, std::uint64_t length, const DataSink& sink,
                           const std::atomic<bool>& cancel) override {
    return plain_.fetch_range(spec, first, length, sink, cancel);
  }

  struct Flight;  // one upstream xorb byte range being decoded (xet_fill.cpp)
  struct Run;     // state of one fetch() of one fill (xet_fill.cpp)

 private:
  struct Pending {
    std::optional<xet::Shard> shard;        // set once the Xet file hash verified
    std::vector<XetIndexRow> rows;          // rows of the fetched chunks the file used
    std::vector<xet::MerkleHash> xorbs;     // xorbs this fill stored (inserted by it)
    xet::MerkleHash file;
    std::uint64_t size = 0, stored_bytes = 0, xorb_bytes = 0;  // for XetFillOptions::on_committed
  };
  Result<void> run_xet(const FillSpec& spec, const xet::MerkleHash& declared, std::uint64_t offset, const DataSink& sink,
                       const std::atomic<bool>& cancel);
  Result<void> stream_local(const xet::FileRecord& rec, std::uint64_t offset, const DataSink& sink,
                            const std::atomic<bool>& cancel);
  Result<HttpResponse> get_json(const std::string& url, const Headers& headers, const char* what);
  Result<void> transfer(Run& run, const XetFetch& f, Flight& flight);
  Result<void> emit_local_run(Run& run);
  bool try_emit_next(Run& run);
  // `record`: the chunk's record as upstream encoded it (stored as is), or empty (compress here).
  void emit(Run& run, std::string_view data, const xet::MerkleHash& hash, const XetIndexRow* fetched,
            std::string_view record = {});
  Result<void> flush_xorb(Run& run);
  Result<void> reap_put(Run& run);
  Result<void> drain_puts(Run& run);
  std::pair<std::shared_ptr<Flight>, bool> join_flight(const XetFetch& f);
  void end_flight(const XetFetch& f, const std::shared_ptr<Flight>& flight, std::optional<Error> error);

  Client& client_;
  ByteSource& plain_;
  xet::ChunkStore& chunks_;
  XetIndex& index_;
  Metrics* metrics_;
  XetFillOptions opt_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<Flight>> flights_;
  std::unordered_map<ContentKey, Pending, ContentKeyHash> pending_;
  std::unordered_map<ContentKey, bool, ContentKeyHash> plain_fills_;  // fell back to the plain source
  std::map<xet::MerkleHash, int> xorb_refs_;  // stored xorbs of fills not finished yet
};

}  // namespace hubgate::upstream
