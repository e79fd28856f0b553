// Discussions and pull requests (spec hub-repo-api.md §10): list, create, details, comment,
// status, title, merge, comment edit/hide, under /api/{t}/{repo}/discussions.
//
// A pull request is a discussion with a ref "refs/pr/N" (from `create_pr=1` commits, which the
// catalog records as open PRs, or from POST discussions with pullRequest=true, created as
// drafts at the default branch's head). Merging is a three-way merge per path against the
// target's head at the time the PR was opened: a path changed by the PR is taken unless the
// target changed it differently meanwhile (a conflict: 409, listed in filesWithConflicts). Before
// a merge, the security gate and the signature policy are applied to the PR's head: a blocked
// file or a refused signature refuses the merge (403). PR details show both verdicts under
// `hubgate` (`security`: one entry per changed file, `signature`: the policy verdict or null).
// With `diff=1` the details carry `diff`: `git diff <merge base> <PR head>` (repo/diff.hpp).
//
// Access: reading needs read access to the repository; opening a discussion or commenting needs
// a write token (any repository scope, as on the Hub a user comments on others' repositories);
// title/status changes need write access to the repository or authorship; merge needs write
// access; editing a comment needs its authorship, hiding one write access.
#include <cctype>
#include <ctime>

#include "auth/auth.hpp"
#include "hub/context.hpp"
#include "http/url.hpp"
#include "repo/diff.hpp"
#include "util/atomic_file.hpp"
#include "util/parse.hpp"

