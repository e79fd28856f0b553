// Upload side of the Hub API: repo creation, preupload, the LFS batch API (basic transfer with
// HMAC-signed, expiring PUT URLs), the signed PUT itself, and NDJSON commits.
//
// An LFS PUT body arrives already hashed by the server (spooled to a temp file in the store's
// scratch folder when large); it is accepted only when its size and sha256 equal the signed
// oid/size, and then adopted into the store by rename — never copied, never partially visible.
// A commit reads its NDJSON body line by line, stores inline files, checks that every lfsFile
// names a stored object of the stated size, and hands the operations to the catalog, which
// applies them atomically against the branch head (parentCommit mismatch -> 412).
#include <algorithm>
#include <ctime>

#include "cas/cas.hpp"
#include "cas/hot_copies.hpp"
#include "crypto/sha.hpp"
#include "hub/context.hpp"
#include "http/url.hpp"
#include "repo/git.hpp"
#include "util/atomic_file.hpp"
#include "util/base64.hpp"
#include "util/hex.hpp"
#include "util/parse.hpp"

namespace hubgate::hub {

namespace {

bool truthy(const std::string& v) { return parse_bool(v).value_or(false); }

// Valid UTF-8 (an incomplete sequence at the very end is tolerated: samples are cut at 512).
bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    unsigned char c = (unsigned char)s[i];
    std::size_t n = c < 0x80 ? 0 : (c >> 5) == 6 ? 1 : (c >> 4) == 14 ? 2 : (c >> 3) == 30 ? 3 : 99;
    if (n == 99) return false;
    for (std::size_t k = 1; k <= n; ++k) {
      if (i + k >= s.size()) return true;
      if (((unsigned char)s[i + k] >> 6) != 2) return false;
    }
    i += n + 1;
  }
  return true;
}

std::vector<std::string> lfs_patterns(std::string_view attrs) {
  std::vector<std::string> out;
  while (!attrs.empty()) {
    auto nl = attrs.find('\n');
    std::string_view line = attrs.substr(0, nl);
    attrs = nl == std::string_view::npos ? std::string_view{} : attrs.substr(nl + 1);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (line.empty() || line.front() == '#') continue;
    auto sp = line.find_first_of(" \t");
    if (sp == std::string_view::npos) continue;
    std::string_view rest = line.substr(sp);
    if (rest.find(" filter=lfs") != std::string_view::npos || rest.find("\tfilter=lfs") != std::string_view::npos) {
      out.emplace_back(line.substr(0, sp));
    }
  }
  return out;
}

bool matches_lfs(const std::vector<std::string>& patterns, std::string_view path) {
  std::string_view base = path.substr(path.rfind('/') == std::string_view::npos ? 0 : path.rfind('/') + 1);
  for (std::string_view p : patterns) {
    if (!p.empty() && p.front() == '/') p.remove_prefix(1);
    if (p.find('/') == std::string_view::npos ? auth::glob_match(p, base) : auth::glob_match(p, path)) return true;
  }
  return false;
}

std::string repo_url(const Ctx& c, const repo::RepoId& id) { return c.base_url + "/" + id.url_prefix() + id.full(); }

}  // namespace

Result<void> validate_ref_name(std::string_view b) {
  if (b.empty() || b.size() > 255) return fail(Errc::invalid_argument, "invalid branch name: must be 1..255 bytes");
  if (b.front() == '/' || b.back() == '/' || b.find("..") != std::string_view::npos || b.find("//") != std::string_view::npos ||
      b.ends_with(".lock")) {
    return fail(Errc::invalid_argument, "invalid branch name '" + std::string(b) + "'");
  }
  for (unsigned char ch : b) {
    if (ch < 0x21 || ch == 0x7f || ch == '~' || ch == '^' || ch == ':' || ch == '?' || ch == '*' || ch == '[' ||
        ch == '\\') {
      return fail(Errc::invalid_argument, "invalid character in branch name '" + std::string(b) + "'");
    }
  }
  return {};
}

