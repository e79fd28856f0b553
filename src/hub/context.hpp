// Private to src/hub/: per-request context and helpers shared by the handlers.
#pragma once

#include <expected>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "hub/card.hpp"
#include "hub/hub.hpp"
#include "hub/metrics.hpp"
#include "util/parse.hpp"  // split_segments

namespace hubgate::sign {
struct GateVerdict;
}

namespace hubgate::hub {

using json = nlohmann::json;

// Blobs that an upload or a commit is about to reference (blob_release.cpp). A deleted
// repository's blob is released only when no commit names it and it is not pinned; pinning and
// releasing take the same lock, so a pin either comes first (the blob stays) or finds the blob
// gone (the client uploads it again).
struct BlobPins {
  std::mutex mu;
  std::map<std::string, std::int64_t> until;  // sha256 -> expiry (unix seconds)
};

struct Hub::Impl {
  HubOptions opts;
  repo::Catalog& catalog;
  store::BlobStore& store;
  auth::TokenStore& tokens;
  const auth::Signer& signer;
  Metrics metrics;
  BlobPins pins;
};

// A handler's intermediate result: a value, or the error response to send.
template <class T>
using Reply = std::expected<T, http::Response>;

struct Ctx {
  Hub::Impl& hub;
  http::Request& req;
  std::optional<auth::Token> token;  // a valid token, when one was sent
  std::string base_url;              // "http://host:port" (no trailing '/')
  std::vector<std::pair<std::string, std::string>> query;
  const auth::Token* tok() const { return token ? &*token : nullptr; }
};

// Error reply: JSON {"error": msg}, X-Error-Message, and X-Error-Code when `code` is not empty.
http::Response error(int status, std::string_view code, std::string msg);
// Maps a value error to a status (invalid_argument 400, not_found 404, conflict 412, ...).
http::Response error_from(const Error& e);
http::Response json_reply(int status, const json& j);

enum class Need { read, write };
// Finds the repository and checks access: RepoNotFound (404, or 401 for anonymous callers)
// when missing or unreadable; 403 when readable but not writable and `need` is write.
Reply<repo::RepoRecord> open_repo(Ctx& c, const repo::RepoId& id, Need need);
// Commit id for a revision, or 404 RevisionNotFound.
Reply<std::string> resolve_rev(Ctx& c, const repo::RepoRecord& r, std::string_view rev);
Reply<std::shared_ptr<const repo::Snapshot>> load_snapshot(Ctx& c, const repo::RepoRecord& r, const std::string& commit);

// Signature policy (signature_gate.cpp): the verdict for `commit` (null when no policy is
// configured), or the 403 SignatureRequired/SignatureInvalid (503 on a store failure) to send.
Reply<std::shared_ptr<const sign::GateVerdict>> signature_verdict(Ctx& c, const repo::RepoRecord& r,
                                                                  const std::string& commit);
json signature_json(const sign::GateVerdict& v);  // the `hubgateSignature` object
// GET/HEAD of sign::kCountersignaturePath with --countersign-key: the gateway's bundle for a
// verified revision (404 when it was not verified). nullopt for any other path.
std::optional<http::Response> countersignature_response(Ctx& c, const repo::RepoRecord& r, const std::string& commit,
                                                       const std::string& path);
http::Response countersignature_reply(const std::string& bundle, const std::string& commit);

// Tree-shaped JSON for a file or folder (spec §3); lastCommit when `expand`.
json file_json(const repo::FileEntry& f, const repo::Snapshot& s, bool expand);
json dir_json(const std::string& path, const std::string& oid);


// Pull-through (src/upstream/): true when an upstream is configured and `id` is not hosted
// here (local wins); `remote` hands the request to HubOptions::remote.
bool is_remote(Ctx& c, const repo::RepoId& id);
http::Response remote(Ctx& c, std::string_view route, const repo::RepoId& id, std::string_view rest);

// The read-only S3 face (s3_face.cpp, s3_list.cpp; docs/spec/s3.md part 1).
struct S3Target {
  std::string bucket;   // "models" or "datasets"; empty for the service (GET /)
  std::string raw_key;  // still percent-encoded; empty for bucket requests
};
// Whether `req` is an S3 request (HubOptions::s3_face on): virtual-host Host, the bare bucket
// paths, a SigV4 signature, or a /models|/datasets path that no Hub route claims.
std::optional<S3Target> s3_target(const HubOptions& o, const http::Request& req);
http::Response s3_handle(Ctx& c, const S3Target& t);

// Download handlers (download.cpp).
http::Response repo_info(Ctx& c, const repo::RepoId& id, std::string_view raw_rev);
http::Response tree(Ctx& c, const repo::RepoId& id, std::string_view raw_rest);
http::Response paths_info(Ctx& c, const repo::RepoId& id, std::string_view raw_rev);
http::Response resolve(Ctx& c, const repo::RepoId& id, std::string_view raw_rest, bool raw_blob);
// [first, first+length) of a stored file body (hot copy or Xet chunks for LFS files, else the
// blob store) into `res`; `what` names it in errors.
http::Response file_body(Ctx& c, http::Response res, const std::string& sha256, std::uint64_t size, bool lfs,
                         std::uint64_t first, std::uint64_t length, const std::string& what);

// hub/cdn.cpp: a CDN in front (HubOptions::cdn_url).
// 302 to the signed content-addressed URL of an LFS file, with the headers already in `res`.
http::Response cdn_redirect(Ctx& c, http::Response res, const std::string& sha256, std::uint64_t size);
// GET/HEAD /blobs/sha256/<hex>?size=N&x=EXP&s=SIG: the body, cacheable forever.
http::Response blob_by_hash(Ctx& c, std::string_view hex);
http::Response list_refs(Ctx& c, const repo::RepoId& id);

// Upload handlers (upload.cpp).
http::Response create_repo(Ctx& c);
http::Response preupload(Ctx& c, const repo::RepoId& id, std::string_view raw_rev);
http::Response lfs_batch(Ctx& c, const repo::RepoId& id);
http::Response lfs_upload(Ctx& c, std::string_view oid, std::string_view size);
http::Response commit(Ctx& c, const repo::RepoId& id, std::string_view raw_rev);

// Security gate hooks (gate_hooks.cpp); each is a no-op without HubOptions::gate.
// A refusal (403 BlockedBySecurityPolicy) to send instead, or nullopt to go on.
std::optional<http::Response> gate_upload(Ctx& c, const std::string& oid);
std::optional<http::Response> gate_commit_file(Ctx& c, const repo::RepoRecord& r, const std::string& branch,
                                               const std::string& path, const std::string& sha256,
                                               const std::string* content);
// Also adds the warning header to `res` when the policy says warn.
std::optional<http::Response> gate_download(Ctx& c, const repo::RepoRecord& r, const std::string& commit,
                                            const repo::FileEntry& f, http::Response& res);
// Adds securityFileStatus to a tree/paths-info entry when the content has a verdict.
void gate_status(Ctx& c, const repo::FileEntry& f, json& entry);
// "repo=<qualified id>&" for signed LFS upload URLs (before sig=, which stays last) (the PUT applies that repository's policy).
std::string lfs_upload_repo_param(const repo::RepoId& id);
http::Response admin_audit(Ctx& c);
// Security gate verdicts of `files` (a pull request's changes) for review: one entry per
// non-empty file {path, sha256, level, decision: allowed|warn|blocked, message?}; `blocked` is
// set when one is blocked. Empty without a gate.
json gate_review(Ctx& c, const repo::RepoRecord& r, const std::string& commit,
                 const std::vector<const repo::FileEntry*>& files, bool& blocked);
// Xet (xet.cpp; all no-ops when HubOptions::xet is null).
http::Response xet_token(Ctx& c, const repo::RepoId& id, std::string_view raw_rev, bool write);
// Adds X-Xet-Hash, Link (xet-auth, xet-reconstruction-info) and X-Xet-Refresh-Route for a
// Xet-backed LFS file; returns its Xet hash (empty when the file has none).
std::string xet_resolve_headers(Ctx& c, http::Response& res, const repo::RepoId& id, const std::string& commit,
                                const repo::FileEntry& f);
// Adds "xetHash" to a tree-shaped entry of a Xet-backed LFS file.
void add_xet_hash(const Hub::Impl& h, json& entry, const repo::FileEntry& f);
// LFS batch answer with transfer "xet" (the client offered it).
http::Response lfs_batch_xet(Ctx& c, const repo::RepoRecord& r, const json& objects, const std::string& ref);

// Ref management and history (refs.cpp).
http::Response create_branch(Ctx& c, const repo::RepoId& id, std::string_view raw_name);
http::Response delete_branch(Ctx& c, const repo::RepoId& id, std::string_view raw_name);
http::Response create_tag(Ctx& c, const repo::RepoId& id, std::string_view raw_rev);
http::Response delete_tag(Ctx& c, const repo::RepoId& id, std::string_view raw_name);
http::Response list_commits(Ctx& c, const repo::RepoId& id, std::string_view raw_rev);
http::Response super_squash(Ctx& c, const repo::RepoId& id, std::string_view raw_branch);

// Repository administration (repos.cpp): settings, gated access, move, delete.
http::Response repo_settings(Ctx& c, const repo::RepoId& id);
http::Response access_requests(Ctx& c, const repo::RepoId& id, std::string_view action);
http::Response ask_access(Ctx& c, const repo::RepoId& id);
http::Response move_repo(Ctx& c);
http::Response delete_repo(Ctx& c);
// 403 GatedRepo when `r` is gated and the caller has neither write access nor an accepted
// request; nullopt to go on.
std::optional<http::Response> gate_access(Ctx& c, const repo::RepoRecord& r);
// Listing and search (listing.cpp): GET /api/models|datasets|spaces.
http::Response list_repos(Ctx& c, repo::RepoType type);
// Sets tags, cardData, pipeline_tag and library_name (models) of a repo-info object from the
// README front matter of `s` (cached by commit).
void add_card_fields(Ctx& c, const repo::RepoRecord& r, const repo::Snapshot& s, json& j);
// An edge's listing pages (listing_edge.cpp). Without a sort order upstream's pages follow the
// hosted ones (`upstream_page`, cursors "u:<upstream cursor>"); with one, `merged_page` merges
// the sorted hosted list with upstream's pages in that order (cursors
// "m:<hosted offset>:<index in the upstream page>:<u<upstream cursor> | x (upstream done)>").
struct HostedList {
  std::size_t size = 0;
  std::function<Reply<json>(std::size_t)> render;  // item i of the sorted hosted list
  std::function<json(std::size_t)> sort_value;     // its value of the sort key
};
http::Response upstream_page(Ctx& c, repo::RepoType type, const std::string& cursor);
http::Response merged_page(Ctx& c, repo::RepoType type, const std::string& sort, bool ascending, std::size_t limit,
                           const std::string& cursor, const HostedList& hosted);
// The card of `s` (README front matter; cached by commit).
std::shared_ptr<const Card> card_of(Ctx& c, const repo::RepoRecord& r, const repo::Snapshot& s);

// Download counts and likes (stats.cpp).
// Counts a served GET/HEAD of `path` at `s` when the Hub's rule says it is a download.
void count_download(Ctx& c, const repo::RepoRecord& r, const repo::Snapshot& s, const std::string& path);
http::Response like(Ctx& c, const repo::RepoId& id);  // POST (like) / DELETE (unlike)
http::Response likers(Ctx& c, const repo::RepoId& id);
http::Response user_likes(Ctx& c, std::string_view raw_user);

// Discussions and pull requests (discussions.cpp). `rest` = segments after "discussions".
http::Response discussions(Ctx& c, const repo::RepoId& id, const std::vector<std::string_view>& rest);

// Blob release (blob_release.cpp). `pin_blob` pins `sha256` for max(upload URL lifetime, 1 h)
// and returns the store's stat() taken under the pin lock (LFS batch, upload, commit lines);
// `unpin_blobs` drops the pins once a commit names the blobs (the catalog protects them then).
Result<std::optional<std::uint64_t>> pin_blob(Hub::Impl& h, const std::string& sha256);
void unpin_blobs(Hub::Impl& h, const std::vector<std::string>& sha256s);
struct Released {
  std::size_t blobs = 0;
  std::uint64_t bytes = 0;
};
// Removes each of `candidates` (the blobs of a repository just deleted from the catalog) that no
// commit names any more and nothing pinned.
Released release_blobs(Hub::Impl& h, const std::vector<std::string>& candidates);

// Records a repository write in the audit log (kind repo) with the token's name.
void audit_write(Ctx& c, const repo::RepoId& id, std::string_view action, std::string_view revision,
                 std::string reason);
// Branch/tag names: git-like rules, kept strict.
Result<void> validate_ref_name(std::string_view b);
// Reads the body as a JSON object; an empty body is {}.
Reply<json> json_body(Ctx& c);
// 24 hex characters, stable per repository across moves (the Mongo-style `_id` clients expect).
std::string repo_object_id(const repo::RepoRecord& r);
// The user name of the caller ("" for anonymous): the token's name.
std::string user_of(const Ctx& c);
// "<base>/<path>?<query with `key` set to `value`>": a Link rel="next" target.
std::string next_link(const Ctx& c, std::string_view key, std::string_view value);

// The default .gitattributes of a new repository (the Hub's LFS patterns).
extern const char* const kDefaultGitattributes;
// Creates a repository and its initial commit (.gitattributes).
Result<repo::RepoRecord> create_repo_initial(Hub::Impl& h, const repo::RepoId& id, bool is_private,
                                             const std::string& author);
// Author line for commits made with a token: "<name> <name@hubgate>".
std::string author_of(const auth::Token* t);
// `&`, `<`, `>` and `"` as HTML entities (commit and discussion text the Hub returns escaped).
std::string html_escape(std::string_view s);

}  // namespace hubgate::hub
