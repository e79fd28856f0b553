// Ref management and history (spec hub-repo-api.md §§1, 2, 4, 7): branch and tag creation and
// deletion, the commit list with Link pagination, super-squash. Shared helpers for the
// management handlers: audit records, JSON bodies, next-page links.
//
// Ref names arrive percent-encoded (HH quotes with safe="", HJ encodeURIComponent's branch names
// but sends listCommits' revision raw): the rest of the path after the route keyword is decoded
// as a whole. `main` is protected: it can be reset but never deleted.
#include <ctime>

#include "crypto/sha.hpp"
#include "hub/context.hpp"
#include "http/url.hpp"
#include "util/parse.hpp"

namespace hubgate::hub {

void audit_write(Ctx& c, const repo::RepoId& id, std::string_view action, std::string_view revision,
                 std::string reason) {
  if (!c.hub.opts.audit) return;
  audit::Record r;
  r.repo = id.qualified();
  r.revision = std::string(revision);
  r.client = c.token ? c.token->name : "anonymous";
  r.remote = c.req.client;
  r.kind = audit::Kind::repo;
  r.decision = std::string(action);
  r.reason = std::move(reason);
  (void)c.hub.opts.audit->append(std::move(r));  // best effort: a full disk must not undo the write
}

Reply<json> json_body(Ctx& c) {
  auto body = c.req.body.read_all(c.hub.opts.max_json_body);
  if (!body) return std::unexpected(error_from(body.error()));
  if (body->find_first_not_of(" \t\r\n") == std::string::npos) return json::object();
  json j = json::parse(*body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::unexpected(error(400, "", "expected a JSON object body"));
  return j;
}

std::string repo_object_id(const repo::RepoRecord& r) {
  return crypto::sha256_hex("repo:" + std::to_string(r.key) + ":" + std::to_string(r.created)).substr(0, 24);
}

std::string user_of(const Ctx& c) { return c.token ? c.token->name : std::string(); }

std::string next_link(const Ctx& c, std::string_view key, std::string_view value) {
  std::string q;
  for (const auto& [k, v] : c.query) {
    if (k == key) continue;
    q += (q.empty() ? "" : "&") + http::percent_encode(k, false) + "=" + http::percent_encode(v, false);
  }
  q += (q.empty() ? "" : "&") + std::string(key) + "=" + http::percent_encode(value, false);
  return c.base_url + c.req.path + "?" + q;
}

namespace {

Reply<std::string> decode_ref(std::string_view raw) {
  auto d = http::percent_decode(raw);
  if (!d) return std::unexpected(error(400, "", d.error().message));
  if (d->empty()) return std::unexpected(error(400, "", "missing reference name"));
  return *d;
}

// The ref of `name` of `kind`, when it exists.
Reply<std::optional<repo::Ref>> find_ref(Ctx& c, const repo::RepoRecord& r, std::string_view name, repo::RefKind kind) {
  auto refs = c.hub.catalog.list_refs(r.key);
  if (!refs) return std::unexpected(error_from(refs.error()));
  for (const auto& ref : *refs)
    if (ref.kind == kind && ref.name == name) return std::optional<repo::Ref>(ref);
  return std::optional<repo::Ref>{};
}

std::string author_name(const std::string& author) {
  auto lt = author.find(" <");
  return lt == std::string::npos ? author : author.substr(0, lt);
}

}  // namespace

http::Response create_branch(Ctx& c, const repo::RepoId& id, std::string_view raw_name) {
  auto r = open_repo(c, id, Need::write);
  if (!r) return r.error();
  auto name = decode_ref(raw_name);
  if (!name) return name.error();
  if (name->starts_with("refs/") || (repo::is_commit_prefix(*name) && name->size() == 40))
    return error(400, "", "Invalid reference for a branch: " + name->substr(0, 200));
  if (auto v = validate_ref_name(*name); !v) return error(400, "", "Invalid reference for a branch: " + v.error().message);
  auto j = json_body(c);
  if (!j) return j.error();
  bool overwrite = j->contains("overwrite") && (*j)["overwrite"].is_boolean() && (*j)["overwrite"].get<bool>();
  bool empty = j->contains("emptyBranch") && (*j)["emptyBranch"].is_boolean() && (*j)["emptyBranch"].get<bool>();
  std::string start = j->contains("startingPoint") && (*j)["startingPoint"].is_string()
                          ? (*j)["startingPoint"].get<std::string>()
                          : std::string();
  auto existing = find_ref(c, *r, *name, repo::RefKind::branch);
  if (!existing) return existing.error();
  if (*existing && !overwrite)
    return error(409, "", "Reference refs/heads/" + *name + " already exists");
  if (*existing && start.empty() && !empty) return json_reply(200, json::object());  // overwrite alone: no-op
  std::string target;
  if (empty) {
    // A branch "with no commits" is, in git terms, a root commit with an empty tree.
    repo::NewCommit nc;
    nc.branch = *name;
    nc.root = true;
    nc.meta.title = "Empty branch " + *name;
    nc.meta.author = author_of(c.tok());
    nc.meta.time = std::int64_t(std::time(nullptr));
    if (*existing) nc.expected_parent = (*existing)->commit;
    auto res = c.hub.catalog.commit(r->key, nc);
    if (!res) return error_from(res.error());
    target = res->commit;
  } else {
    auto commit = c.hub.catalog.resolve(r->key, start.empty() ? std::string_view("main") : std::string_view(start));
    if (!commit) return error_from(commit.error());
    if (!*commit) return error(404, "RevisionNotFound", "Invalid rev id: " + start.substr(0, 200));
    target = **commit;
    auto made = c.hub.catalog.create_ref(r->key, repo::Ref{*name, repo::RefKind::branch, target, ""}, overwrite);
    if (!made) return error_from(made.error());
  }
  audit_write(c, id, "create_branch", *name, "at " + target + (start.empty() ? "" : " from " + start));
  return json_reply(200, json::object());
}

http::Response delete_branch(Ctx& c, const repo::RepoId& id, std::string_view raw_name) {
  auto r = open_repo(c, id, Need::write);
  if (!r) return r.error();
  auto name = decode_ref(raw_name);
  if (!name) return name.error();
  std::string branch = name->starts_with("refs/heads/") ? name->substr(11) : *name;
  if (branch == "main") return error(403, "", "Cannot delete refs/heads/main: it is the default branch");
  auto del = c.hub.catalog.delete_ref(r->key, branch, repo::RefKind::branch);
  if (!del) {
    if (del.error().code == Errc::not_found)
      return error(404, "RevisionNotFound", "Invalid rev id: " + branch.substr(0, 200) + " is not a branch");
    return error_from(del.error());
  }
  audit_write(c, id, "delete_branch", branch, "");
  return json_reply(200, json::object());
}

http::Response create_tag(Ctx& c, const repo::RepoId& id, std::string_view raw_rev) {
  auto r = open_repo(c, id, Need::write);
  if (!r) return r.error();
  auto rev = decode_ref(raw_rev);
  if (!rev) return rev.error();
  auto j = json_body(c);
  if (!j) return j.error();
  if (!j->contains("tag") || !(*j)["tag"].is_string()) return error(400, "", "create tag: expected {\"tag\": ...}");
  std::string tag = (*j)["tag"].get<std::string>();
  if (tag.starts_with("refs/") || tag.empty()) return error(400, "", "Invalid reference for a tag: " + tag.substr(0, 200));
  if (auto v = validate_ref_name(tag); !v) return error(400, "", "Invalid reference for a tag: " + v.error().message);
  std::string message = j->contains("message") && (*j)["message"].is_string() ? (*j)["message"].get<std::string>() : "";
  if (message.size() > 65536) return error(400, "", "tag message too long");
  auto commit = c.hub.catalog.resolve(r->key, *rev);
  if (!commit) return error_from(commit.error());
  if (!*commit) return error(404, "RevisionNotFound", "Invalid rev id: " + rev->substr(0, 200));
  repo::Ref ref{tag, repo::RefKind::tag, **commit, message};
  auto made = c.hub.catalog.create_ref(r->key, ref, false);
  if (!made) return error_from(made.error());
  audit_write(c, id, "create_tag", tag, "at " + **commit + (message.empty() ? "" : ": " + message));
  return json_reply(200, json::object());
}

http::Response delete_tag(Ctx& c, const repo::RepoId& id, std::string_view raw_name) {
  auto r = open_repo(c, id, Need::write);
  if (!r) return r.error();
  auto name = decode_ref(raw_name);
  if (!name) return name.error();
  std::string tag = name->starts_with("refs/tags/") ? name->substr(10) : *name;
  auto del = c.hub.catalog.delete_ref(r->key, tag, repo::RefKind::tag);
  if (!del) {
    if (del.error().code == Errc::not_found)
      return error(404, "RevisionNotFound", "Invalid rev id: " + tag.substr(0, 200) + " is not a tag");
    return error_from(del.error());
  }
  audit_write(c, id, "delete_tag", tag, "");
  return json_reply(200, json::object());
}

http::Response list_commits(Ctx& c, const repo::RepoId& id, std::string_view raw_rev) {
  auto r = open_repo(c, id, Need::read);
  if (!r) return r.error();
  auto rev = decode_ref(raw_rev);
  if (!rev) return rev.error();
  auto commit = resolve_rev(c, *r, *rev);
  if (!commit) return commit.error();
  std::int64_t limit = 50, page = 0;
  if (auto l = http::query_get(c.query, "limit"); !l.empty()) {
    auto v = parse_u64(l);
    if (!v || *v == 0) return error(400, "", "limit must be a positive integer");
    limit = std::int64_t(std::min<std::uint64_t>(*v, 1000));
  }
  if (auto p = http::query_get(c.query, "p"); !p.empty()) {
    auto v = parse_u64(p);
    if (!v || *v > (1ull << 40)) return error(400, "", "p must be a page index");
    page = std::int64_t(*v);
  }
  bool formatted = false;
  for (const auto& key : {"expand[]", "expand"})
    for (const auto& v : http::query_all(c.query, key))
      if (v == "formatted") formatted = true;
  auto h = c.hub.catalog.history(r->key, *commit, page * limit, limit);
  if (!h) return error_from(h.error());
  json out = json::array();
  for (const auto& cm : h->commits) {
    json item = {{"id", cm.id},
                 {"title", cm.title},
                 {"message", cm.description},
                 {"authors", json::array({{{"user", author_name(cm.author)}}})},
                 {"date", repo::iso_date(cm.time)}};
    if (formatted)
      item["formatted"] = {{"title", html_escape(cm.title)}, {"message", html_escape(cm.description)}};
    out.push_back(std::move(item));
  }
  auto res = json_reply(200, out);
  res.headers.set("X-Total-Count", std::to_string(h->total));
  if ((page + 1) * limit < h->total)
    res.headers.set("Link", "<" + next_link(c, "p", std::to_string(page + 1)) + ">; rel=\"next\"");
  return res;
}

http::Response super_squash(Ctx& c, const repo::RepoId& id, std::string_view raw_branch) {
  auto r = open_repo(c, id, Need::write);
  if (!r) return r.error();
  auto name = decode_ref(raw_branch);
  if (!name) return name.error();
  std::string branch = name->starts_with("refs/heads/") ? name->substr(11) : *name;
  auto refs = c.hub.catalog.list_refs(r->key);
  if (!refs) return error_from(refs.error());
  const repo::Ref* target = nullptr;
  bool is_tag = false;
  for (const auto& ref : *refs) {
    if (ref.name != branch) continue;
    if (ref.kind == repo::RefKind::tag) is_tag = true;
    else target = &ref;
  }
  if (!target) {
    if (is_tag) return error(400, "", "Cannot super-squash tag " + branch.substr(0, 200) + ": only branches");
    return error(404, "RevisionNotFound", "Invalid rev id: " + branch.substr(0, 200));
  }
  auto j = json_body(c);
  if (!j) return j.error();
  std::string message = j->contains("message") && (*j)["message"].is_string() ? (*j)["message"].get<std::string>()
                                                                               : "Super-squash branch '" + branch + "'";
  auto snap = load_snapshot(c, *r, target->commit);
  if (!snap) return snap.error();
  repo::NewCommit nc;
  nc.branch = branch;
  nc.root = true;
  nc.expected_parent = target->commit;
  nc.meta.title = message.substr(0, message.find('\n'));
  nc.meta.description = message.find('\n') == std::string::npos ? "" : message.substr(message.find('\n') + 1);
  nc.meta.author = author_of(c.tok());
  nc.meta.time = std::int64_t(std::time(nullptr));
  for (const auto& f : (*snap)->files) {
    repo::FileOp op;
    op.entry = f;
    op.entry.last_commit.clear();
    nc.ops.push_back(std::move(op));
  }
  auto res = c.hub.catalog.commit(r->key, nc);
  if (!res) return error_from(res.error());
  audit_write(c, id, "super_squash", branch, "from " + target->commit + " to " + res->commit);
  return json_reply(200, {{"commitId", res->commit}});
}

}  // namespace hubgate::hub