http::Response create_repo(Ctx& c) {
  auto body = c.req.body.read_all(c.hub.opts.max_json_body);
  if (!body) return error_from(body.error());
  json j = json::parse(*body);
  if (!j.is_object() || !j.contains("name") || !j["name"].is_string()) {
    return error(400, "", "create: expected a JSON object with a string 'name'");
  }
  std::string name = j["name"].get<std::string>();
  std::string ns;
  if (j.contains("organization") && j["organization"].is_string()) ns = j["organization"].get<std::string>();
  if (ns.empty() && name.find('/') != std::string::npos) {
    ns = name.substr(0, name.find('/'));
    name = name.substr(name.find('/') + 1);
  }
  if (ns.empty() && c.token) ns = c.token->name;
  repo::RepoType type = repo::RepoType::model;
  if (j.contains("type") && j["type"].is_string()) {
    auto t = repo::type_from_name(j["type"].get<std::string>());
    if (!t) return error(400, "", "create: unknown repository type '" + j["type"].get<std::string>() + "'");
    type = *t;
  }
  bool is_private = false;
  if (j.contains("private") && j["private"].is_boolean()) is_private = j["private"].get<bool>();
  if (j.contains("visibility") && j["visibility"].is_string()) is_private = j["visibility"] == "private";
  auto id = repo::make_repo_id(type, ns, name);
  if (!id) return error(400, "", id.error().message);
  if (!c.token) return error(401, "", "a write token is required to create " + id->qualified());
  if (!auth::can_write(c.tok(), id->qualified())) {
    return error(403, "", "token '" + c.token->name + "' may not create " + id->qualified());
  }
  auto rec = create_repo_initial(c.hub, *id, is_private, author_of(c.tok()));
  if (!rec) {
    if (rec.error().code == Errc::already_exists) {
      auto e = error(409, "", "You already created this " + std::string(repo::type_name(type)) + " repo");
      json body409 = {{"error", "You already created this " + std::string(repo::type_name(type)) + " repo"},
                      {"url", repo_url(c, *id)}};
      e.body = body409.dump();
      return e;
    }
    return error_from(rec.error());
  }
  audit_write(c, *id, "create_repo", "", is_private ? "private" : "public");
  return json_reply(200, {{"url", repo_url(c, *id)}, {"id", id->full()}, {"name", id->full()}});
}

http::Response preupload(Ctx& c, const repo::RepoId& id, std::string_view raw_rev) {
  auto r = open_repo(c, id, Need::write);
  if (!r) return r.error();
  auto rev = http::percent_decode(raw_rev);
  if (!rev) return error(400, "", rev.error().message);
  auto commit = c.hub.catalog.resolve(r->key, *rev);
  if (!commit) return error_from(commit.error());
  if (!*commit) {
    commit = c.hub.catalog.resolve(r->key, "main");  // a new branch starts from main
    if (!commit) return error_from(commit.error());
  }
  std::shared_ptr<const repo::Snapshot> snap;
  if (*commit) {
    auto s = load_snapshot(c, *r, **commit);
    if (!s) return s.error();
    snap = *s;
  }
  auto body = c.req.body.read_all(c.hub.opts.max_json_body);
  if (!body) return error_from(body.error());
  json j = json::parse(*body);
  if (!j.is_object() || !j.contains("files") || !j["files"].is_array()) {
    return error(400, "", "preupload: expected {\"files\": [...]}");
  }
  std::string attrs;
  if (j.contains("gitAttributes") && j["gitAttributes"].is_string()) {
    attrs = j["gitAttributes"].get<std::string>();
  } else if (snap) {
    if (const auto* ga = snap->find(".gitattributes"); ga && ga->size < (1 << 20)) {
      if (auto b = c.hub.store.open(ga->sha256)) {
        if (b->data) {
          attrs = *b->data;
        } else if (auto text = read_file(b->path)) {
          attrs = *text;
        }
      }
    }
  }
  auto patterns = lfs_patterns(attrs);
  json out = json::array();
  for (const auto& f : j["files"]) {
    std::string path = f.at("path").get<std::string>();
    if (auto v = repo::validate_path(path); !v) return error(400, "", v.error().message);
    std::uint64_t size = f.contains("size") && f["size"].is_number_unsigned() ? f["size"].get<std::uint64_t>() : 0;
    std::string sample;
    if (f.contains("sample") && f["sample"].is_string()) {
      auto s = base64_decode(f["sample"].get<std::string>());
      if (!s) return error(400, "", "preupload: sample of " + path + ": " + s.error().message);
      sample = std::move(*s);
    }
    bool lfs = false;
    if (size > 0) {
      lfs = matches_lfs(patterns, path) || size > c.hub.opts.lfs_threshold ||
            sample.find('\0') != std::string::npos || !valid_utf8(sample);
    }
    json e = {{"path", path}, {"uploadMode", lfs ? "lfs" : "regular"}, {"shouldIgnore", false}};
    if (snap) {
      if (const auto* existing = snap->find(path)) e["oid"] = existing->blob_sha1;
    }
    out.push_back(std::move(e));
  }
  return json_reply(200, {{"files", out}});
}

