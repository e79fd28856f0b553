// cas::Service: the Xet CAS server of a hubgate that hosts repositories (spec/xet.md §5,
// spec/hub-api.md §§1, 5, 6.2). It owns the Xet chunk store (<data>/xet/objects) and answers
//
//   GET  /cas/v1/reconstructions/{file}   GET /cas/v2/reconstructions/{file}   (Range)
//   GET  /cas/x/{xorb}?r=s-e&x=exp&s=sig  xorb byte ranges at self-authorizing expiring URLs
//   GET  /cas/v1/chunks/{default|default-merkledb}/{chunk}   global dedup (HMAC-keyed shard)
//   POST /cas/v1/xorbs/default/{xorb}     verified, stored with a footer, idempotent
//   POST /cas/v1/shards, /cas/v2/shards   validated against the stored xorbs, then indexed
//   POST /cas/v1/telemetry                ignored;  GET /cas/v2/file-chunk-hashes/... -> 501
//
// and gives the Hub API what it needs: Xet access tokens (scoped to repository + commit +
// read|write, HMAC-signed with the server's URL-signing secret, no state), the Xet file of an
// LFS object (sha256 -> file hash), and `finalize_lfs_object`, the single place where a
// committed LFS object's bytes become final: it makes sure both representations exist (the
// sha256 blob for plain HTTP, and the Xet reconstruction), ingesting LFS-basic uploads into the
// chunk store and materializing Xet uploads into the sha256 store. A security gate hooks there.
//
// Access. A reconstruction needs a token whose repository's pinned commit contains an LFS file
// with that Xet hash (read tokens are limited to their repository). Xorb URLs carry their own
// signature over (xorb, byte range, expiry); the byte range of a GET must lie inside it.
// Uploads need a write token. Errors carry `X-Error-Message` (401 bad token, 403 scope, 400
// malformed input, 404 unknown hash, 416 range); nothing from a refused upload is stored.
//
// Trust (sha256 -> Xet file). Only links the server computed itself are ever used for serving
// (`file_for_sha256`, X-Xet-Hash, reconstruction access, hot copies): an ingest (the writer hashes
// the bytes) or a commit whose `finalize_lfs_object` rebuilt a file and found it hashes to the
// oid. The sha256 metadata of uploaded shards is only a *candidate* (table sha256_candidates in
// stats.db, at most 8 per sha256, newest first); the published shard carries none. At commit the
// candidates are rebuilt newest first, a false one is dropped, the first true one is linked
// durably (a server shard with that sha256, `xet::ChunkStore::link_sha256`). A false claim can
// therefore neither be served nor block the true content's upload.
//
// Accounting: every repository's committed Xet files (logical bytes) and the bytes its uploads
// and ingests added to the chunk store (stored bytes) are kept in <data>/xet/stats.db (SQLite);
// overall figures come from the chunk store itself. Exposed in /metrics and `hubgate xet stats`.
//
// Pull-through: an edge (src/upstream/) fills remote Xet files into this chunk store
// (upstream/xet_fill.hpp) and serves Xet for them too: it issues *remote* read tokens
// (`issue_remote_token`: repository "remote:<type>/<org>/<name>[#nonce]" + commit, key 0) and
// sets the remote-file hook, which a reconstruction with such a token calls first ("make sure
// this file of remote repo@commit is in the chunk store, or refuse"); the catalog check and
// `download_gate` do not apply to them (the hook decides access and runs the gate).
//
// Thread-safety: all public methods may be called concurrently.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/auth.hpp"
#include "http/message.hpp"
#include "repo/catalog.hpp"
#include "store/store.hpp"
#include "util/error.hpp"
#include "xet/chunk_store.hpp"

