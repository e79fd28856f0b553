// Edge: Xet for the edge's own clients, for Xet-backed remote files.
//
// resolve/tree/paths-info advertise the edge itself: `X-Xet-Hash`, `Link` to the edge's
// `xet-read-token` route for the remote repository and to its own CAS (the Xet hash is upstream's:
// a Xet fill stores the file under exactly that hash). Each advertised (repo@commit, Xet hash)
// is remembered with its path. The token route checks access the way every remote answer does
// (Resolver::commit_of with the client's Authorization) and issues a *remote* token of this
// server's CAS (cas.hpp); the client's Authorization stays here, indexed by a nonce carried in
// the token, for the fill that a reconstruction may need. A reconstruction with such a token
// calls `ensure_xet_file`: the file must be one this edge listed for that repo@commit, upstream
// must still let that Authorization read it (Resolver::file), the security gate must not refuse
// it; then the Xet fill runs (or is joined) and the CAS answers from the local chunk store. A
// body that arrived as plain bytes (cached before, upstream without Xet) is ingested into the
// chunk store; if its chunking does not give upstream's Xet hash the reconstruction is refused.
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <random>

#include <nlohmann/json.hpp>

#include "http/url.hpp"
#include "upstream/edge.hpp"

namespace hubgate::upstream {

using json = nlohmann::json;

namespace {

constexpr std::int64_t kAuthTtlS = 4 * 3600;  // longer than the CAS token TTL (default 1 h)

std::string nonce() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[33];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(rng()), static_cast<unsigned long long>(rng()));
  return buf;
}

std::int64_t now_s() { return static_cast<std::int64_t>(std::time(nullptr)); }

}  // namespace

void Edge::remember_xet_file(const RepoRef& repo, const std::string& commit, const std::string& path, const std::string& xet_hash) {
  std::lock_guard lock(xet_mu_);
  if (xet_paths_.size() > 200000) xet_paths_.clear();  // bounded; clients re-resolve before downloading
  xet_paths_[repo.key() + "@" + commit + "#" + xet_hash] = path;
}

void Edge::remember_xet_listing(const RepoRef& repo, const std::string& commit, const std::string& body) {
  auto j = json::parse(body, nullptr, false);
  if (!j.is_array()) return;
  for (const auto& e : j) {
    if (!e.is_object() || !e.contains("xetHash") || !e["xetHash"].is_string() || !e.contains("path") || !e["path"].is_string()) continue;
    auto h = e["xetHash"].get<std::string>();
    if (xet::MerkleHash::from_hex(h)) remember_xet_file(repo, commit, e["path"].get<std::string>(), h);
  }
}

bool Edge::add_xet_headers(http::Response& res, const RepoRef& repo, const FileMeta& meta, const std::string& base_url) {
  auto h = xet::MerkleHash::from_hex(*meta.xet_hash);
  if (!h) return false;
  std::string hex = h->hex();
  remember_xet_file(repo, meta.commit, meta.path, hex);
  std::string auth = base_url + "/api/" + repo.type + "/" + repo.id + "/xet-read-token/" + meta.commit;
  res.headers.set("X-Xet-Hash", hex);
  res.headers.set("X-Xet-Refresh-Route", auth);
  res.headers.set("Link", "<" + auth + ">; rel=\"xet-auth\", <" + base_url + "/cas/v1/reconstructions/" + hex +
                              ">; rel=\"xet-reconstruction-info\"");
  return true;
}

http::Response Edge::xet_read_token(http::Request& req, const RepoRef& repo, std::string_view raw_rest, const std::string& base_url) {
  if (!serves_xet()) return error_response(404, "", "Xet is not served for remote repositories here");
  auto rev = http::percent_decode(raw_rest);
  if (!rev) return error_response(400, "", rev.error().message);
  std::string auth(req.headers.get("Authorization").value_or(""));
  auto ans = resolver_->commit_of(repo, *rev, auth);
  if (!ans) return error_response(ans.error().code == Errc::unavailable ? 503 : 502, "", ans.error().message);
  if (ans->refusal) {
    auto res = error_response(ans->refusal->status, ans->refusal->error_code, ans->refusal->message);
    if (!ans->refusal->retry_after.empty()) res.headers.set("Retry-After", ans->refusal->retry_after);
    return res;
  }
  std::string name = repo.key();
  if (!auth.empty()) {
    std::string n = nonce();
    std::lock_guard lock(xet_mu_);
    std::int64_t now = now_s();
    std::erase_if(xet_auth_, [&](const auto& kv) { return kv.second.second < now; });
    if (xet_auth_.size() < 100000) xet_auth_[n] = {auth, now + kAuthTtlS};
    name += "#" + n;
  }
  std::int64_t exp = 0;
  std::string tok = opt_.issue_xet_token(name, *ans->value, &exp);
  std::string cas = base_url + "/cas";
  auto res = http::json_response(200, json{{"accessToken", tok}, {"exp", exp}, {"casUrl", cas}}.dump());
  res.headers.set("X-Xet-Cas-Url", cas);
  res.headers.set("X-Xet-Access-Token", tok);
  res.headers.set("X-Xet-Token-Expiration", std::to_string(exp));
  return res;
}

