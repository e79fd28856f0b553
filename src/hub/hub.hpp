// hub::Hub: the Hugging Face Hub HTTP API for repositories hubgate hosts itself
// (spec/hub-api.md §§0–6, 8, 9; hub-repo-api.md): repo info, tree, paths-info, resolve/raw
// downloads, repo creation, preupload, the LFS batch API with self-authorizing signed PUT URLs,
// NDJSON commits, whoami, refs; branches, tags, history, listing, settings and gated access,
// move (old ids answer 307), delete, super-squash, discussions and pull requests; plus /healthz
// and /metrics.
//
// `handle()` maps one request to one response and is called concurrently from the server's
// threads; everything it uses (Catalog, BlobStore, TokenStore, Signer, Metrics) is thread-safe.
// The Hub does not own them. Every response carries the CORS headers of spec §0; errors carry a
// JSON `error`, `X-Error-Message` and, where the spec names one, `X-Error-Code`.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>

#include "audit/audit.hpp"
#include "auth/auth.hpp"
#include "gate/gate.hpp"
#include "http/message.hpp"
#include "http/server.hpp"
#include "repo/catalog.hpp"
#include "store/store.hpp"

namespace hubgate::sign {
class SignatureGate;
}
namespace hubgate::cas {
class Service;
class HotCopies;
}

namespace hubgate::hub {

struct HubOptions {
  // Absolute base URL for Link headers, commit URLs and signed upload URLs, without a trailing
  // '/'. Empty: derived per request from the Host header ("http://<host>").
  std::string public_url;
  // Upstream hub (stored for the pull-through cache; unused by the hosted-repository API).
  std::string upstream = "https://huggingface.co";
  std::size_t tree_page_size = 1000;           // entries per tree page (Link: rel="next")
  std::uint64_t max_json_body = 64ull << 20;   // preupload / paths-info / batch / create bodies
  std::uint64_t max_commit_body = 256ull << 20;  // NDJSON commit, inline files included (read whole)
  std::int64_t upload_url_ttl_s = 3600;        // lifetime of a signed LFS upload URL
  std::uint64_t lfs_threshold = 10ull << 20;   // preupload: larger files are "lfs"
  std::function<std::uint64_t()> open_connections;  // for /metrics

  // Pull-through (src/upstream/, upstream::Edge::handle): answers info/tree/paths_info/resolve/raw
  // for a repository that is not hosted here, and "list" (one page of upstream's repository
  // listing; "ns/name" empty, the rest = the query to send). Empty = no upstream. Arguments:
  // route, request, API plural, "ns/name", the raw rest of the path after the route keyword,
  // base URL. When set,
  // a Bearer token this hub does not know is passed on (it may be an upstream token) instead of
  // being refused; locally it counts as anonymous.
  std::function<http::Response(std::string_view, http::Request&, const std::string&, const std::string&,
                               std::string_view, const std::string&)>
      remote;
  std::function<std::string()> remote_metrics;  // appended to /metrics
  // Signature policy (src/sign/gate.hpp, hub/signature_gate.cpp). When set, every read route of
  // a hosted repository checks the revision it resolved: a revision failing a required policy is
  // refused (403 SignatureRequired / SignatureInvalid) and repo info carries `hubgateSignature`.
  // Pull-through repositories are checked by the edge (upstream::EdgeOptions::signatures).
  std::shared_ptr<sign::SignatureGate> signatures;

  // Security gate (src/gate/, see hub/gate_hooks.cpp): scans uploads, refuses blocked content
  // on upload and download, adds securityFileStatus. Null = no gate. Not owned.
  gate::Gate* gate = nullptr;
  audit::Log* audit = nullptr;           // GET /api/admin/audit; null = route answers 404
  std::set<std::string> admin_tokens;    // token names allowed on admin routes; empty = write tokens without repo limits

  // Xet (src/cas/): CAS API under /cas/, xet-read/write-token, Xet headers on resolve, xetHash in
  // tree/paths-info, `xet` LFS transfer, commits through cas::Service::finalize_lfs_object.
  // Null = no Xet. Not owned.
  cas::Service* xet = nullptr;
  // Whole-file copies as a bounded cache over the chunk store (src/cas/hot_copies.hpp): resolve
  // serves through it (copy, or reconstruction from chunks), commits admit their objects to it.
  // Null = plain reads only from the blob store. Not owned.
  cas::HotCopies* hot = nullptr;
  // Base URL of a CDN in front of the gateway (`serve --cdn-url`; README.md "A CDN in front"):
  // resolve of a hosted LFS/Xet file answers 302 to `<cdn_url>/blobs/sha256/<hex>?size&x&s`
  // (signed, cacheable forever). Empty = bodies are served by resolve itself.
  std::string cdn_url;
  std::int64_t blob_url_ttl_s = 3600;  // lifetime of a signed blob URL

  // Read-only S3 face (hub/s3_face.cpp, docs/spec/s3.md part 1): buckets `models` and
  // `datasets`, keys ORG/NAME/REVISION/PATH, served through the same resolve, pull-through and
  // gate path as the Hub API. Path style always; virtual-host style (`Host: models.<domain>`)
  // only for `s3_domain` when set.
  bool s3_face = false;
  std::string s3_domain;
};

class Metrics;

class Hub {
 public:
  Hub(HubOptions opts, repo::Catalog& catalog, store::BlobStore& store, auth::TokenStore& tokens,
      const auth::Signer& signer);
  ~Hub();
  http::Response handle(http::Request& req);
  // Record a finished request (for /metrics).
  void record(const http::AccessRecord& rec);

  // Creates a repository with its initial commit (.gitattributes), as POST /api/repos/create.
  Result<repo::RepoRecord> create_repo(const repo::RepoId& id, bool is_private, const std::string& author);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace hubgate::hub