namespace hubgate::hub {

namespace {

constexpr std::size_t kPageSize = 50;

json event_json(const repo::DiscussionEvent& ev) {
  json data = json::parse(ev.data, nullptr, false);
  if (!data.is_object()) data = json::object();
  json j = {{"id", ev.id}, {"type", ev.type}, {"createdAt", repo::iso_date(ev.time)}};
  if (!ev.author.empty()) j["author"] = {{"name", ev.author}};  // omitted, never null
  if (ev.type == "comment") {
    std::string raw = data.value("raw", std::string());
    json latest = {{"raw", raw},
                   {"html", "<p>" + html_escape(raw) + "</p>"},
                   {"updatedAt", data.contains("updatedAt") ? data["updatedAt"] : json(repo::iso_date(ev.time))}};
    if (!ev.author.empty()) latest["author"] = {{"name", ev.author}};
    json history = data.contains("history") && data["history"].is_array() ? data["history"] : json::array();
    j["data"] = {{"edited", data.value("edited", false)},
                 {"hidden", data.value("hidden", false)},
                 {"latest", latest},
                 {"numEdits", history.size()},
                 {"history", history}};
  } else {
    j["data"] = data;
  }
  return j;
}

json discussion_json(const repo::Discussion& d, const repo::RepoId& id) {
  json j = {{"num", d.num},
            {"title", d.title},
            {"status", d.status},
            {"isPullRequest", d.is_pr},
            {"createdAt", repo::iso_date(d.created)},
            {"pinned", false},
            {"repo", {{"name", id.full()}, {"type", repo::type_name(id.type)}}}};
  if (!d.author.empty()) j["author"] = {{"name", d.author}};
  return j;
}

repo::DiscussionEvent new_event(const Ctx& c, std::string type, json data) {
  return repo::DiscussionEvent{auth::random_hex(12), std::move(type), user_of(c), std::int64_t(std::time(nullptr)),
                               data.dump()};
}

json comment_data(const std::string& raw) {
  return {{"edited", false}, {"hidden", false}, {"raw", raw}, {"history", json::array()}};
}

bool may_write(const Ctx& c, const repo::RepoId& id) { return auth::can_write(c.tok(), id.qualified()); }

Reply<repo::Discussion> load(Ctx& c, const repo::RepoRecord& r, std::string_view raw_num) {
  auto n = parse_u64(raw_num);
  if (!n || *n == 0 || *n > 1000000000) return std::unexpected(error(404, "", "no such discussion"));
  auto d = c.hub.catalog.find_discussion(r.key, int(*n));
  if (!d) return std::unexpected(error_from(d.error()));
  if (!*d) return std::unexpected(error(404, "", "Discussion #" + std::to_string(*n) + " not found in " + r.id.qualified()));
  return **d;
}

// The PR's files compared with its merge base and the target's head.
struct PrState {
  std::string head, base_head;
  std::vector<repo::FileOp> ops;         // what a merge applies to the target
  std::vector<std::string> conflicts;    // paths changed on both sides differently
  std::vector<const repo::FileEntry*> changed;  // the PR's new or changed files (at head)
  std::shared_ptr<const repo::Snapshot> pr_snap;
};

Reply<PrState> pr_state(Ctx& c, const repo::RepoRecord& r, const repo::Discussion& d) {
  PrState st;
  auto head = c.hub.catalog.resolve(r.key, "refs/pr/" + std::to_string(d.num));
  if (!head || !*head) return std::unexpected(error(404, "RevisionNotFound", "refs/pr/" + std::to_string(d.num) + " is gone"));
  st.head = **head;
  std::string branch = d.base.starts_with("refs/heads/") ? d.base.substr(11) : d.base;
  auto base = c.hub.catalog.resolve(r.key, "refs/heads/" + branch);
  if (!base || !*base) return std::unexpected(error(404, "RevisionNotFound", "target branch " + branch + " is gone"));
  st.base_head = **base;
  auto load_snap = [&](const std::string& commit) -> Reply<std::shared_ptr<const repo::Snapshot>> {
    if (commit.empty()) return std::make_shared<const repo::Snapshot>();
    return load_snapshot(c, r, commit);
  };
  auto p = load_snap(st.head);
  if (!p) return std::unexpected(p.error());
  auto s = load_snap(d.start_commit);
  if (!s) return std::unexpected(s.error());
  auto b = load_snap(st.base_head);
  if (!b) return std::unexpected(b.error());
  st.pr_snap = *p;
  auto blob = [](const repo::Snapshot& snap, const std::string& path) {
    const auto* f = snap.find(path);
    return f ? f->blob_sha1 + (f->lfs ? ":" + f->sha256 : "") : std::string();
  };
  std::vector<std::string> paths;
  for (const auto& f : (*p)->files) paths.push_back(f.path);
  for (const auto& f : (*s)->files)
    if (!(*p)->find(f.path)) paths.push_back(f.path);
  for (const auto& path : paths) {
    std::string pv = blob(**p, path), sv = blob(**s, path), bv = blob(**b, path);
    if (pv == sv) continue;
    if (const auto* f = (*p)->find(path)) st.changed.push_back(f);
    if (bv == pv) continue;
    if (bv != sv) {
      st.conflicts.push_back(path);
      continue;
    }
    repo::FileOp op;
    if (const auto* f = (*p)->find(path)) {
      op.entry = *f;
      op.entry.last_commit.clear();
    } else {
      op.kind = repo::FileOp::Kind::delete_file;
      op.path = path;
    }
    st.ops.push_back(std::move(op));
  }
  return st;
}

// The PR's changes as `git diff <merge base> <PR head>` prints them (the Hub's three-dot diff):
// text files as unified hunks, LFS files as their pointer files, binary files as one line.
// Non-LFS files above kDiffFileBytes are shown as binary (their bytes are not read).
constexpr std::uint64_t kDiffFileBytes = 1 << 20;

Reply<std::string> pr_diff(Ctx& c, const repo::RepoRecord& r, const repo::Discussion& d) {
  auto head = c.hub.catalog.resolve(r.key, "refs/pr/" + std::to_string(d.num));
  if (!head || !*head) return std::unexpected(error(404, "RevisionNotFound", "refs/pr/" + std::to_string(d.num) + " is gone"));
  auto to = load_snapshot(c, r, **head);
  if (!to) return std::unexpected(to.error());
  std::shared_ptr<const repo::Snapshot> from = std::make_shared<const repo::Snapshot>();
  if (!d.start_commit.empty()) {
    auto s = load_snapshot(c, r, d.start_commit);
    if (!s) return std::unexpected(s.error());
    from = *s;
  }
  return repo::git_diff(*from, **to, [&](const repo::FileEntry& f) -> Result<std::string> {
    if (f.size > kDiffFileBytes) return fail(Errc::invalid_argument, "too large to diff");
    HG_TRY(auto b, c.hub.store.open(f.sha256));
    if (b.data) return std::string(*b.data);
    return read_file(b.path);
  });
}

// Security gate and signature verdicts of the PR head; `ok` false when either refuses.
json review(Ctx& c, const repo::RepoRecord& r, const PrState& st, bool& ok) {
  bool blocked = false;
  json security = gate_review(c, r, st.head, st.changed, blocked);
  json signature = nullptr;
  auto sig = signature_verdict(c, r, st.head);
  if (!sig) {
    const auto* text = std::get_if<std::string>(&sig.error().body);
    json body = text ? json::parse(*text, nullptr, false) : json();
    signature = body.is_object() && body.contains("hubgateSignature") ? body["hubgateSignature"]
                                                                      : json{{"error", "signature check failed"}};
    blocked = true;
  } else if (*sig) {
    signature = signature_json(**sig);
  }
  ok = !blocked;
  return {{"security", security}, {"signature", signature}, {"mergeable", ok}};
}

http::Response list(Ctx& c, const repo::RepoRecord& r) {
  auto all = c.hub.catalog.list_discussions(r.key);
  if (!all) return error_from(all.error());
  std::string type = http::query_get(c.query, "type"), status = http::query_get(c.query, "status");
  std::string author = http::query_get(c.query, "author");
  std::size_t page = 0;
  if (auto p = http::query_get(c.query, "p"); !p.empty()) {
    auto v = parse_u64(p);
    if (!v || *v > 1000000) return error(400, "", "p must be a page index");
    page = std::size_t(*v);
  }
  std::vector<json> hits;
  for (const auto& d : *all) {
    if (type == "discussion" && d.is_pr) continue;
    if (type == "pull_request" && !d.is_pr) continue;
    if (status == "open" && d.status != "open" && d.status != "draft") continue;
    if (status == "closed" && d.status != "closed" && d.status != "merged") continue;
    if (!author.empty() && d.author != author) continue;
    hits.push_back(discussion_json(d, r.id));
  }
  json out = json::array();
  for (std::size_t i = page * kPageSize; i < hits.size() && i < (page + 1) * kPageSize; ++i) out.push_back(hits[i]);
  return json_reply(200, {{"discussions", out}, {"count", hits.size()}, {"start", page * kPageSize}, {"numClosedDiscussions", 0}});
}

http::Response details(Ctx& c, const repo::RepoRecord& r, const repo::Discussion& d) {
  auto events = c.hub.catalog.list_events(r.key, d.num);
  if (!events) return error_from(events.error());
  json j = discussion_json(d, r.id);
  json evs = json::array();
  for (const auto& ev : *events) evs.push_back(event_json(ev));
  j["events"] = evs;
  if (d.is_pr) {
    json changes = {{"base", d.base}};
    if (!d.merge_commit.empty()) changes["mergeCommitId"] = d.merge_commit;
    j["filesWithConflicts"] = json::array();
    if (d.status != "merged") {
      auto st = pr_state(c, r, d);
      if (st) {
        j["filesWithConflicts"] = st->conflicts;
        bool ok = true;
        j["hubgate"] = review(c, r, *st, ok);
        if (!st->conflicts.empty()) j["hubgate"]["mergeable"] = false;
      }
    }
    if (http::query_get(c.query, "diff") == "1") {
      if (auto diff = pr_diff(c, r, d)) j["diff"] = std::move(*diff);  // none when its ref is gone
    }
    j["changes"] = changes;
  }
  return json_reply(200, j);
}

http::Response create(Ctx& c, const repo::RepoRecord& r) {
  if (!c.token || !c.token->write) return error(c.token ? 403 : 401, "", "a write token is required to open a discussion");
  auto j = json_body(c);
  if (!j) return j.error();
  std::string title = j->contains("title") && (*j)["title"].is_string() ? (*j)["title"].get<std::string>() : "";
  while (!title.empty() && (title.back() == ' ' || title.back() == '\n')) title.pop_back();
  while (!title.empty() && (title.front() == ' ' || title.front() == '\n')) title.erase(0, 1);
  if (title.size() < 3 || title.size() > 200) return error(400, "", "title must be 3 to 200 characters");
  std::string desc = j->contains("description") && (*j)["description"].is_string() ? (*j)["description"].get<std::string>() : "";
  bool is_pr = j->contains("pullRequest") && (*j)["pullRequest"].is_boolean() && (*j)["pullRequest"].get<bool>();
  repo::Discussion d;
  d.title = title;
  d.status = is_pr ? "draft" : "open";
  d.is_pr = is_pr;
  d.author = user_of(c);
  d.created = std::int64_t(std::time(nullptr));
  std::string head;
  if (is_pr) {
    auto h = c.hub.catalog.resolve(r.key, "refs/heads/main");
    if (!h) return error_from(h.error());
    if (!*h) return error(404, "RevisionNotFound", "the default branch has no commit");
    head = **h;
    d.base = "refs/heads/main";
    d.start_commit = head;
  }
  auto made = c.hub.catalog.create_discussion(r.key, d, new_event(c, "comment", comment_data(desc)), head);
  if (!made) return error_from(made.error());
  audit_write(c, r.id, is_pr ? "create_pull_request" : "create_discussion",
              is_pr ? "refs/pr/" + std::to_string(made->num) : "", "#" + std::to_string(made->num) + " " + title);
  json out = discussion_json(*made, r.id);
  out["url"] = c.base_url + "/" + r.id.url_prefix() + r.id.full() + "/discussions/" + std::to_string(made->num);
  return json_reply(200, out);
}

http::Response merge(Ctx& c, const repo::RepoRecord& r, repo::Discussion d, const json& body) {
  if (!may_write(c, r.id)) return error(403, "", "token '" + user_of(c) + "' may not merge into " + r.id.qualified());
  if (!d.is_pr) return error(400, "", "Discussion #" + std::to_string(d.num) + " is not a pull request");
  if (d.status != "open")
    return error(400, "", "Pull request #" + std::to_string(d.num) + " is " + d.status + ": only open pull requests can be merged");
  auto st = pr_state(c, r, d);
  if (!st) return st.error();
  if (!st->conflicts.empty()) {
    json b = {{"error", "Pull request #" + std::to_string(d.num) + " has conflicts"}, {"filesWithConflicts", st->conflicts}};
    auto e = error(409, "", b["error"].get<std::string>());
    e.body = b.dump();
    return e;
  }
  bool ok = true;
  json verdicts = review(c, r, *st, ok);
  if (!ok) {
    auto e = error(403, "BlockedBySecurityPolicy",
                   "Pull request #" + std::to_string(d.num) + " cannot be merged: the security gate or signature policy refuses it");
    json b = {{"error", "Pull request #" + std::to_string(d.num) + " refused by the gate"}, {"hubgate", verdicts}};
    e.body = b.dump(-1, ' ', false, json::error_handler_t::replace);
    return e;
  }
  std::string comment = body.contains("comment") && body["comment"].is_string() ? body["comment"].get<std::string>() : "";
  repo::NewCommit nc;
  nc.branch = d.base.starts_with("refs/heads/") ? d.base.substr(11) : d.base;
  nc.expected_parent = st->base_head;
  nc.ops = std::move(st->ops);
  nc.meta.title = d.title + " (#" + std::to_string(d.num) + ")";
  nc.meta.description = "Merge pull request #" + std::to_string(d.num) + " (" + st->head + ")";
  nc.meta.author = author_of(c.tok());
  nc.meta.time = std::int64_t(std::time(nullptr));
  auto res = c.hub.catalog.commit(r.key, nc);
  if (!res) return error_from(res.error());
  if (!comment.empty()) (void)c.hub.catalog.update_discussion(r.key, d, new_event(c, "comment", comment_data(comment)));
  d.status = "merged";
  d.merge_commit = res->commit;
  auto ev = new_event(c, "status-change", {{"status", "merged"}});
  if (auto u = c.hub.catalog.update_discussion(r.key, d, ev); !u) return error_from(u.error());
  audit_write(c, r.id, "merge_pull_request", d.base, "#" + std::to_string(d.num) + " " + st->head + " -> " + res->commit);
  return json_reply(200, {{"mergeCommitId", res->commit}});
}

}  // namespace

http::Response discussions(Ctx& c, const repo::RepoId& id, const std::vector<std::string_view>& rest) {
  const auto& m = c.req.method;
  auto r = open_repo(c, id, Need::read);
  if (!r) return r.error();
  if (rest.empty()) {
    if (m == "GET") return list(c, *r);
    if (m == "POST") return create(c, *r);
    return error(405, "", "method not allowed (allowed: GET, POST)");
  }
  auto d = load(c, *r, rest[0]);
  if (!d) return d.error();
  if (rest.size() == 1) return m == "GET" ? details(c, *r, *d) : error(405, "", "method not allowed (allowed: GET)");
  if (m != "POST") return error(405, "", "method not allowed (allowed: POST)");
  if (!c.token || !c.token->write) return error(c.token ? 403 : 401, "", "a write token is required");
  auto j = json_body(c);
  if (!j) return j.error();
  std::string action(rest[1]);
  const std::string num = "#" + std::to_string(d->num);
  if (rest.size() == 2 && action == "comment") {
    std::string text = j->contains("comment") && (*j)["comment"].is_string() ? (*j)["comment"].get<std::string>() : "";
    if (text.empty()) return error(400, "", "comment: expected {\"comment\": ...}");
    auto ev = new_event(c, "comment", comment_data(text));
    if (auto u = c.hub.catalog.update_discussion(r->key, *d, ev); !u) return error_from(u.error());
    audit_write(c, id, "comment_discussion", "", num);
    return json_reply(200, {{"newMessage", event_json(ev)}});
  }
  if (rest.size() == 2 && action == "status") {
    if (!may_write(c, id) && d->author != user_of(c)) return error(403, "", "only the author or a writer may change the status");
    std::string status = j->value("status", std::string());
    if (status != "open" && status != "closed") return error(400, "", "status must be 'open' or 'closed'");
    if (d->status == "merged") return error(400, "", "Pull request " + num + " is merged");
    if (d->status == status) return error(400, "", "Discussion " + num + " is already " + status);
    if (j->contains("comment") && (*j)["comment"].is_string() && !(*j)["comment"].get<std::string>().empty())
      (void)c.hub.catalog.update_discussion(r->key, *d, new_event(c, "comment", comment_data((*j)["comment"].get<std::string>())));
    d->status = status;
    auto ev = new_event(c, "status-change", {{"status", status}});
    if (auto u = c.hub.catalog.update_discussion(r->key, *d, ev); !u) return error_from(u.error());
    audit_write(c, id, "change_discussion_status", "", num + " " + status);
    return json_reply(200, {{"newStatus", event_json(ev)}});
  }
  if (rest.size() == 2 && action == "title") {
    if (!may_write(c, id) && d->author != user_of(c)) return error(403, "", "only the author or a writer may rename");
    std::string title = j->value("title", std::string());
    if (title.size() < 3 || title.size() > 200) return error(400, "", "title must be 3 to 200 characters");
    auto ev = new_event(c, "title-change", {{"from", d->title}, {"to", title}});
    d->title = title;
    if (auto u = c.hub.catalog.update_discussion(r->key, *d, ev); !u) return error_from(u.error());
    audit_write(c, id, "rename_discussion", "", num);
    return json_reply(200, {{"newTitle", event_json(ev)}});
  }
  if (rest.size() == 2 && action == "merge") return merge(c, *r, *d, *j);
  if (rest.size() == 4 && action == "comment" && (rest[3] == "edit" || rest[3] == "hide")) {
    auto events = c.hub.catalog.list_events(r->key, d->num);
    if (!events) return error_from(events.error());
    std::string eid(rest[2]);
    for (auto& ch : eid) ch = char(std::tolower(static_cast<unsigned char>(ch)));
    for (auto ev : *events) {
      if (ev.id != eid || ev.type != "comment") continue;
      json data = json::parse(ev.data, nullptr, false);
      if (!data.is_object()) data = comment_data("");
      if (rest[3] == "edit") {
        if (ev.author != user_of(c)) return error(403, "", "only the author may edit a comment");
        std::string content = j->value("content", std::string());
        if (content.empty()) return error(400, "", "edit: expected {\"content\": ...}");
        json hist = data.contains("history") && data["history"].is_array() ? data["history"] : json::array();
        hist.push_back({{"raw", data.value("raw", std::string())}});
        data["history"] = hist;
        data["raw"] = content;
        data["edited"] = true;
        data["updatedAt"] = repo::iso_date(std::int64_t(std::time(nullptr)));
      } else {
        if (!may_write(c, id)) return error(403, "", "only a writer may hide a comment");
        data["hidden"] = true;
      }
      ev.data = data.dump();
      if (auto u = c.hub.catalog.replace_event(r->key, d->num, ev); !u) return error_from(u.error());
      audit_write(c, id, rest[3] == "edit" ? "edit_discussion_comment" : "hide_discussion_comment", "", num + " " + eid);
      return json_reply(200, {{"updatedComment", event_json(ev)}});
    }
    return error(404, "", "no comment " + eid.substr(0, 64) + " in discussion " + num);
  }
  return error(404, "", "no such API endpoint");
}

}  // namespace hubgate::hub
