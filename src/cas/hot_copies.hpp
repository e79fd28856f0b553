// cas::HotCopies: whole-file copies of hosted LFS files as a bounded cache over the Xet chunk
// store. The chunk store (cas::Service) holds every committed LFS file once, deduplicated; the
// sha256 blob store may also hold a whole-file copy of it — the fast path for plain HTTP
// (`resolve` with sendfile). This class decides which copies stay and serves plain reads either way:
//
// - `body()` answers a byte range of an object from its copy when there is one (sendfile), else by
//   reconstructing the range from the chunk store, streamed (`read_window` bytes per step, read on
//   `read_threads` worker threads, one window read ahead). A read error ends the body short.
// - Budget (`max_bytes`; nullopt = unlimited: every copy is kept; `hubgate serve` sets a bounded
//   default): copies
//   whose Xet file exists in the chunk store are tracked in least-recently-used order
//   (store::CopyLru) and removed past the budget. A copy without a Xet file (inline files, LFS
//   uploads not yet committed) is never tracked nor removed. Removal unlinks the file: a response
//   already sending it keeps its open descriptor; the next `open` falls back to the chunks.
// - Use: every plain read of a copy marks it used (in memory); the copy's mtime is set to the time
//   of use at most every `persist_interval_s`, and the LRU order at startup comes from mtimes.
// - A plain read served from chunks re-materializes the file in the background (one file at a
//   time, sha256 verified before it is adopted) when it fits the budget: it is hot again.
// - `admit()` is called after a commit named an object (Service::finalize_lfs_object made sure a
//   copy exists and the security gate scanned it). With a budget the copies are a read cache
//   filled on demand by plain reads: the commit's copy is removed (counted as evicted) when the
//   chunk store can rebuild it, so a Xet upload stores its new chunks once, not a second whole
//   file. Without a budget (unlimited) the copy is tracked and kept.
// - Plain reads from chunks send records stored as they are as slices of the xorb files
//   (sendfile(2), ChunkStore::read_pieces); only compressed records pass through memory.
//
// Thread-safety: all public methods may be called concurrently. The object must outlive every
// body producer it returned (serve destroys it after the HTTP server has stopped).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>

#include "http/message.hpp"
#include "store/store.hpp"
#include "util/error.hpp"

namespace hubgate::cas {

class Service;

struct HotCopiesOptions {
  std::optional<std::uint64_t> max_bytes;  // budget for copies of Xet-backed files; nullopt = unlimited
  std::string tmp_dir;                     // scratch folder on the blob store's file system (required)
  std::uint64_t read_window = 4ull << 20;  // bytes reconstructed per step of a plain read from chunks
  unsigned read_threads = 4;               // threads reconstructing plain reads
  std::int64_t persist_interval_s = 60;    // how often a copy's last use is written to its mtime
  bool rematerialize = true;               // rebuild a copy in the background after a read from chunks
  // Scan the blob store at open for existing copies. Cluster mode turns it off: there the blob
  // store is the object store (listing it and fetching every copy at each start is not wanted);
  // copies are tracked from their next commit or use.
  bool scan_store = true;
};

// A body streaming bytes [first, first + length) of a blob being copied in (cluster mode).
Result<std::shared_ptr<http::BodyProducer>> filling_body(std::shared_ptr<store::Filling> f, std::uint64_t first, std::uint64_t length);

class HotCopies {
 public:
  // Scans the blob store for existing copies (LRU order from their mtimes) and enforces the budget.
  static Result<std::unique_ptr<HotCopies>> open(HotCopiesOptions opts, Service& xet, store::BlobStore& store);
  ~HotCopies();  // finishes queued work and joins the threads

  struct Body {
    std::variant<std::string, http::FileBody, std::shared_ptr<http::BodyProducer>> body;
    bool from_chunks = false;  // a producer reconstructing from the chunk store
  };
  // Bytes [first, first + length) of the LFS object `sha256` of `size` bytes. `probe` (HEAD):
  // not counted as a read and triggers nothing. Errc::not_found when neither representation exists.
  Result<Body> body(const std::string& sha256, std::uint64_t size, std::uint64_t first, std::uint64_t length, bool probe);
  // See the header comment. Never fails (errors are counted and logged).
  void admit(const std::string& sha256);
  // Stops tracking the copy of `sha256` (its blob is about to be removed by its owner: a deleted
  // repository's blob that nothing references any more).
  void forget(const std::string& sha256);
  // The object's bytes in a fresh temporary file (for a scan when its copy is gone), verified
  // against `sha256`; the caller deletes it.
  Result<std::string> temp_copy(const std::string& sha256);
  // Blocks until the background re-materializations queued so far are done (tests).
  void wait_idle();

  std::string metrics_text() const;  // Prometheus text

  struct Impl;

 private:
  explicit HotCopies(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace hubgate::cas
