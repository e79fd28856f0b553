// Releasing a deleted repository's blobs (spec hub-repo-api.md §9): the sha256 blob store keeps
// a blob while any commit of any repository names it (dedup shares blobs across repositories)
// or an upload/commit in flight pinned it. Xet data (xorbs, shards) is shared by chunk across
// files and is left to the chunk store's garbage collection (xet::ChunkStore::collect_garbage);
// a hot copy of a Xet-backed file is a cache entry and goes like any other blob.
//
// Pins: the LFS batch, the signed upload and each commit line pin the blob they are about to
// reference; a successful commit drops the pins of what it named. Known window: two clients
// uploading the same new content to two repositories — when the first commits, its commit drops
// the pin the second one's batch set; should the first repository then be deleted before the
// second commit arrives, that commit is refused cleanly (400, "never uploaded") and the client
// uploads again. Pins live in memory: a restart forgets them (clients holding an old batch answer
// get the same clean refusal).
#include <algorithm>
#include <cstdio>
#include <ctime>

#include "cas/hot_copies.hpp"
#include "hub/context.hpp"

namespace hubgate::hub {

namespace {

std::int64_t now_s() { return std::int64_t(std::time(nullptr)); }

}  // namespace

Result<std::optional<std::uint64_t>> pin_blob(Hub::Impl& h, const std::string& sha256) {
  const std::int64_t now = now_s();
  std::lock_guard lk(h.pins.mu);
  if (h.pins.until.size() > 100000) std::erase_if(h.pins.until, [&](const auto& e) { return e.second <= now; });
  auto& until = h.pins.until[sha256];
  until = std::max(until, now + std::max<std::int64_t>(h.opts.upload_url_ttl_s, 3600));
  return h.store.stat(sha256);
}

void unpin_blobs(Hub::Impl& h, const std::vector<std::string>& sha256s) {
  std::lock_guard lk(h.pins.mu);
  for (const auto& sha : sha256s) h.pins.until.erase(sha);
}

Released release_blobs(Hub::Impl& h, const std::vector<std::string>& candidates) {
  Released out;
  const std::int64_t now = now_s();
  std::lock_guard lk(h.pins.mu);
  for (const auto& sha : candidates) {
    if (auto it = h.pins.until.find(sha); it != h.pins.until.end() && it->second > now) continue;
    auto used = h.catalog.blob_referenced(sha);
    if (!used || *used) continue;  // still named (or unknown): kept
    auto size = h.store.stat(sha);
    if (!size || !*size) continue;
    if (h.opts.hot) h.opts.hot->forget(sha);
    auto removed = h.store.remove(sha);
    if (!removed) {
      std::fprintf(stderr, "hubgate: cannot release blob %s: %s\n", sha.c_str(), removed.error().message.c_str());
      continue;
    }
    if (*removed) {
      ++out.blobs;
      out.bytes += **size;
    }
  }
  return out;
}

}  // namespace hubgate::hub