Result<void> Edge::ensure_xet_file(const std::string& token_repo, const std::string& commit, const std::string& hash_hex) {
  if (!serves_xet()) return fail(Errc::permission_denied, "Xet is not served for remote repositories here");
  auto hash = xet::MerkleHash::from_hex(hash_hex);
  if (!hash) return fail(Errc::invalid_argument, "malformed Xet hash");
  std::string name = token_repo, n;
  if (auto p = name.find('#'); p != std::string::npos) {
    n = name.substr(p + 1);
    name.resize(p);
  }
  auto slash = name.find('/');
  if (slash == std::string::npos) return fail(Errc::permission_denied, "malformed remote repository in the Xet token");
  RepoRef repo{name.substr(0, slash), name.substr(slash + 1)};
  std::string auth, path;
  {
    std::lock_guard lock(xet_mu_);
    if (!n.empty()) {
      auto it = xet_auth_.find(n);
      if (it == xet_auth_.end() || it->second.second < now_s())
        return fail(Errc::unauthenticated, "this Xet token's grant is no longer known here (refresh the token)");
      auth = it->second.first;
    }
    auto it = xet_paths_.find(repo.key() + "@" + commit + "#" + hash->hex());
    if (it == xet_paths_.end())
      return fail(Errc::permission_denied, "Xet file " + hash->hex() + " is not listed for " + repo.key() + "@" + commit.substr(0, 12) +
                                               " (resolve it through this gateway first)");
    path = it->second;
  }
  auto ans = resolver_->file(repo, commit, path, auth);
  if (!ans) return fail(ans.error());
  if (ans->refusal) return fail(Errc::permission_denied, "upstream refuses " + path + ": " + ans->refusal->message);
  const FileMeta& meta = *ans->value;
  if (!meta.xet_hash || *meta.xet_hash != hash->hex()) return fail(Errc::permission_denied, "Xet hash does not match " + path);
  ServeQuery q;
  ServeCheck check;
  if (opt_.serve_check) {  // the security gate, as for resolve
    q.repo = repo.type == "models" ? repo.id : repo.type + "/" + repo.id;
    q.commit = commit;
    q.path = path;
    q.key = meta.sha256 ? *meta.sha256 : "gitsha1:" + meta.git_oid;
    check = opt_.serve_check(q);
    if (check.refusal) return fail(Errc::permission_denied, "blocked by the security policy");
  }
  xet::ChunkStore* store = opt_.xet_chunks ? opt_.xet_chunks : own_chunks_.get();
  FillSpec spec = resolver_->fill_spec(repo, meta, auth);
  if (!store->lookup(*hash)) {
    HG_TRY(auto acq, fills_->acquire(spec));
    if (acq.fill) {
      auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(30);
      FillStatus st = acq.fill->status();
      while (st.state == FillState::running && std::chrono::steady_clock::now() < deadline)
        st = acq.fill->wait_beyond(acq.fill->size(), std::chrono::milliseconds(500));
      if (st.state != FillState::complete)
        return fail(Errc::unavailable, "fill of " + path + " failed: " + (st.error ? st.error->message : std::string("timed out")));
    }
  }
  std::optional<BlobHandle> body;
  if (!store->lookup(*hash)) {  // the body came as plain bytes: ingest it
    body = cache_->open(spec.key);
    if (!body) return fail(Errc::unavailable, "the body of " + path + " left the cache");
    auto w = store->ingest();
    std::string buf(4u << 20, '\0');
    for (std::uint64_t off = 0; off < body->size();) {
      ssize_t r = ::pread(body->fd(), buf.data(), buf.size(), static_cast<off_t>(off));
      if (r <= 0) return fail(Errc::io, "reading the cached body of " + path);
      HG_TRY_VOID(w.write(as_bytes(std::string_view(buf.data(), static_cast<std::size_t>(r)))));
      off += static_cast<std::uint64_t>(r);
    }
    HG_TRY(auto rec, w.finish());
    if (rec.file_hash != *hash)
      return fail(Errc::unsupported, "upstream's chunking of " + path + " differs from this gateway's; download it as plain bytes");
  }
  if (opt_.serve_check && !check.known) {  // no verdict before: ask again now that the body is here
    if (!body) body = cache_->open(spec.key);
    q.cached_fd = body ? body->fd() : -1;
    check = opt_.serve_check(q);
    if (check.refusal) return fail(Errc::permission_denied, "blocked by the security policy");
  }
  return {};
}

}  // namespace hubgate::upstream