http::Response lfs_batch(Ctx& c, const repo::RepoId& id) {
  auto body = c.req.body.read_all(c.hub.opts.max_json_body);
  if (!body) return error_from(body.error());
  json j = json::parse(*body);
  if (!j.is_object() || !j.contains("objects") || !j["objects"].is_array()) {
    return error(400, "", "LFS batch: expected {\"operation\", \"objects\": [...]}");
  }
  std::string op = j.value("operation", std::string("download"));
  auto r = open_repo(c, id, op == "upload" ? Need::write : Need::read);
  if (!r) return r.error();
  if (op != "upload") return error(501, "", "LFS batch: only the 'upload' operation is supported");
  if (j["objects"].size() > 10000) return error(400, "", "LFS batch: too many objects (max 10000)");
  if (c.hub.opts.xet && j.contains("transfers") && j["transfers"].is_array() &&
      std::find(j["transfers"].begin(), j["transfers"].end(), "xet") != j["transfers"].end()) {
    std::string ref = "main";  // HJ omits ref for pull requests
    if (j.contains("ref") && j["ref"].is_object() && j["ref"].contains("name") && j["ref"]["name"].is_string())
      ref = j["ref"]["name"].get<std::string>();
    return lfs_batch_xet(c, *r, j["objects"], ref);
  }
  std::int64_t exp = std::int64_t(std::time(nullptr)) + c.hub.opts.upload_url_ttl_s;
  json objects = json::array();
  for (const auto& o : j["objects"]) {
    std::string oid = o.contains("oid") && o["oid"].is_string() ? o["oid"].get<std::string>() : "";
    bool size_ok = o.contains("size") && o["size"].is_number_unsigned();
    std::uint64_t size = size_ok ? o["size"].get<std::uint64_t>() : 0;
    if (!is_lower_hex(oid, 64) || !size_ok) {
      objects.push_back({{"oid", oid},
                         {"size", size},
                         {"error", {{"code", 422}, {"message", "oid must be 64 lowercase hex and size an integer"}}}});
      continue;
    }
    auto have = pin_blob(c.hub, oid);  // kept from now on, even if a deleted repository named it
    if (!have) return error_from(have.error());
    auto rec = c.hub.opts.xet ? c.hub.opts.xet->file_for_sha256(oid) : std::nullopt;  // copy evicted (hot copies)
    if ((*have && **have == size) || (rec && rec->size == size)) {
      objects.push_back({{"oid", oid}, {"size", size}});
      continue;
    }
    // The repository is part of the signed payload: its gate policy applies to the PUT.
    std::string payload = "lfs-upload:" + oid + ":" + std::to_string(size) + ":" + id.qualified();
    std::string href = c.base_url + "/api/lfs/upload/" + oid + "/" + std::to_string(size) +
                       "?exp=" + std::to_string(exp) + "&" + lfs_upload_repo_param(id) + "sig=" +
                       c.hub.signer.sign(payload, exp);
    objects.push_back({{"oid", oid},
                       {"size", size},
                       {"authenticated", true},
                       {"actions", {{"upload", {{"href", href}, {"expires_in", c.hub.opts.upload_url_ttl_s}}}}}});
  }
  auto res = json_reply(200, {{"transfer", "basic"}, {"objects", objects}, {"hash_algo", "sha256"}});
  res.headers.set("Content-Type", "application/vnd.git-lfs+json");
  return res;
}

