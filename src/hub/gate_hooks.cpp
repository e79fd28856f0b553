// The security gate in the hosted-repository API (src/gate/; off when HubOptions::gate is null).
//
// - Signed LFS PUT: the body was spooled to a temp file (or kept in memory) and hashed by the
//   server; after the oid/size check and before the store adopts it, the gate scans that same
//   file (mapped, hot in the page cache). Dangerous content the policy blocks for the repository
//   named in the URL (`repo=`, added by the batch answer; absent = no exception applies) is
//   refused with 403 and never enters the store.
// - NDJSON commit: each inline file is scanned from the decoded body before it is stored; each
//   lfsFile's verdict is looked up by sha256 (scanned from the store when unknown, e.g. content
//   that arrived before the gate or through another path). One blocked file refuses the whole
//   commit with 403 before the catalog sees it: no commit, no ref moves.
// - resolve: the verdict of the file (looked up, or scanned once from the store) is checked
//   against the policy for this repository: 403 BlockedBySecurityPolicy, or a warning header.
// - tree / paths-info with expand: `securityFileStatus` from the stored verdict (omitted when
//   the content has no verdict yet).
// - GET /api/admin/audit: the audit log as JSON, for admin tokens only.
#include <unistd.h>

#include "audit/audit.hpp"
#include "cas/hot_copies.hpp"
#include "gate/http_reply.hpp"
#include "hub/context.hpp"
#include "http/url.hpp"
#include "util/parse.hpp"

