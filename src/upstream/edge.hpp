// upstream::Edge — the pull-through side of `hubgate serve --upstream URL`: Hub API answers
// (info, tree, paths-info, resolve/raw) for repositories that are not local, built from the
// Resolver (metadata), the FillRegistry (single-flight verified downloads) and the blob cache.
//
// The hub module calls `handle()` only after it found no local repository of that id (local
// wins). Downloads: a cached body is served with sendfile and stays pinned (never evicted)
// until the response is done; a missing one is streamed from its Fill as bytes arrive
// (`FillProducer`), unless the Range starts far beyond what the fill has reached: that range
// is fetched from upstream on its own while the fill goes on. A fill that fails ends the response early (the server
// closes the connection), so no client takes a prefix for the file. Answers given from cache
// because upstream could not be asked carry `X-Hubgate-Stale: 1`. Upstream `Link` URLs are
// rewritten to the edge's base URL.
//
// Xet. Files upstream declares Xet-backed are filled through upstream's CAS, fetching only the
// chunks the edge lacks (XetByteSource, xet_fill.hpp). When `issue_xet_token` is set (serve
// wires it to the CAS service), the edge also speaks Xet to its own clients (edge_xet.cpp):
// tree/paths-info keep `xetHash`, resolve sends `X-Xet-Hash`, `X-Xet-Refresh-Route` and `Link`
// to the edge's own `xet-read-token` route and CAS (and answers xet-fileinfo probes), the token
// route checks access like every remote answer and issues a remote read token, and the CAS asks
// `ensure_xet_file` before answering a reconstruction for such a token. Otherwise `xetHash`
// and `X-Xet-Hash` are stripped and clients get plain bytes.
//
// Thread-safety: handle() is called concurrently from the server's threads.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/message.hpp"
#include "upstream/blob_cache.hpp"
#include "upstream/client.hpp"
#include "upstream/fill.hpp"
#include "upstream/meta_store.hpp"
#include "upstream/metrics.hpp"
#include "upstream/resolver.hpp"
#include "upstream/xet_fill.hpp"
#include "upstream/xet_index.hpp"
#include "xet/chunk_store.hpp"

namespace hubgate::sign {
class SignatureGate;
struct GateVerdict;
}