http::Response lfs_upload(Ctx& c, std::string_view oid_sv, std::string_view size_sv) {
  std::string oid(oid_sv);
  auto size = parse_u64(size_sv);
  auto exp = parse_u64(http::query_get(c.query, "exp"));
  std::string sig = http::query_get(c.query, "sig");
  if (!is_lower_hex(oid, 64) || !size || !exp) return error(400, "", "malformed LFS upload URL");
  auto ok = c.hub.signer.verify("lfs-upload:" + oid + ":" + std::to_string(*size) + ":" + http::query_get(c.query, "repo"),
                                std::int64_t(*exp), sig,
                                std::int64_t(std::time(nullptr)));
  if (!ok) return error(403, "", "LFS upload URL rejected: " + ok.error().message);
  const auto& b = c.req.body;
  if (b.size != *size) {
    return error(400, "", "LFS upload: received " + std::to_string(b.size) + " bytes, expected " + std::to_string(*size));
  }
  if (b.sha256 != oid) {
    return error(400, "", "LFS upload: content sha256 " + b.sha256 + " does not match oid " + oid);
  }
  if (auto refused = gate_upload(c, oid)) return std::move(*refused);  // security gate, before the store
  (void)pin_blob(c.hub, oid);  // the commit that names it follows
  Result<void> stored;
  if (b.in_file()) {
    stored = c.hub.store.adopt(b.file, oid, *size, store::Verify::no);
  } else {
    auto d = c.hub.store.put(b.data);
    if (!d) stored = fail(d.error());
  }
  if (!stored) {
    if (stored.error().code == Errc::unavailable)
      return error(503, "StoreUnavailable", "LFS upload: cannot store object: " + stored.error().message);
    return error(500, "", "LFS upload: cannot store object: " + stored.error().message);
  }
  return json_reply(200, json::object());
}