namespace hubgate::cas {

struct XetToken;

struct ServiceOptions {
  std::string dir;                             // <data>/xet (created when missing)
  std::int64_t token_ttl_s = 3600;             // Xet access tokens (clients refresh < 60 s before)
  std::int64_t url_ttl_s = 3600;               // signed xorb range URLs
  std::uint64_t max_xorb_upload = 80ull << 20; // POST xorb body (64 MiB of chunks + headers/footer)
  std::uint64_t max_shard_upload = 64ull << 20;
  std::int64_t dedup_key_ttl_s = 7 * 86400;    // key_expiry of the HMAC key in dedup replies
  // Security gate for reconstructions (set by `serve` when the gate is on): called with the
  // token and the committed file about to be reconstructed; a message refuses it (403).
  std::function<std::optional<std::string>(const XetToken&, const repo::FileEntry&)> download_gate;
  // Where xorbs and shards live: null = a LocalObjectStore at <dir>/objects; cluster mode gives
  // an xet::S3ObjectStore (object store + the node's local copies).
  std::shared_ptr<xet::ObjectStore> objects;
  // Base URL of a CDN in front of the gateway (`serve --cdn-url`): the signed xorb range URLs of
  // reconstructions point there. Empty = the request's base URL.
  std::string cdn_url;
};

// A decoded Xet access token.
struct XetToken {
  bool write = false;
  std::int64_t repo_key = 0;
  std::string repo;    // qualified repository id ("org/name", "datasets/org/name")
  std::string commit;  // the commit reads are limited to ("" when none, e.g. a new branch)
  std::int64_t exp = 0;
  bool remote() const { return repo.starts_with("remote:"); }
};

struct RepoStats {
  std::string repo;
  std::uint64_t files = 0;
  std::uint64_t logical_bytes = 0;        // sizes of the distinct Xet files ever committed
  std::uint64_t stored_bytes = 0;         // chunk-store bytes its uploads/ingests added
  std::uint64_t xorb_bytes_received = 0;  // POST xorb bodies received for it (new or not)
};

struct Stats {
  std::uint64_t files = 0;          // distinct committed Xet files, all repositories
  std::uint64_t logical_bytes = 0;  // their sizes
  std::uint64_t stored_bytes = 0;   // xorbs + shards in the chunk store
  std::vector<RepoStats> repos;
};

class Service {
 public:
  static Result<std::unique_ptr<Service>> open(ServiceOptions opts, const auth::Signer& signer, repo::Catalog& catalog);
  ~Service();

  // ---- Hub side ----
  std::string issue_token(const repo::RepoRecord& repo, bool write, const std::string& commit, std::int64_t* exp_out) const;
  Result<XetToken> verify_token(std::string_view token) const;
  // A read token for a repository this server does not host (pull-through; see the header).
  std::string issue_remote_token(const std::string& remote_repo, const std::string& commit, std::int64_t* exp_out) const;
  // Errors map to 403 (permission_denied/unauthenticated), 404 (not_found), 503 (unavailable),
  // 502 otherwise. Set before serving.
  using RemoteFileHook = std::function<Result<void>(const XetToken& token, const xet::MerkleHash& file)>;
  void set_remote_file_hook(RemoteFileHook hook);
  // The Xet file of an LFS object, when it has one.
  std::optional<xet::FileRecord> file_for_sha256(std::string_view sha256_hex) const;
  // See the header comment. Errc::not_found when the object was never uploaded (neither
  // representation exists); returns its size. `size`, when the commit states it, skips claimed
  // Xet files of another size without rebuilding them.
  Result<std::uint64_t> finalize_lfs_object(const std::string& repo, const std::string& sha256_hex, store::BlobStore& store,
                                            std::optional<std::uint64_t> size = std::nullopt);

  // ---- CAS HTTP API: `req.path` starts with "/cas/"; `route` receives a metrics label ----
  http::Response handle(http::Request& req, const std::string& base_url, std::string& route);

  // ---- Accounting ----
  // A cached (pull-through) file the edge's Xet fill committed into this chunk store: counted
  // under repository "cached:<repo>" (logical size, stored bytes it added, xorb bytes pulled
  // from upstream as `xorb_bytes_received`).
  Result<void> record_cached_file(const std::string& repo, const xet::MerkleHash& file, std::uint64_t size, std::uint64_t stored_bytes,
                                  std::uint64_t xorb_bytes_pulled);
  Result<Stats> stats() const;
  std::string metrics_text() const;  // Prometheus text
  // A hosted repository was renamed / deleted: its accounting rows follow / go (`repo` is the
  // qualified id). After a delete nothing here names the repository; its chunks stay in the
  // chunk store until garbage collection finds them unreferenced.
  Result<void> rename_repo(const std::string& from, const std::string& to);
  Result<void> forget_repo(const std::string& repo);

  xet::ChunkStore& chunks();

  struct Impl;

 private:
  explicit Service(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Reads the accounting of a data directory offline (for `hubgate xet stats`).
Result<Stats> read_stats(const std::string& xet_dir);

}  // namespace hubgate::cas
