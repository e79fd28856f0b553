// Hub API side of Xet (spec/hub-api.md §§1, 3, 5, 6.2): xet-read-token / xet-write-token, the
// Xet headers of resolve answers, xetHash in tree entries, and the `xet` LFS batch transfer.
// The CAS itself is src/cas/; everything here is a no-op when HubOptions::xet is null.
#include <ctime>

#include "cas/cas.hpp"
#include "hub/context.hpp"
#include "http/url.hpp"
#include "util/hex.hpp"

namespace hubgate::hub {

namespace {

std::string token_url(const std::string& base, const repo::RepoId& id, std::string_view kind, const std::string& rev) {
  return base + "/api/" + id.api_plural() + "/" + id.full() + "/xet-" + std::string(kind) + "-token/" + http::percent_encode(rev, false);
}

}  // namespace

http::Response xet_token(Ctx& c, const repo::RepoId& id, std::string_view raw_rev, bool write) {
  if (!c.hub.opts.xet) return error(404, "", "Xet is not enabled on this server");
  auto r = open_repo(c, id, write ? Need::write : Need::read);
  if (!r) return r.error();
  if (auto g = gate_access(c, *r)) return std::move(*g);  // gated: file bytes for accepted users only
  auto rev = http::percent_decode(raw_rev);
  if (!rev) return error(400, "", rev.error().message);
  std::string commit;
  if (!write) {
    auto cm = resolve_rev(c, *r, *rev);
    if (!cm) return cm.error();
    commit = *cm;
  } else if (*rev != "None") {  // HH sends "None" with ?create_pr=1; a new branch has no commit yet
    auto cm = c.hub.catalog.resolve(r->key, *rev);
    if (cm && *cm) commit = **cm;
  }
  std::int64_t exp = 0;
  std::string tok = c.hub.opts.xet->issue_token(*r, write, commit, &exp);
  std::string cas = c.base_url + "/cas";
  auto res = json_reply(200, {{"accessToken", tok}, {"exp", exp}, {"casUrl", cas}});
  res.headers.set("X-Xet-Cas-Url", cas);
  res.headers.set("X-Xet-Access-Token", tok);
  res.headers.set("X-Xet-Token-Expiration", std::to_string(exp));
  return res;
}

std::string xet_resolve_headers(Ctx& c, http::Response& res, const repo::RepoId& id, const std::string& commit,
                                const repo::FileEntry& f) {
  if (!c.hub.opts.xet || !f.lfs || f.size == 0) return {};
  auto rec = c.hub.opts.xet->file_for_sha256(f.sha256);
  if (!rec || rec->size != f.size) return {};
  std::string h = rec->file_hash.hex();
  std::string auth = token_url(c.base_url, id, "read", commit);
  res.headers.set("X-Xet-Hash", h);
  res.headers.set("X-Xet-Refresh-Route", auth);
  res.headers.set("Link", "<" + auth + ">; rel=\"xet-auth\", <" + c.base_url + "/cas/v1/reconstructions/" + h +
                              ">; rel=\"xet-reconstruction-info\"");
  return h;
}

void add_xet_hash(const Hub::Impl& h, json& entry, const repo::FileEntry& f) {
  if (!h.opts.xet || !f.lfs || f.size == 0) return;
  auto rec = h.opts.xet->file_for_sha256(f.sha256);
  if (rec && rec->size == f.size) entry["xetHash"] = rec->file_hash.hex();
}

http::Response lfs_batch_xet(Ctx& c, const repo::RepoRecord& r, const json& objects, const std::string& ref) {
  std::int64_t exp = 0;
  std::string commit;
  if (auto cm = c.hub.catalog.resolve(r.key, ref); cm && *cm) commit = **cm;
  std::string tok = c.hub.opts.xet->issue_token(r, true, commit, &exp);
  json header = {{"X-Xet-Cas-Url", c.base_url + "/cas"},
                 {"X-Xet-Access-Token", tok},
                 {"X-Xet-Token-Expiration", std::to_string(exp)},
                 {"X-Xet-Session-Id", auth::random_hex(16)}};
  std::string href = token_url(c.base_url, r.id, "write", ref);
  json out = json::array();
  for (const auto& o : objects) {
    std::string oid = o.contains("oid") && o["oid"].is_string() ? o["oid"].get<std::string>() : "";
    bool size_ok = o.contains("size") && o["size"].is_number_unsigned();
    std::uint64_t size = size_ok ? o["size"].get<std::uint64_t>() : 0;
    if (!is_lower_hex(oid, 64) || !size_ok) {
      out.push_back({{"oid", oid}, {"size", size}, {"error", {{"code", 422}, {"message", "oid must be 64 lowercase hex and size an integer"}}}});
      continue;
    }
    auto have = c.hub.store.stat(oid);
    if (!have) return error_from(have.error());
    auto rec = c.hub.opts.xet->file_for_sha256(oid);
    if ((*have && **have == size) || (rec && rec->size == size)) {
      out.push_back({{"oid", oid}, {"size", size}});  // already stored: nothing to upload
      continue;
    }
    out.push_back({{"oid", oid}, {"size", size}, {"actions", {{"upload", {{"href", href}, {"header", header}}}}}});
  }
  auto res = json_reply(200, {{"transfer", "xet"}, {"objects", out}, {"hash_algo", "sha256"}});
  res.headers.set("Content-Type", "application/vnd.git-lfs+json");
  return res;
}

}  // namespace hubgate::hub