http::Response commit(Ctx& c, const repo::RepoId& id, std::string_view raw_rev) {
  auto r = open_repo(c, id, Need::write);
  if (!r) return r.error();
  auto rev = http::percent_decode(raw_rev);
  if (!rev) return error(400, "", rev.error().message);
  bool create_pr = truthy(http::query_get(c.query, "create_pr"));
  std::string branch = *rev == "HEAD" ? "main" : *rev;
  if (branch.starts_with("refs/heads/")) branch = branch.substr(11);
  if (auto v = validate_ref_name(branch); !v) return error(400, "", v.error().message);
  auto refs = c.hub.catalog.list_refs(r->key);
  if (!refs) return error_from(refs.error());
  bool is_ref = false;
  for (const auto& ref : *refs) {
    if (ref.name != branch) continue;
    if (ref.kind == repo::RefKind::tag) return error(400, "", "cannot commit to tag '" + branch + "'");
    is_ref = true;
  }
  if (create_pr && !is_ref) {  // a pull request targets an existing branch
    return error(404, "RevisionNotFound", "Invalid rev id: " + branch.substr(0, 200) + " is not a branch");
  }
  if (!is_ref && (repo::is_commit_prefix(branch) && branch.size() == 40)) {
    return error(400, "", "can only commit to a branch, not to commit " + branch);
  }
  if (!is_ref && branch.starts_with("refs/")) return error(404, "RevisionNotFound", "Invalid rev id: " + branch);

  auto body = c.req.body.read_all(c.hub.opts.max_commit_body);
  if (!body) return error_from(body.error());

  // Current head, for oldPath copies.
  std::shared_ptr<const repo::Snapshot> head;
  if (auto h = c.hub.catalog.resolve(r->key, is_ref ? branch : std::string("main")); h && *h) {
    auto s = load_snapshot(c, *r, **h);
    if (!s) return s.error();
    head = *s;
  }

  repo::NewCommit nc;
  nc.branch = branch;
  nc.create_pr = create_pr;
  nc.pr_author = user_of(c);
  nc.meta.author = author_of(c.tok());
  nc.meta.time = std::int64_t(std::time(nullptr));
  bool saw_header = false;
  std::vector<std::string> pinned;  // blobs this commit names (pins dropped once it is recorded)
  std::string_view rest = *body;
  std::size_t line_no = 0;
  while (!rest.empty()) {
    auto nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
    ++line_no;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    if (line.empty()) continue;
    json j = json::parse(line, nullptr, false);
    std::string where = "commit line " + std::to_string(line_no);
    if (j.is_discarded() || !j.is_object() || !j.contains("key") || !j["key"].is_string() || !j.contains("value") ||
        !j["value"].is_object()) {
      return error(400, "", where + ": expected {\"key\": ..., \"value\": {...}}");
    }
    std::string key = j["key"].get<std::string>();
    const json& v = j["value"];
    if (key == "header") {
      saw_header = true;
      nc.meta.title = v.value("summary", std::string());
      nc.meta.description = v.value("description", std::string());
      if (v.contains("parentCommit") && v["parentCommit"].is_string()) nc.expected_parent = v["parentCommit"].get<std::string>();
      continue;
    }
    std::string path = v.contains("path") && v["path"].is_string() ? v["path"].get<std::string>() : "";
    if (key == "deletedFolder") {
      while (!path.empty() && path.back() == '/') path.pop_back();
    }
    if (auto pv = repo::validate_path(path); !pv) return error(400, "", where + ": " + pv.error().message);
    std::string old_path = v.contains("oldPath") && v["oldPath"].is_string() ? v["oldPath"].get<std::string>() : "";
    if (key == "file" || key == "lfsFile") {
      if (!old_path.empty()) {
        if (auto pv = repo::validate_path(old_path); !pv) return error(400, "", where + ": " + pv.error().message);
        const repo::FileEntry* src = head ? head->find(old_path) : nullptr;
        if (!src) {
          return error(404, "EntryNotFound", where + ": copy source '" + old_path + "' does not exist");
        }
        repo::FileOp op;
        op.entry = *src;
        op.entry.path = path;
        op.entry.last_commit.clear();
        nc.ops.push_back(std::move(op));
        continue;
      }
    }
    if (key == "file") {
      std::string enc = v.value("encoding", std::string("base64"));
      if (!v.contains("content") || !v["content"].is_string()) return error(400, "", where + ": file without content");
      std::string content;
      if (enc == "base64") {
        auto d = base64_decode(v["content"].get<std::string>());
        if (!d) return error(400, "", where + ": " + d.error().message);
        content = std::move(*d);
      } else if (enc == "utf-8" || enc == "utf8") {
        content = v["content"].get<std::string>();
      } else {
        return error(400, "", where + ": unknown encoding '" + enc + "'");
      }
      const std::string content_sha = crypto::sha256_hex(content);
      if (auto refused = gate_commit_file(c, *r, branch, path, content_sha, &content)) {
        return std::move(*refused);  // security gate: nothing stored, no commit
      }
      (void)pin_blob(c.hub, content_sha);  // not released before the commit names it
      pinned.push_back(content_sha);
      auto sha = c.hub.store.put(content);
      if (!sha) return error(500, "", where + ": cannot store file: " + sha.error().message);
      nc.ops.push_back(repo::put_op(path, content.size(), *sha, crypto::git_blob_sha1_hex(content), false));
    } else if (key == "lfsFile") {
      std::string algo = v.value("algo", std::string("sha256"));
      std::string oid = v.contains("oid") && v["oid"].is_string() ? v["oid"].get<std::string>() : "";
      if (algo != "sha256" || !is_lower_hex(oid, 64)) return error(400, "", where + ": lfsFile needs a sha256 oid");
      auto have = pin_blob(c.hub, oid);  // not released before the commit names it
      if (!have) return error(500, "", have.error().message);
      pinned.push_back(oid);
      if (c.hub.opts.xet) {
        // The committed object's bytes become final here: both its sha256 blob and its Xet
        // representation exist afterwards (cas::Service::finalize_lfs_object; gate hook point).
        std::optional<std::uint64_t> size;
        if (v.contains("size") && v["size"].is_number_unsigned()) size = v["size"].get<std::uint64_t>();
        auto fin = c.hub.opts.xet->finalize_lfs_object(id.qualified(), oid, c.hub.store, size);
        if (!fin && fin.error().code != Errc::not_found) return error(500, "", where + ": " + fin.error().message);
        if (fin) have = std::optional<std::uint64_t>(*fin);
      }
      if (!*have) {
        return error(400, "", where + ": LFS object " + oid + " for '" + path + "' was never uploaded");
      }
      if (v.contains("size") && !v["size"].is_null()) {
        if (!v["size"].is_number_unsigned() || v["size"].get<std::uint64_t>() != **have) {
          return error(400, "", where + ": size of '" + path + "' does not match the uploaded object (" +
                                    std::to_string(**have) + " bytes)");
        }
      }
      auto refused = gate_commit_file(c, *r, branch, path, oid, nullptr);  // security gate
      if (c.hub.opts.hot) c.hub.opts.hot->admit(oid);  // the copy is now a cache entry (budget)
      if (refused) return std::move(*refused);
      nc.ops.push_back(repo::put_op(path, **have, oid, "", true));
    } else if (key == "deletedFile") {
      repo::FileOp op;
      op.kind = repo::FileOp::Kind::delete_file;
      op.path = path;
      nc.ops.push_back(std::move(op));
    } else if (key == "deletedFolder") {
      repo::FileOp op;
      op.kind = repo::FileOp::Kind::delete_folder;
      op.path = path;
      nc.ops.push_back(std::move(op));
    } else {
      return error(400, "", where + ": unknown key '" + key + "'");
    }
  }
  if (!saw_header) return error(400, "", "commit: missing header line");
  if (nc.meta.title.empty()) nc.meta.title = "Upload with hubgate";
  if (nc.meta.title.size() > 4096 || nc.meta.description.size() > 65536) {
    return error(400, "", "commit: summary or description too long");
  }
  auto res = c.hub.catalog.commit(r->key, nc);
  if (!res) return error_from(res.error());
  unpin_blobs(c.hub, pinned);  // the catalog names them now
  audit_write(c, id, res->pr_number > 0 ? "create_pr" : "commit",
              res->pr_number > 0 ? "refs/pr/" + std::to_string(res->pr_number) : branch,
              res->commit + " " + nc.meta.title);
  // commitUrl is relative ("{p}{ns}/{name}/commit/{sha}"): huggingface_hub parses it with
  // RepoUrl() *without* the endpoint, which accepts only huggingface.co URLs or bare ids, so an
  // absolute self-hosted URL breaks every create_commit unless HF_ENDPOINT is also set.
  json out = {{"commitOid", res->commit},
              {"commitUrl", id.url_prefix() + id.full() + "/commit/" + res->commit},
              {"hookOutput", ""},
              {"commitMessage", nc.meta.title}};
  if (res->pr_number > 0) out["pullRequestUrl"] = repo_url(c, id) + "/discussions/" + std::to_string(res->pr_number);
  return json_reply(200, out);
}

}  // namespace hubgate::hub
