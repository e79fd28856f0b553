// upstream::Resolver — answers Hub metadata questions for repositories that are not local, from
// the upstream (`--upstream`: another hubgate or huggingface.co) and the edge's caches.
//
// Every question is pinned to a commit: a branch/tag is first mapped to a commit (RefCache,
// fresh for `ref_ttl`, then revalidated), then commit-addressed data — file metadata, tree
// pages, paths-info, revision info — is cached forever (it is immutable). File metadata comes
// from a `HEAD …/resolve/{rev}/{path}` without following redirects (like huggingface_hub):
// `X-Repo-Commit`, `X-Linked-Etag`/`X-Linked-Size` (LFS: sha256 + size), `ETag` (regular files:
// git blob sha1), `X-Xet-Hash`.
//
// Authorization: metadata requests carry the client's own `Authorization`, never the gateway
// token, so upstream decides what each client may see. Cached answers are given without asking
// upstream only when (a) the repo is known public (an anonymous request succeeded within
// `auth_ttl`) or (b) upstream accepted this very token for this repo within `auth_ttl`. File
// bytes and metadata are judged apart: a gated repository (upstream answers resolve with 401/403
// `X-Error-Code: GatedRepo` to tokens that did not accept its terms, while its info and tree are
// public) is served from cache only to tokens upstream let download it; everyone else gets
// upstream's own refusal relayed (status, X-Error-Code).
// Otherwise upstream is asked again; when it cannot be asked the answer is refused unless the
// repo was last known public (fail closed). The gateway token (`gateway_token`) is only used to
// fetch file bytes (FillSpec) after the client's own access was established.
//
// Failure and offline: when upstream is unreachable, answers 5xx or 429, a cached answer (last
// known branch mapping, cached metadata) is returned with `stale = true` (the server adds
// `X-Hubgate-Stale: 1`). With `offline` set, upstream is never contacted.
//
// Thread-safety: all methods are thread-safe (blocking: they may perform upstream requests).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "upstream/blob_cache.hpp"
#include "upstream/client.hpp"
#include "upstream/fill.hpp"
#include "upstream/meta_store.hpp"
#include "upstream/metrics.hpp"
#include "upstream/ref_cache.hpp"

namespace hubgate::upstream {

struct RepoRef {
  std::string type = "models";  // models | datasets | spaces
  std::string id;               // "namespace/name"
  std::string url_prefix() const;  // "" | "datasets/" | "spaces/"
  std::string key() const { return type + "/" + id; }
};

struct FileMeta {
  std::string commit;                 // 40 hex
  std::string path;
  std::uint64_t size = 0;
  std::optional<std::string> sha256;  // LFS/Xet files
  std::string git_oid;                // regular files (may be empty for LFS files)
  std::optional<std::string> xet_hash;
  // What the cache stores the body under: sha256 when known, else the git blob sha1.
  ContentKey key() const;
  // The version tag clients see in ETag (sha256 for LFS files, git sha1 otherwise).
  std::string etag() const { return sha256 ? *sha256 : git_oid; }
  std::string serialize() const;
  static std::optional<FileMeta> parse(std::string_view s);
};

// A non-2xx upstream answer to relay to the client (status, Hub error code, message).
struct Refusal {
  int status = 404;
  std::string error_code;       // X-Error-Code (RepoNotFound, RevisionNotFound, EntryNotFound, …)
  std::string message;
  std::string repo_commit;      // X-Repo-Commit when upstream sent one (EntryNotFound)
  std::string retry_after;      // for 429
  std::string moved_to;         // 307: the repository's current id (renamed, canonical name)
};

template <class T>
struct Answer {
  std::optional<T> value;
  std::optional<Refusal> refusal;
  bool stale = false;  // served from cache because upstream could not be asked
};

struct JsonReply {
  std::string body;
  std::string commit;      // the commit the request was pinned to
  std::string link_next;   // upstream's `Link: <…>; rel="next"` URL (tree pagination), if any
};

struct ResolverOptions {
  std::string base_url;                         // upstream, e.g. https://huggingface.co (no trailing /)
  std::string gateway_token;                    // optional; bytes only, never grants access
  std::chrono::milliseconds ref_ttl{60000};     // branch -> commit freshness
  std::chrono::milliseconds auth_ttl{60000};    // access decisions and repo visibility
  bool offline = false;                         // never contact upstream
  RepoFilter filter;                            // allow/deny patterns
  Clock clock = system_clock_ms;
};

class Resolver {
 public:
  Resolver(ResolverOptions options, Client& client, MetaStore& meta, Metrics* metrics = nullptr);