namespace hubgate::upstream {

// Security gate at serve time (src/gate/, wired by `hubgate serve`): asked before a remote
// file's bytes are served. `cached_fd` >= 0 when the body is in the cache (scannable when no
// verdict is known yet, e.g. cached before the gate was on); -1 before any body is opened.
struct ServeQuery {
  std::string repo;     // qualified id: "org/name", "datasets/org/name"
  std::string commit, path;
  std::string key;      // verdict key: the sha256 hex, or "gitsha1:<hex>" for regular files
  int cached_fd = -1;
  const http::Request* request = nullptr;
};
struct ServeCheck {
  bool known = false;                      // a verdict was found (or the gate is off)
  std::optional<http::Response> refusal;   // send this instead (403 BlockedBySecurityPolicy)
  std::vector<std::pair<std::string, std::string>> headers;  // e.g. the warning header
};

struct EdgeOptions {
  std::string upstream;                       // base URL of the upstream hub (required)
  std::string cache_dir;                      // <data>/upstream: blobs/ and meta/ (required)
  std::uint64_t cache_max_bytes = 0;          // --cache-max-bytes; 0 = unlimited
  bool offline = false;                       // --offline
  std::string upstream_token;                 // gateway-wide token for byte transfers only
  std::chrono::milliseconds ref_ttl{60000};   // branch -> commit freshness
  std::chrono::milliseconds auth_ttl{60000};  // access-decision cache
  RepoFilter filter;                          // allow/deny patterns
  std::chrono::milliseconds stall_timeout{30000};
  // A Range that starts more than this beyond what a running fill has reached is fetched from
  // upstream on its own (bytes straight from upstream, not verified against the file hash;
  // never under a signature policy, nor under a security gate that has no verdict yet).
  std::uint64_t far_range_bytes = 8u << 20;
  // Under a security gate with no verdict yet for the file, a request that finds the file cold
  // and at most this large waits for the fill (download, hash check, scan) before sending its
  // response head, so a blocked file gets the same 403 BlockedBySecurityPolicy as every later
  // request instead of a 200 whose body ends short (`hubgate serve --gate-hold-max-bytes`).
  // A larger file's head waits for the gate's early phase (FillStatus::early: safetensors and
  // GGUF headers checked, the early verdict of pickles and zips — FillGate::verdict_early —
  // found nothing, or refused the file: then the same 403); its body then goes out chunked, so
  // that a late block ends it with a line naming the block (in place of a chunk size).
  std::uint64_t hold_head_bytes = 64u << 20;
  // Signature policy (src/sign/gate.hpp; edge_signature.cpp): when set, every answer about a
  // covered repository is pinned to a commit whose signature verified against the upstream
  // listing (sha256 from LFS oids, small files fetched and hashed); served files must match it.
  std::shared_ptr<sign::SignatureGate> signatures;
  FillGate fill_gate;                                    // security gate during fills (fill.hpp)
  std::function<ServeCheck(const ServeQuery&)> serve_check;  // security gate at serve time; empty = none
  // The edge's own securityFileStatus (JSON text) for a content key (as ServeQuery::key), when
  // it has a verdict: replaces upstream's in expanded tree/paths-info entries. Empty = none.
  std::function<std::optional<std::string>(const std::string& key)> security_status;
  // Xet pull-through (xet_fill.hpp): files upstream declares Xet-backed are filled through
  // upstream's CAS, fetching only chunks missing here. `xet_chunks` is the chunk store to use
  // (serve passes the CAS service's, so hosted and cached repositories dedup together; it must
  // outlive the Edge); null = the edge opens its own under <cache_dir>/xet. The index of
  // upstream chunks lives in <cache_dir>/xet_index.db.
  bool xet_fill = true;
  xet::ChunkStore* xet_chunks = nullptr;
  // Accounting of committed Xet fills (XetFillOptions::on_committed), e.g. the CAS's stats.
  std::function<void(const FillSpec& spec, const xet::MerkleHash& file, std::uint64_t size, std::uint64_t stored_bytes,
                     std::uint64_t xorb_bytes)>
      xet_committed;
  // Serving Xet to the edge's own clients for Xet-backed remote files (edge_xet.cpp): issues a
  // read token of this server's CAS for ("<type>/<org>/<name>[#nonce]", commit). When set (and
  // `xet_fill` is on), tree/paths-info keep `xetHash`, resolve sends `X-Xet-Hash` + `Link`, and
  // the `xet_read_token` route answers; the CAS calls `ensure_xet_file` for such tokens.
  std::function<std::string(const std::string& remote_repo, const std::string& commit, std::int64_t* exp)> issue_xet_token;
  // Cluster mode (src/cluster/): wraps the fill source (plain, or Xet over plain), so that one
  // node of the cluster fetches each file from upstream and the others take it from that node
  // or the object store. Empty = every fill goes to upstream.
  std::function<std::unique_ptr<ByteSource>(ByteSource& inner)> wrap_source;
};

struct RangeFetch;  // edge.cpp

class Edge {
 public:
  static Result<std::unique_ptr<Edge>> create(EdgeOptions options);
  ~Edge();

  // route: "info" | "tree" | "paths_info" | "resolve" | "raw" | "xet_read_token". `type_plural`
  // is models|datasets|spaces, `repo` is "ns/name" (or a single-segment id such as "gpt2", which
  // is answered with a 307 to its current name, as the Hub does), `raw_rest` the still-encoded path after the
  // route keyword (for info: the revision or empty), `base_url` the edge's own base URL.
  http::Response handle(std::string_view route, http::Request& req, const std::string& type_plural,
                        const std::string& repo, std::string_view raw_rest, const std::string& base_url);

  // For the CAS's remote-file hook (edge_xet.cpp): makes sure the Xet file `hash` of the remote
  // repository named in a token ("<type>/<org>/<name>[#nonce]") at `commit` is in the chunk
  // store — access checked with the Authorization the token was issued for, the security gate
  // asked, the Xet fill run (and waited for) when needed. Errc::permission_denied when the file
  // is not one this edge listed for repo@commit (a resolve/tree/paths-info answer did).
  Result<void> ensure_xet_file(const std::string& token_repo, const std::string& commit, const std::string& file_hash_hex);

  // Cluster mode's peer route (src/cluster/): [Range of] the body named by `key` from the fill
  // running here (streamed as it lands, last byte after verification) or from the cache; 404
  // when this node has neither. No access checks: the caller authenticated the peer.
  http::Response serve_content(const ContentKey& key, const http::Request& req);

  const Metrics& metrics() const { return metrics_; }
  std::string metrics_text() const { return metrics_.render_prometheus(); }

