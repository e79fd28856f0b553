// Signature policy at the edge (src/sign/gate.hpp) for pull-through repositories.
//
// The revision source is built from upstream metadata pinned to the commit: the recursive tree
// listing (all pages; cached forever by the Resolver) gives every file's path and size, its
// sha256 for LFS/Xet files (`lfs.oid`) and its git blob id for regular files (`oid`). Regular
// files have no sha256 upstream, so the gate reads them — small by construction (non-LFS) —
// through the same single-flight fill as a download: the fill checks the git blob id before the
// bytes are published, and they stay in the blob cache for the download that follows. The
// verdict is cached per commit by the gate.
//
// Serving afterwards: the file metadata of a download (HEAD upstream: X-Linked-Etag or ETag)
// must equal the entry that was verified (check_signed_file), and the fill verifies the bytes
// against that same hash, so what a client receives is what the signature covers.
//
// A signature file that upstream serves but does not list (another hubgate's countersignature,
// sign::kCountersignaturePath) is found with a HEAD (RevisionSource::probe). With its own
// countersigner, the edge answers that path itself for revisions it verified.
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "crypto/sha.hpp"
#include "sign/gate.hpp"
#include "upstream/edge.hpp"

namespace hubgate::upstream {

using json = nlohmann::json;

namespace {

constexpr std::size_t kMaxTreePages = 1000;
constexpr auto kFileWait = std::chrono::seconds(120);

bool lower_hex(const std::string& s, std::size_t n) {
  if (s.size() != n) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

// One upstream tree page (a JSON array) into `out`.
Result<void> parse_tree_page(const std::string& body, std::vector<sign::GateFile>& out) {
  auto j = json::parse(body, nullptr, false);
  if (!j.is_array()) return fail(Errc::corrupt, "upstream tree listing is not a JSON array");
  for (const auto& e : j) {
    if (!e.is_object() || !e.contains("type") || e["type"] != "file") continue;
    if (!e.contains("path") || !e["path"].is_string() || !e.contains("size") || !e["size"].is_number_unsigned())
      return fail(Errc::corrupt, "upstream tree entry without path or size");
    sign::GateFile f;
    f.path = e["path"].get<std::string>();
    f.size = e["size"].get<std::uint64_t>();
    if (e.contains("lfs") && e["lfs"].is_object()) {
      const auto& l = e["lfs"];
      if (!l.contains("oid") || !l["oid"].is_string() || !lower_hex(l["oid"].get<std::string>(), 64))
        return fail(Errc::corrupt, "upstream tree entry '" + f.path + "' has a bad lfs.oid");
      f.sha256 = l["oid"].get<std::string>();
    } else {
      if (!e.contains("oid") || !e["oid"].is_string() || !lower_hex(e["oid"].get<std::string>(), 40))
        return fail(Errc::corrupt, "upstream tree entry '" + f.path + "' has a bad oid");
      f.git_oid = e["oid"].get<std::string>();
    }
    out.push_back(std::move(f));
  }
  return {};
}

std::string query_of(const std::string& url) {
  auto q = url.find('?');
  return q == std::string::npos ? std::string() : url.substr(q + 1);
}

}  // namespace

Result<std::string> Edge::read_file_bytes(const RepoRef& repo, const FileMeta& meta, const std::string& auth) {
  HG_TRY(auto acquired, fills_->acquire(resolver_->fill_spec(repo, meta, auth)));
  std::string out(static_cast<std::size_t>(meta.size), '\0');
  int fd = -1;
  if (acquired.cached) {
    fd = acquired.cached->fd();
  } else {
    auto deadline = std::chrono::steady_clock::now() + kFileWait;
    FillStatus st = acquired.fill->status();
    while (st.state == FillState::running && std::chrono::steady_clock::now() < deadline)
      st = acquired.fill->wait_beyond(meta.size, std::chrono::milliseconds(500));
    if (st.state == FillState::running) return fail(Errc::unavailable, "timed out fetching '" + meta.path + "'");
    if (st.state == FillState::failed)
      return fail(st.error ? *st.error : Error(Errc::unavailable, "fetching '" + meta.path + "' failed"));
    fd = acquired.fill->read_fd();
  }
  std::size_t done = 0;
  while (done < out.size()) {
    auto n = ::pread(fd, out.data() + done, out.size() - done, static_cast<off_t>(done));
    if (n <= 0) return fail(Errc::unavailable, "short read of the cached body of '" + meta.path + "'");
    done += static_cast<std::size_t>(n);
  }
  return out;
}

std::optional<http::Response> Edge::check_signature(const RepoRef& repo, const std::string& commit,
                                                    const std::string& auth,
                                                    std::shared_ptr<const sign::GateVerdict>* verdict) {
  if (!opt_.signatures) return std::nullopt;
  const std::string name = repo.type == "models" ? repo.id : repo.type + "/" + repo.id;
  auto listing = std::make_shared<std::vector<sign::GateFile>>();
  sign::RevisionSource src;
  src.list = [&, listing]() -> Result<std::vector<sign::GateFile>> {
    std::string query = "recursive=true&expand=false";
    for (std::size_t page = 0; page < kMaxTreePages; ++page) {
      HG_TRY(auto ans, resolver_->tree(repo, commit, "", query, auth));
      if (ans.refusal)
        return fail(Errc::permission_denied, "upstream refused the listing: " + std::to_string(ans.refusal->status) +
                                                 " " + ans.refusal->message);
      HG_TRY_VOID(parse_tree_page(ans.value->body, *listing));
      if (ans.value->link_next.empty()) return *listing;
      query = query_of(ans.value->link_next);
      if (query.empty()) return fail(Errc::corrupt, "upstream tree Link has no query");
    }
    return fail(Errc::limit_exceeded, "upstream tree listing has more than " + std::to_string(kMaxTreePages) + " pages");
  };
  src.read = [&, listing](const std::string& path) -> Result<std::string> {
    for (const auto& f : *listing) {
      if (f.path != path) continue;
      FileMeta m;
      m.commit = commit;
      m.path = f.path;
      m.size = f.size;
      if (!f.sha256.empty()) m.sha256 = f.sha256;
      m.git_oid = f.git_oid;
      return read_file_bytes(repo, m, auth);
    }
    return fail(Errc::not_found, "no file '" + path + "' at " + commit);
  };
  src.probe = [&, listing](const std::string& path) -> Result<std::optional<sign::GateFile>> {
    HG_TRY(auto ans, resolver_->file(repo, commit, path, auth));
    if (ans.refusal) {
      if (ans.refusal->status == 404) return std::optional<sign::GateFile>();
      return fail(Errc::permission_denied, "upstream refused '" + path + "': " + ans.refusal->message);
    }
    const FileMeta& m = *ans.value;
    if (m.commit != commit) return fail(Errc::corrupt, "upstream answered '" + path + "' for another commit");
    sign::GateFile f{m.path, m.size, m.sha256.value_or(""), m.git_oid};
    listing->push_back(f);  // so that `read` finds it
    return std::optional<sign::GateFile>(std::move(f));
  };
  auto v = opt_.signatures->check(name, commit, src);
  if (!v) {
    const Error& e = v.error();
    int status = e.code == Errc::unavailable ? 503 : e.code == Errc::permission_denied ? 403 : 502;
    auto res = error_response(status, e.code == Errc::unavailable ? "UpstreamUnavailable" : "",
                                "signature verification of " + name + "@" + commit + " failed: " + e.message);
    res.headers.set("X-Repo-Commit", commit);
    return res;
  }
  if (verdict) *verdict = *v;
  if ((*v)->decision.serve) return std::nullopt;
  auto res = error_response(403, (*v)->decision.error_code, (*v)->decision.message);
  res.headers.set("X-Repo-Commit", commit);
  return res;
}

http::Response Edge::countersignature(const RepoRef& repo, const std::string& rev, const std::string& auth) {
  auto c = resolver_->commit_of(repo, rev, auth);
  if (!c) return error_response(c.error().code == Errc::unavailable ? 503 : 502, "", c.error().message);
  if (c->refusal) return error_response(c->refusal->status, c->refusal->error_code, c->refusal->message);
  const std::string& commit = *c->value;
  std::shared_ptr<const sign::GateVerdict> v;
  if (auto refused = check_signature(repo, commit, auth, &v)) return std::move(*refused);
  if (!v || v->countersignature.empty()) {
    auto res = error_response(404, "EntryNotFound",
                                std::string(sign::kCountersignaturePath) + ": " + repo.id + "@" + commit +
                                    " was not verified under a signing policy, so it is not countersigned");
    res.headers.set("X-Repo-Commit", commit);
    return res;
  }
  auto res = http::text_response(200, v->countersignature, "application/octet-stream");  // HEAD: body dropped
  res.headers.set("X-Repo-Commit", commit);
  res.headers.set("ETag", "\"" + crypto::git_blob_sha1_hex(v->countersignature) + "\"");
  return res;
}

std::optional<http::Response> Edge::check_signed_file(const sign::GateVerdict& v, const FileMeta& meta) {
  if (v.status != sign::GateStatus::verified) return std::nullopt;
  const sign::GateFile* f = v.find(meta.path);
  bool same = f && (meta.sha256 ? *meta.sha256 == f->sha256 : (!f->git_oid.empty() && meta.git_oid == f->git_oid));
  if (same) return std::nullopt;
  auto res = error_response(403, "SignatureInvalid",
                              "signature check failed: upstream metadata of '" + meta.path + "' at " + meta.commit +
                                  " differs from the verified listing");
  res.headers.set("X-Repo-Commit", meta.commit);
  return res;
}

}  // namespace hubgate::upstream