  // Metadata of one file at `rev` (branch, tag, refs/pr/N or 40-hex commit).
  Result<Answer<FileMeta>> file(const RepoRef& repo, const std::string& rev, const std::string& path,
                                const std::string& authorization);
  // `rev` -> commit (empty rev = the default branch). Also checks access.
  Result<Answer<std::string>> commit_of(const RepoRef& repo, const std::string& rev, const std::string& authorization);
  // `GET /api/{t}/{repo}[/revision/{rev}]` body (pinned to the commit).
  Result<Answer<JsonReply>> info(const RepoRef& repo, const std::string& rev, const std::string& authorization);
  // `GET /api/{t}/{repo}/tree/{rev}[/{path}]?{query}` body (one upstream page).
  Result<Answer<JsonReply>> tree(const RepoRef& repo, const std::string& rev, const std::string& path,
                                 const std::string& query, const std::string& authorization);
  // `POST /api/{t}/{repo}/paths-info/{rev}` with the client's body and content type.
  Result<Answer<JsonReply>> paths_info(const RepoRef& repo, const std::string& rev, const std::string& body,
                                       const std::string& content_type, const std::string& authorization);

  // Canonical names and renames (resolver_moved.cpp). The Hub answers a request for a renamed
  // repository, or for a single-segment id ("gpt2"), with a 3xx whose relative Location names
  // the repository's current id. `canonical` gives that id when `repo` has moved (value), no
  // value when it has not, or upstream's refusal: a single-segment id that this edge has no
  // fresh mapping for is asked upstream (`GET /api/{type}/{id}`, redirects not followed);
  // a two-segment id is answered from what earlier answers taught (`note_redirect`), without
  // an upstream request. Mappings are kept like branch mappings: fresh for `ref_ttl`, persisted
  // (`moved\t<type>/<id>` -> `<new id> <unix ms>`), the last known one used when upstream cannot
  // be asked (stale) or the edge is offline.
  Result<Answer<std::string>> canonical(const RepoRef& repo, const std::string& authorization);
  // The repository an upstream 3xx answer for `repo` points at, when its relative Location names
  // another repository of the same type; the mapping is recorded. nullopt otherwise (a CDN
  // redirect, the same repository).
  std::optional<std::string> note_redirect(const RepoRef& repo, const HttpResponse& resp);

  // Where and how to fetch the bytes of `meta` (gateway token if configured, else the client's).
  FillSpec fill_spec(const RepoRef& repo, const FileMeta& meta, const std::string& authorization) const;
  // Absolute upstream URL for the bytes of a file (for direct range fetches).
  std::string file_url(const RepoRef& repo, const std::string& rev, const std::string& path) const;
  bool permits(const RepoRef& repo) const { return opt_.filter.permits(repo.type, repo.id); }
  bool offline() const { return opt_.offline; }
  // True when the default branch of `repo` was resolved here before (its metadata, and files
  // asked for, are cached): listings mark such repositories `cached`.
  bool knows(const RepoRef& repo) { return refs_.get(repo.key(), "main").has_value(); }

 private:
  // GET/POST a JSON document pinned to `commit`, cached forever under `cache_key`.
  Result<Answer<JsonReply>> pinned_json(const RepoRef& repo, const std::string& commit, bool stale,
                                        const std::string& cache_key, const HttpRequest& request,
                                        const std::string& authorization);
  // Whether a cached answer may be given to this client without asking upstream. Decisions
  // about file bytes (resolve) and metadata (info, tree, paths-info) are kept apart.
  enum class Scope { metadata, files };
  bool may_use_cache(const RepoRef& repo, const std::string& authorization, bool fresh_only,
                     Scope scope = Scope::metadata);
  // Records the access outcome of an upstream answer; returns a refusal for non-2xx.
  std::optional<Refusal> judge(const RepoRef& repo, const std::string& authorization, const HttpResponse& resp,
                               Scope scope = Scope::metadata);
  HttpRequest request(std::string method, std::string url, const std::string& authorization) const;

  ResolverOptions opt_;
  Client& client_;
  MetaStore& meta_;
  Metrics* metrics_;
  RefCache refs_;
  AccessCache access_;
  // Repositories known not to have moved (no mapping on disk): canonical() answers them without
  // touching the meta store, which reads a file for every miss. A learned rename erases its key.
  std::mutex moved_mu_;
  std::unordered_set<std::string> not_moved_;
  std::uint64_t moved_generation_ = 0;  // raised by every learned rename
};

// The 307 refusal that sends a client from `repo` to the repository now called `to`.
Refusal moved_refusal(const RepoRef& repo, const std::string& to);
// The repository id ("ns/name") that a relative upstream Location names for repositories of
// `type` (`/api/{type}/ns/name…` or `/{prefix}ns/name/…`); nullopt when it names none.
std::optional<std::string> repo_in_location(std::string_view type, std::string_view location);

// Percent-encodes a revision for a URL path segment (`/` -> %2F).
std::string encode_segment(std::string_view s);
// Percent-encodes a file path, keeping `/`.
std::string encode_path(std::string_view s);
// `W/"abc"` -> `abc`.
std::string strip_etag(std::string_view v);

}  // namespace hubgate::upstream