namespace hubgate::hub {

namespace {

gate::Subject subject(const Ctx& c, std::string repo, std::string rev, std::string path) {
  gate::Subject s;
  s.repo = std::move(repo);
  s.revision = std::move(rev);
  s.path = std::move(path);
  s.client = c.token ? c.token->name : "anonymous";
  s.remote = c.req.client;
  return s;
}

// The verdict of stored content: looked up, or scanned once from the store.
gate::Verdict stored_verdict(Ctx& c, const std::string& sha256, const gate::Subject& who) {
  gate::Gate& g = *c.hub.opts.gate;
  if (auto v = g.lookup(sha256)) return *v;
  auto blob = c.hub.store.open(sha256);
  if (!blob && blob.error().code == Errc::not_found && c.hub.opts.hot) {
    // No whole-file copy (hot-copy budget): scan a temporary reconstruction from the chunk store.
    if (auto tmp = c.hub.opts.hot->temp_copy(sha256)) {
      gate::Verdict v = g.verdict_for_file(sha256, *tmp, who);
      ::unlink(tmp->c_str());
      return v;
    }
  }
  if (!blob) {
    gate::Verdict v;
    v.sha256 = sha256;
    v.unscanned = true;
    v.rule = "scan.error";
    v.message = "stored content unavailable: " + blob.error().message;
    return v;
  }
  if (blob->data) return g.verdict_for_bytes(sha256, as_bytes(std::string_view(*blob->data)), who);
  return g.verdict_for_file(sha256, blob->path, who);
}

}  // namespace

std::optional<http::Response> gate_upload(Ctx& c, const std::string& oid) {
  if (!c.hub.opts.gate || !c.hub.opts.gate->enabled()) return std::nullopt;
  gate::Gate& g = *c.hub.opts.gate;
  const auto& b = c.req.body;
  std::string repo = http::query_get(c.query, "repo");
  auto who = subject(c, repo, "", "");
  gate::Verdict v = b.in_file() ? g.verdict_for_file(oid, b.file, who)
                                : g.verdict_for_bytes(oid, as_bytes(std::string_view(b.data)), who);
  auto d = g.decide(v, who);
  if (d.outcome == gate::Outcome::block) return gate::blocked_response(d, "LFS object " + oid);
  return std::nullopt;
}

std::optional<http::Response> gate_commit_file(Ctx& c, const repo::RepoRecord& r, const std::string& branch,
                                               const std::string& path, const std::string& sha256,
                                               const std::string* content) {
  if (!c.hub.opts.gate || !c.hub.opts.gate->enabled()) return std::nullopt;
  gate::Gate& g = *c.hub.opts.gate;
  auto who = subject(c, r.id.qualified(), branch, path);
  gate::Verdict v = content ? g.verdict_for_bytes(sha256, as_bytes(std::string_view(*content)), who)
                            : stored_verdict(c, sha256, who);
  auto d = g.decide(v, who);
  if (d.outcome != gate::Outcome::block) return std::nullopt;
  return gate::blocked_response(d, "commit refused: " + path);
}

std::optional<http::Response> gate_download(Ctx& c, const repo::RepoRecord& r, const std::string& commit,
                                            const repo::FileEntry& f, http::Response& res) {
  if (!c.hub.opts.gate || !c.hub.opts.gate->enabled() || f.size == 0) return std::nullopt;
  gate::Gate& g = *c.hub.opts.gate;
  auto who = subject(c, r.id.qualified(), commit, f.path);
  gate::Verdict v = stored_verdict(c, f.sha256, who);
  // HEAD probes do not add warning records (the GET that follows does); blocks are always audited.
  gate::Decision d = g.evaluate(v, who.repo);
  if (d.outcome == gate::Outcome::block || c.req.method != "HEAD") d = g.decide(v, who);
  if (d.outcome == gate::Outcome::block) {
    auto e = gate::blocked_response(d, r.id.qualified() + "/" + f.path);
    e.headers.set("X-Repo-Commit", commit);
    return e;
  }
  gate::annotate(d, res);
  return std::nullopt;
}

void gate_status(Ctx& c, const repo::FileEntry& f, json& entry) {
  if (!c.hub.opts.gate || !c.hub.opts.gate->enabled()) return;
  auto v = c.hub.opts.gate->lookup(f.sha256);
  if (!v || v->status_json.empty()) return;
  auto st = json::parse(v->status_json, nullptr, false);
  if (st.is_object() && st.contains("status") && st.contains("avScan") && st.contains("pickleImportScan")) {
    entry["securityFileStatus"] = std::move(st);
  }
}

std::string lfs_upload_repo_param(const repo::RepoId& id) {
  return "repo=" + http::percent_encode(id.qualified(), false) + "&";
}

json gate_review(Ctx& c, const repo::RepoRecord& r, const std::string& commit,
                 const std::vector<const repo::FileEntry*>& files, bool& blocked) {
  json out = json::array();
  if (!c.hub.opts.gate || !c.hub.opts.gate->enabled()) return out;
  gate::Gate& g = *c.hub.opts.gate;
  for (const auto* f : files) {
    if (f->size == 0) continue;
    auto who = subject(c, r.id.qualified(), commit, f->path);
    gate::Verdict v = stored_verdict(c, f->sha256, who);
    gate::Decision d = g.evaluate(v, who.repo);
    const char* outcome = d.outcome == gate::Outcome::block ? "blocked" : d.outcome == gate::Outcome::warn ? "warn" : "allowed";
    if (d.outcome == gate::Outcome::block) blocked = true;
    json e = {{"path", f->path}, {"sha256", f->sha256}, {"level", v.level()}, {"decision", outcome}};
    if (!d.message.empty()) e["message"] = d.message;
    out.push_back(std::move(e));
  }
  return out;
}

http::Response admin_audit(Ctx& c) {
  if (!c.hub.opts.audit) return error(404, "", "no audit log configured");
  if (!c.token) return error(401, "", "an admin token is required");
  bool admin = c.hub.opts.admin_tokens.empty() ? (c.token->write && c.token->patterns.empty())
                                               : c.hub.opts.admin_tokens.count(c.token->name) > 0;
  if (!admin) return error(403, "", "token '" + c.token->name + "' is not an admin token");
  audit::Filter f;
  f.repo = http::query_get(c.query, "repo");
  if (std::string since = http::query_get(c.query, "since"); !since.empty()) {
    auto t = audit::parse_time(since, audit::now_ms());
    if (!t) return error(400, "", t.error().message);
    f.since_ms = *t;
  }
  if (std::string kind = http::query_get(c.query, "kind"); !kind.empty()) {
    f.kind = audit::kind_from_name(kind);
    if (!f.kind) return error(400, "", "unknown audit kind '" + kind.substr(0, 64) + "'");
  }
  f.sha256 = http::query_get(c.query, "sha256");
  if (std::string lim = http::query_get(c.query, "limit"); !lim.empty()) {
    auto n = parse_u64(lim);
    if (!n || *n == 0 || *n > 100000) return error(400, "", "limit must be 1..100000");
    f.limit = std::size_t(*n);
  }
  auto recs = c.hub.opts.audit->query(f);
  if (!recs) return error_from(recs.error());
  return http::json_response(200, audit::to_json(*recs));
}

}  // namespace hubgate::hub