 private:
  explicit Edge(EdgeOptions o) : opt_(std::move(o)) {}
  http::Response handle_repo(std::string_view route, http::Request& req, const RepoRef& repo, std::string_view raw_rest,
                             const std::string& base_url);
  // Canonical names and renames (edge_moved.cpp): a 307 to the same route under the repository's
  // current id when it has moved (Resolver::canonical), upstream's refusal for a single-segment
  // id it does not know, nullopt to go on.
  std::optional<http::Response> redirect_if_moved(std::string_view route, const http::Request& req,
                                                  const RepoRef& repo, std::string_view raw_rest);
  http::Response resolve(http::Request& req, const RepoRef& repo, std::string_view raw_rest, bool raw,
                         const std::string& base_url);
  // Xet for the edge's clients (edge_xet.cpp).
  bool serves_xet() const { return opt_.xet_fill && static_cast<bool>(opt_.issue_xet_token); }
  http::Response xet_read_token(http::Request& req, const RepoRef& repo, std::string_view raw_rest, const std::string& base_url);
  // route "list": one page of upstream's GET /api/{plural}?{query} with the client's
  // Authorization; items the filter does not permit are dropped, the others get `cached`; the
  // upstream's next cursor (still percent-encoded) comes back in X-Hubgate-Upstream-Cursor.
  http::Response list(const http::Request& req, const std::string& plural, std::string_view query);
  void remember_xet_file(const RepoRef& repo, const std::string& commit, const std::string& path, const std::string& xet_hash);
  void remember_xet_listing(const RepoRef& repo, const std::string& commit, const std::string& json_body);
  bool add_xet_headers(http::Response& res, const RepoRef& repo, const FileMeta& meta, const std::string& base_url);
  http::Response json_passthrough(Result<Answer<JsonReply>> r, const std::string& base_url, bool strip_xet);
  std::shared_ptr<http::BodyProducer> start_range_fetch(const FillSpec& spec, std::uint64_t first, std::uint64_t length);
  // Signature policy (edge_signature.cpp): nullopt to go on (the verdict in *verdict, null when
  // no policy), or the response to send instead (403 SignatureRequired/SignatureInvalid, 5xx).
  std::optional<http::Response> check_signature(const RepoRef& repo, const std::string& commit,
                                                const std::string& authorization,
                                                std::shared_ptr<const sign::GateVerdict>* verdict);
  // GET/HEAD of sign::kCountersignaturePath when this edge countersigns (--countersign-key).
  http::Response countersignature(const RepoRef& repo, const std::string& rev, const std::string& authorization);
  // A served file must be the one the signature covered (same sha256 / git blob id).
  std::optional<http::Response> check_signed_file(const sign::GateVerdict& v, const FileMeta& meta);
  // Whole body of one (small) upstream file, through the verified fill/cache path.
  Result<std::string> read_file_bytes(const RepoRef& repo, const FileMeta& meta, const std::string& authorization);

  EdgeOptions opt_;
  Metrics metrics_;
  std::unique_ptr<Client> client_;
  std::unique_ptr<MetaStore> meta_;
  std::unique_ptr<DiskBlobCache> cache_;
  std::unique_ptr<HttpByteSource> source_;
  std::unique_ptr<Resolver> resolver_;
  std::unique_ptr<xet::ChunkStore> own_chunks_;  // when EdgeOptions::xet_chunks is null
  std::unique_ptr<XetIndex> xet_index_;
  std::unique_ptr<XetByteSource> xet_source_;   // wraps source_ for Xet-backed files
  std::unique_ptr<ByteSource> cluster_source_;  // EdgeOptions::wrap_source over the above
  std::unique_ptr<FillRegistry> fills_;  // destroyed first: joins fill threads
  std::mutex range_mu_;                  // range fetch threads, waited for by the destructor
  std::condition_variable range_cv_;
  int range_threads_ = 0;
  std::vector<std::weak_ptr<RangeFetch>> ranges_;
  // Xet for the edge's clients: which remote files (repo@commit + Xet hash -> path) were listed,
  // and the Authorization each issued token stands for (nonce -> header, expiry).
  std::mutex xet_mu_;
  std::unordered_map<std::string, std::string> xet_paths_;
  std::map<std::string, std::pair<std::string, std::int64_t>> xet_auth_;
};

// A Hub-shaped error answer: JSON {"error": msg}, `X-Error-Message` (control characters
// blanked, at most 1000 bytes) and `X-Error-Code` when `code` is not empty.
http::Response error_response(int status, std::string_view code, const std::string& msg);

// Splits a still-encoded "rev/path" for a repository whose refs the edge does not know: the
// first segment (decoded; `refs%2Fpr%2F1` is one segment) is the revision, except a raw
// `refs/pr/N` or `refs/heads|tags/X` prefix, which is taken whole.
Result<std::pair<std::string, std::string>> split_remote_rev(std::string_view raw_rest);

// A response body that streams [first, first+length) of a running fill.
std::shared_ptr<http::BodyProducer> make_fill_producer(std::shared_ptr<Fill> fill, std::uint64_t first,
                                                       std::uint64_t length, Metrics* metrics);

}  // namespace hubgate::upstream
