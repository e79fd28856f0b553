// Signature enforcement for hosted repositories (src/sign/gate.hpp): once a read route has
// pinned a request to a commit, the revision's verdict is taken from the gate (cached per
// commit) with a RevisionSource over the catalog snapshot (path, size, sha256 of every file)
// and the blob store (bytes of the signature file). A refused revision answers 403 with
// X-Error-Code SignatureRequired / SignatureInvalid; a store failure while verifying answers 503.
#include <fstream>
#include <sstream>

#include "crypto/sha.hpp"
#include "hub/context.hpp"
#include "sign/gate.hpp"

namespace hubgate::hub {

namespace {

Result<std::string> read_blob(store::BlobStore& st, const std::string& sha256, std::uint64_t max) {
  HG_TRY(auto b, st.open(sha256));
  if (b.size > max) return fail(Errc::limit_exceeded, "blob too large to verify");
  if (b.data) return *b.data;
  std::ifstream in(b.path, std::ios::binary);
  if (!in) return fail(Errc::unavailable, "cannot open stored blob " + sha256);
  std::string out(static_cast<std::size_t>(b.size), '\0');
  in.read(out.data(), static_cast<std::streamsize>(out.size()));
  if (static_cast<std::uint64_t>(in.gcount()) != b.size) return fail(Errc::unavailable, "short read of stored blob " + sha256);
  return out;
}

}  // namespace

json signature_json(const sign::GateVerdict& v) { return sign::verdict_json(v); }

Reply<std::shared_ptr<const sign::GateVerdict>> signature_verdict(Ctx& c, const repo::RepoRecord& r,
                                                                  const std::string& commit) {
  auto* gate = c.hub.opts.signatures.get();
  if (!gate) return std::shared_ptr<const sign::GateVerdict>();
  std::shared_ptr<const repo::Snapshot> snap;
  sign::RevisionSource src;
  src.list = [&]() -> Result<std::vector<sign::GateFile>> {
    HG_TRY(snap, c.hub.catalog.snapshot(r.key, commit));
    std::vector<sign::GateFile> files;
    files.reserve(snap->files.size());
    for (const auto& f : snap->files) files.push_back({f.path, f.size, f.sha256, f.lfs ? std::string() : f.blob_sha1});
    return files;
  };
  src.read = [&](const std::string& path) -> Result<std::string> {
    const repo::FileEntry* f = snap ? snap->find(path) : nullptr;
    if (!f) return fail(Errc::not_found, "no file " + path + " at " + commit);
    return read_blob(c.hub.store, f->sha256, 1ull << 30);
  };
  auto v = gate->check(r.id.qualified(), commit, src);
  if (!v) return std::unexpected(error(503, "", "signature verification of " + r.id.qualified() + "@" + commit +
                                                    " failed: " + v.error().message));
  if (!(*v)->decision.serve) {
    auto e = error(403, (*v)->decision.error_code, (*v)->decision.message);
    e.headers.set("X-Repo-Commit", commit);
    json body = {{"error", (*v)->decision.message}, {"hubgateSignature", signature_json(**v)}};
    e.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
    return std::unexpected(std::move(e));
  }
  return *v;
}

std::optional<http::Response> countersignature_response(Ctx& c, const repo::RepoRecord& r, const std::string& commit,
                                                       const std::string& path) {
  auto* gate = c.hub.opts.signatures.get();
  if (!gate || !gate->countersigns() || path != sign::kCountersignaturePath) return std::nullopt;
  auto v = signature_verdict(c, r, commit);
  if (!v) return std::move(v.error());
  if (!*v || (*v)->countersignature.empty()) {
    auto e = error(404, "EntryNotFound", std::string(sign::kCountersignaturePath) + ": " + r.id.qualified() + "@" +
                                             commit + " was not verified under a signing policy, so it is not countersigned");
    e.headers.set("X-Repo-Commit", commit);
    return e;
  }
  return countersignature_reply((*v)->countersignature, commit);
}

http::Response countersignature_reply(const std::string& bundle, const std::string& commit) {
  http::Response res = http::text_response(200, bundle, "application/octet-stream");  // HEAD: the server drops the body
  res.headers.set("X-Repo-Commit", commit);
  res.headers.set("ETag", "\"" + crypto::git_blob_sha1_hex(bundle) + "\"");
  return res;
}

}  // namespace hubgate::hub
