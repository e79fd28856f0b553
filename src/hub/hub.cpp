// Hub request dispatch. The raw (still percent-encoded) path is split on '/': repository
// namespace and name are single raw segments (decoded and validated individually); everything
// after a route keyword (resolve, tree, revision, …) is handed to the handler raw, which
// decodes it and applies the longest-revision-prefix rule (spec §0). Authentication happens
// once here: a Bearer token that is unknown is refused with 401 before any routing.
#include <ctime>

#include "cas/cas.hpp"
#include "cas/hot_copies.hpp"
#include "hub/context.hpp"
#include "http/url.hpp"
#include "crypto/sha.hpp"

namespace hubgate::hub {

namespace {

std::string header_safe(std::string s) {
  for (auto& ch : s)
    if (static_cast<unsigned char>(ch) < 0x20 || static_cast<unsigned char>(ch) >= 0x7f) ch = ' ';
  if (s.size() > 1000) s.resize(1000);
  return s;
}

std::string join(const std::vector<std::string_view>& segs, std::size_t from) {
  std::string out;
  for (std::size_t i = from; i < segs.size(); ++i) {
    if (i > from) out += '/';
    out += segs[i];
  }
  return out;
}

void add_cors(http::Response& r) {
  r.headers.set("Access-Control-Allow-Origin", "*");
  r.headers.set("Access-Control-Expose-Headers",
                "Content-Range, Content-Length, ETag, X-Linked-Etag, X-Linked-Size, X-Repo-Commit, X-Xet-Hash, "
                "Link, X-Error-Code, X-Error-Message, X-Request-Id, Accept-Ranges");
}

std::string base_url_for(const HubOptions& o, const http::Request& req) {
  if (!o.public_url.empty()) return o.public_url;
  std::string host(req.headers.get("Host").value_or("localhost"));
  bool ok = !host.empty() && host.size() < 256;
  for (char ch : host) {
    bool good = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
                ch == '-' || ch == ':' || ch == '[' || ch == ']';
    if (!good) ok = false;
  }
  return "http://" + (ok ? host : std::string("localhost"));
}

Reply<repo::RepoId> repo_from(repo::RepoType t, std::string_view raw_ns, std::string_view raw_name) {
  auto ns = http::percent_decode(raw_ns);
  auto name = http::percent_decode(raw_name);
  if (!ns || !name) return std::unexpected(error(400, "", (!ns ? ns.error() : name.error()).message));
  auto id = repo::make_repo_id(t, *ns, *name);
  if (!id) return std::unexpected(error(400, "", id.error().message));
  return *id;
}

http::Response method_not_allowed(std::string_view allowed) {
  auto r = error(405, "", "method not allowed (allowed: " + std::string(allowed) + ")");
  r.headers.set("Allow", std::string(allowed));
  return r;
}

http::Response whoami(Ctx& c) {
  if (!c.token) {
    auto r = error(401, "", "Invalid credentials in Authorization header");
    return r;
  }
  json j = {{"type", "user"},
            {"id", c.token->name},
            {"name", c.token->name},
            {"fullname", c.token->name},
            {"isPro", false},
            {"orgs", json::array()},
            {"auth",
             {{"type", "access_token"},
              {"accessToken", {{"displayName", c.token->name}, {"role", c.token->write ? "write" : "read"}}}}}};
  return json_reply(200, j);
}

// A hosted repository that was moved (POST /api/repos/move): its old id answers 307 with a
// path-only Location to the same route under the new id, query kept, so clients keep the method,
// the body and (same origin) the Authorization header. `route_prefix` is "/api/models/" or
// "/datasets/"...; `rest` the raw path after the repository name ("" or "/...").
std::optional<http::Response> moved(Ctx& c, const repo::RepoId& id, std::string_view route_prefix,
                                    std::string_view rest) {
  auto to = c.hub.catalog.find_moved(id);
  if (!to || !*to) return std::nullopt;
  std::string loc = std::string(route_prefix) + http::percent_encode((*to)->ns, false) + "/" +
                    http::percent_encode((*to)->name, false) + std::string(rest);
  if (!c.req.query.empty()) loc += "?" + c.req.query;
  auto r = error(307, "", "Repository " + id.qualified() + " moved to " + (*to)->qualified());
  r.headers.set("Location", loc);
  return r;
}

// Single-segment ids ("gpt2", "bert-base-uncased") are the Hub's canonical names: it answers
// them, like renamed repositories, with a 307 to the current "ns/name". Repositories hosted here
// always have a namespace, so such an id is the upstream's to answer (the edge learns and
// forwards the redirect); a hub without an upstream has no such repository.
//
// `/api/{type}/{a}` and `/api/{type}/{a}/{op}/…` with a route keyword as {op} — unless the
// two-segment reading (`{a}/{op}` as ns/name followed by a route keyword) is also a route.
bool is_api_route_keyword(std::string_view s) {
  return s == "revision" || s == "tree" || s == "paths-info" || s == "xet-read-token";
}
bool is_single_segment_api(const std::vector<std::string_view>& segs) {
  if (segs.size() == 2) return !segs[1].empty();
  if (segs.size() < 4 || !is_api_route_keyword(segs[2])) return false;
  for (std::string_view op : {"refs", "commit", "preupload", "branch", "tag", "commits", "super-squash", "settings",
                              "user-access-request", "ask-access", "discussions", "xet-write-token", "like", "likers"})
    if (segs[3] == op) return false;  // "{ns}/{name}" with a repository route: the two-segment reading
  return !is_api_route_keyword(segs[3]);
}
http::Response single_segment(Ctx& c, repo::RepoType t, std::string_view raw_name, std::string_view route,
                              std::string rest) {
  auto name = http::percent_decode(raw_name);
  if (!name) return error(400, "", name.error().message);
  if (auto v = repo::validate_repo_segment(*name, "repository name"); !v) return error(400, "", v.error().message);
  if (!c.hub.opts.remote)
    return error(c.token ? 404 : 401, "RepoNotFound", "Repository not found: " + *name);
  if (route == "paths_info" ? c.req.method != "POST" : (c.req.method != "GET" && c.req.method != "HEAD"))
    return method_not_allowed(route == "paths_info" ? "POST" : "GET, HEAD");
  repo::RepoId plural{t, "", ""};  // only for the type's URL plural
  return c.hub.opts.remote(route, c.req, plural.api_plural(), *name, rest, c.base_url);
}

// Routes /api/...; `segs` excludes the leading "api".
http::Response route_api(Ctx& c, const std::vector<std::string_view>& segs, std::string& route) {
  const auto& m = c.req.method;
  if (segs.size() == 1 && segs[0] == "whoami-v2") {
    route = "whoami";
    return m == "GET" ? whoami(c) : method_not_allowed("GET");
  }
  if (segs.size() == 2 && segs[0] == "repos" && segs[1] == "create") {
    route = "create";
    return m == "POST" ? create_repo(c) : method_not_allowed("POST");
  }
  if (segs.size() == 1 && segs[0] == "validate-yaml") {
    // HH validates README.md front matter before committing it; hubgate accepts any card.
    route = "validate_yaml";
    return m == "POST" ? json_reply(200, {{"errors", json::array()}, {"warnings", json::array()}})
                       : method_not_allowed("POST");
  }
  if (segs.size() == 2 && segs[0] == "admin" && segs[1] == "audit") {
    route = "admin_audit";  // security gate decisions (hub/gate_hooks.cpp)
    return m == "GET" ? admin_audit(c) : method_not_allowed("GET");
  }
  if (segs.size() == 3 && segs[0] == "users" && segs[2] == "likes") {
    route = "user_likes";
    return m == "GET" ? user_likes(c, segs[1]) : method_not_allowed("GET");
  }
  if (segs.size() == 2 && segs[0] == "repos" && segs[1] == "move") {
    route = "move";
    return m == "POST" ? move_repo(c) : method_not_allowed("POST");
  }
  if (segs.size() == 2 && segs[0] == "repos" && segs[1] == "delete") {
    route = "delete";
    return m == "DELETE" ? delete_repo(c) : method_not_allowed("DELETE");
  }
  if (segs.size() == 1 && repo::type_from_plural(segs[0])) {
    route = "list";
    return m == "GET" ? list_repos(c, *repo::type_from_plural(segs[0])) : method_not_allowed("GET");
  }
  if (segs.size() == 4 && segs[0] == "lfs" && segs[1] == "upload") {
    route = "lfs_upload";
    return m == "PUT" ? lfs_upload(c, segs[2], segs[3]) : method_not_allowed("PUT");
  }
  auto type = segs.empty() ? std::nullopt : repo::type_from_plural(segs[0]);
  if (type && is_single_segment_api(segs)) {
    // "/api/models/gpt2[/revision/main]": a canonical (namespace-less) id.
    std::string_view op = segs.size() >= 3 ? segs[2] : std::string_view{};
    route = op.empty() || op == "revision" ? "info" : op == "paths-info" ? "paths_info" : op == "tree" ? "tree" : "xet_read_token";
    return single_segment(c, *type, segs[1], route, join(segs, 3));
  }
  if (!type || segs.size() < 3) return error(404, "", "no such API endpoint");
  auto id = repo_from(*type, segs[1], segs[2]);
  if (!id) return id.error();
  if (auto found = c.hub.catalog.find_repo(*id); found && !*found) {
    // Hosted-repository path: a moved repository redirects before pull-through is asked.
    if (auto mv = moved(c, *id, "/api/" + std::string(segs[0]) + "/", segs.size() > 3 ? "/" + join(segs, 3) : ""))
      return std::move(*mv);
  }
  const bool rem = is_remote(c, *id);  // pull-through
  if (segs.size() == 3) {
    route = "info";
    if (rem && (m == "GET" || m == "HEAD")) return remote(c, "info", *id, "");
    return m == "GET" || m == "HEAD" ? repo_info(c, *id, "") : method_not_allowed("GET");
  }
  std::string_view op = segs[3];
  std::string rest = join(segs, 4);
  if (op == "revision" && segs.size() >= 5) {
    route = "info";
    if (rem && (m == "GET" || m == "HEAD")) return remote(c, "info", *id, rest);
    return m == "GET" || m == "HEAD" ? repo_info(c, *id, rest) : method_not_allowed("GET");
  }
  if (op == "tree" && segs.size() >= 5) {
    route = "tree";
    if (rem && m == "GET") return remote(c, "tree", *id, rest);
    return m == "GET" ? tree(c, *id, rest) : method_not_allowed("GET");
  }
  if (op == "paths-info" && segs.size() >= 5) {
    route = "paths_info";
    if (rem && m == "POST") return remote(c, "paths_info", *id, rest);
    return m == "POST" ? paths_info(c, *id, rest) : method_not_allowed("POST");
  }
  if (op == "preupload" && segs.size() >= 5) {
    route = "preupload";
    return m == "POST" ? preupload(c, *id, rest) : method_not_allowed("POST");
  }
  if (op == "commit" && segs.size() >= 5) {
    route = "commit";
    return m == "POST" ? commit(c, *id, rest) : method_not_allowed("POST");
  }
  if ((op == "xet-read-token" || op == "xet-write-token") && segs.size() >= 5) {
    route = "xet_token";
    if (rem && m == "GET" && op == "xet-read-token") return remote(c, "xet_read_token", *id, rest);  // pull-through
    return m == "GET" ? xet_token(c, *id, rest, op == "xet-write-token") : method_not_allowed("GET");
  }
  if (op == "refs" && segs.size() == 4) {
    route = "refs";
    return m == "GET" ? list_refs(c, *id) : method_not_allowed("GET");
  }
  if (op == "branch" && segs.size() >= 5) {
    route = "branch";
    if (m == "POST") return create_branch(c, *id, rest);
    return m == "DELETE" ? delete_branch(c, *id, rest) : method_not_allowed("POST, DELETE");
  }
  if (op == "tag" && segs.size() >= 5) {
    route = "tag";
    if (m == "POST") return create_tag(c, *id, rest);
    return m == "DELETE" ? delete_tag(c, *id, rest) : method_not_allowed("POST, DELETE");
  }
  if (op == "commits" && segs.size() >= 5) {
    route = "commits";
    return m == "GET" ? list_commits(c, *id, rest) : method_not_allowed("GET");
  }
  if (op == "super-squash" && segs.size() >= 5) {
    route = "super_squash";
    return m == "POST" ? super_squash(c, *id, rest) : method_not_allowed("POST");
  }
  if (op == "settings" && segs.size() == 4) {
    route = "settings";
    return m == "PUT" ? repo_settings(c, *id) : method_not_allowed("PUT");
  }
  if (op == "user-access-request" && segs.size() == 5) {
    route = "access_requests";
    return access_requests(c, *id, segs[4]);
  }
  if (op == "ask-access" && segs.size() == 4) {
    route = "ask_access";
    return m == "POST" ? ask_access(c, *id) : method_not_allowed("POST");
  }
  if (op == "like" && segs.size() == 4) {
    route = "like";
    return m == "POST" || m == "DELETE" ? like(c, *id) : method_not_allowed("POST, DELETE");
  }
  if (op == "likers" && segs.size() == 4) {
    route = "likers";
    return m == "GET" ? likers(c, *id) : method_not_allowed("GET");
  }
  if (op == "discussions") {
    route = "discussions";
    return discussions(c, *id, std::vector<std::string_view>(segs.begin() + 4, segs.end()));
  }
  return error(404, "", "no such API endpoint");
}

http::Response route_repo(Ctx& c, std::vector<std::string_view> segs, std::string& route) {
  repo::RepoType type = repo::RepoType::model;
  if (!segs.empty() && (segs[0] == "datasets" || segs[0] == "spaces")) {
    type = segs[0] == "datasets" ? repo::RepoType::dataset : repo::RepoType::space;
    segs.erase(segs.begin());
  }
  if (segs.size() >= 3 && (segs[1] == "resolve" || segs[1] == "raw") && segs[2] != "resolve" && segs[2] != "raw") {
    // "/gpt2/resolve/main/config.json": a canonical (namespace-less) id.
    route = std::string(segs[1]);
    if (c.req.method != "GET" && c.req.method != "HEAD") return method_not_allowed("GET, HEAD");
    return single_segment(c, type, segs[0], route, join(segs, 2));
  }
  if (segs.size() < 3) return error(404, "", "not found");
  std::string_view name = segs[1];
  if (name.ends_with(".git") && segs.size() == 6 && segs[2] == "info" && segs[3] == "lfs" && segs[4] == "objects" &&
      segs[5] == "batch") {
    route = "lfs_batch";
    auto id = repo_from(type, segs[0], name.substr(0, name.size() - 4));
    if (!id) return id.error();
    return c.req.method == "POST" ? lfs_batch(c, *id) : method_not_allowed("POST");
  }
  if ((segs[2] == "resolve" || segs[2] == "raw") && segs.size() >= 4) {
    route = std::string(segs[2]);
    auto id = repo_from(type, segs[0], segs[1]);
    if (!id) return id.error();
    if (c.req.method != "GET" && c.req.method != "HEAD") return method_not_allowed("GET, HEAD");
    if (auto found = c.hub.catalog.find_repo(*id); found && !*found) {  // moved hosted repository
      if (auto mv = moved(c, *id, "/" + id->url_prefix(), "/" + join(segs, 2))) return std::move(*mv);
    }
    if (is_remote(c, *id)) return remote(c, segs[2], *id, join(segs, 3));  // pull-through
    return resolve(c, *id, join(segs, 3), segs[2] == "raw");
  }
  return error(404, "", "not found");
}

}  // namespace

// Pull-through (src/upstream/): true when an upstream is configured and `id` is not hosted
// here (local wins). Only the read routes consult it.
bool is_remote(Ctx& c, const repo::RepoId& id) {
  if (!c.hub.opts.remote) return false;
  auto rec = c.hub.catalog.find_repo(id);
  return rec && !*rec;
}
http::Response remote(Ctx& c, std::string_view route, const repo::RepoId& id, std::string_view rest) {
  return c.hub.opts.remote(route, c.req, id.api_plural(), id.full(), rest, c.base_url);
}

const char* const kDefaultGitattributes =
    "*.7z filter=lfs diff=lfs merge=lfs -text\n"
    "*.arrow filter=lfs diff=lfs merge=lfs -text\n"
    "*.bin filter=lfs diff=lfs merge=lfs -text\n"
    "*.bz2 filter=lfs diff=lfs merge=lfs -text\n"
    "*.ckpt filter=lfs diff=lfs merge=lfs -text\n"
    "*.ftz filter=lfs diff=lfs merge=lfs -text\n"
    "*.gguf filter=lfs diff=lfs merge=lfs -text\n"
    "*.gz filter=lfs diff=lfs merge=lfs -text\n"
    "*.h5 filter=lfs diff=lfs merge=lfs -text\n"
    "*.joblib filter=lfs diff=lfs merge=lfs -text\n"
    "*.lfs.* filter=lfs diff=lfs merge=lfs -text\n"
    "*.mlmodel filter=lfs diff=lfs merge=lfs -text\n"
    "*.model filter=lfs diff=lfs merge=lfs -text\n"
    "*.msgpack filter=lfs diff=lfs merge=lfs -text\n"
    "*.npy filter=lfs diff=lfs merge=lfs -text\n"
    "*.npz filter=lfs diff=lfs merge=lfs -text\n"
    "*.onnx filter=lfs diff=lfs merge=lfs -text\n"
    "*.ot filter=lfs diff=lfs merge=lfs -text\n"
    "*.parquet filter=lfs diff=lfs merge=lfs -text\n"
    "*.pb filter=lfs diff=lfs merge=lfs -text\n"
    "*.pickle filter=lfs diff=lfs merge=lfs -text\n"
    "*.pkl filter=lfs diff=lfs merge=lfs -text\n"
    "*.pt filter=lfs diff=lfs merge=lfs -text\n"
    "*.pth filter=lfs diff=lfs merge=lfs -text\n"
    "*.rar filter=lfs diff=lfs merge=lfs -text\n"
    "*.safetensors filter=lfs diff=lfs merge=lfs -text\n"
    "saved_model/**/* filter=lfs diff=lfs merge=lfs -text\n"
    "*.tar.* filter=lfs diff=lfs merge=lfs -text\n"
    "*.tar filter=lfs diff=lfs merge=lfs -text\n"
    "*.tflite filter=lfs diff=lfs merge=lfs -text\n"
    "*.tgz filter=lfs diff=lfs merge=lfs -text\n"
    "*.wasm filter=lfs diff=lfs merge=lfs -text\n"
    "*.xz filter=lfs diff=lfs merge=lfs -text\n"
    "*.zip filter=lfs diff=lfs merge=lfs -text\n"
    "*.zst filter=lfs diff=lfs merge=lfs -text\n"
    "*tfevents* filter=lfs diff=lfs merge=lfs -text\n";

http::Response error(int status, std::string_view code, std::string msg) {
  json j = {{"error", msg}};
  auto r = json_reply(status, j);
  r.headers.set("X-Error-Message", header_safe(msg));
  if (!code.empty()) r.headers.set("X-Error-Code", std::string(code));
  return r;
}

http::Response error_from(const Error& e) {
  switch (e.code) {
    case Errc::invalid_argument: return error(400, "", e.message);
    case Errc::corrupt: return error(400, "", e.message);
    case Errc::not_found: return error(404, "EntryNotFound", e.message);
    case Errc::already_exists: return error(409, "", e.message);
    case Errc::conflict: return error(412, "", e.message);
    case Errc::permission_denied: return error(403, "", e.message);
    case Errc::unauthenticated: return error(401, "", e.message);
    case Errc::limit_exceeded: return error(413, "", e.message);
    case Errc::unsupported: return error(501, "", e.message);
    case Errc::unavailable: return error(503, "ServiceUnavailable", e.message);
    default: return error(500, "", e.message);
  }
}

http::Response json_reply(int status, const json& j) {
  return http::json_response(status, j.dump(-1, ' ', false, json::error_handler_t::replace));
}

std::string html_escape(std::string_view s) {
  std::string out;
  for (char ch : s) {
    switch (ch) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += ch;
    }
  }
  return out;
}

std::string author_of(const auth::Token* t) {
  if (!t) return "hubgate <hubgate@localhost>";
  std::string n;
  for (char ch : t->name)
    if (ch != '<' && ch != '>' && ch != '\n' && ch != '\r' && ch != '\0') n += ch;
  if (n.empty()) n = "hubgate";
  return n + " <" + n + "@hubgate>";
}

Reply<repo::RepoRecord> open_repo(Ctx& c, const repo::RepoId& id, Need need) {
  auto rec = c.hub.catalog.find_repo(id);
  if (!rec) return std::unexpected(error_from(rec.error()));
  bool visible = *rec && auth::can_read(c.tok(), id.qualified(), (*rec)->is_private);
  if (!visible) {
    int status = c.token ? 404 : 401;
    return std::unexpected(error(status, "RepoNotFound",
                                 "Repository not found: " + id.qualified() +
                                     (c.token ? "" : " (it may be private: send a token that may read it)")));
  }
  if (need == Need::write && !auth::can_write(c.tok(), id.qualified())) {
    if (!c.token) return std::unexpected(error(401, "", "a write token is required to change " + id.qualified()));
    return std::unexpected(error(403, "", "token '" + c.token->name + "' may not write to " + id.qualified()));
  }
  return **rec;
}

Reply<std::string> resolve_rev(Ctx& c, const repo::RepoRecord& r, std::string_view rev) {
  auto commit = c.hub.catalog.resolve(r.key, rev);
  if (!commit) return std::unexpected(error_from(commit.error()));
  if (!*commit) {
    return std::unexpected(
        error(404, "RevisionNotFound", "Invalid rev id: " + std::string(rev.substr(0, 200)) + " in " + r.id.qualified()));
  }
  if (auto sig = signature_verdict(c, r, **commit); !sig) return std::unexpected(std::move(sig.error()));
  return **commit;
}

Reply<std::shared_ptr<const repo::Snapshot>> load_snapshot(Ctx& c, const repo::RepoRecord& r, const std::string& commit) {
  auto s = c.hub.catalog.snapshot(r.key, commit);
  if (!s) return std::unexpected(error(500, "", s.error().message));
  return *s;
}

json file_json(const repo::FileEntry& f, const repo::Snapshot& s, bool expand) {
  json j = {{"type", "file"}, {"oid", f.blob_sha1}, {"size", f.size}, {"path", f.path}};
  if (f.lfs) j["lfs"] = {{"oid", f.sha256}, {"size", f.size}, {"pointerSize", f.pointer_size}};
  if (expand) {
    // The last commit's title/date come from the snapshot when it is that commit; otherwise the
    // id alone is exact and the date is the snapshot's (the listing stays one query).
    j["lastCommit"] = {{"id", f.last_commit},
                       {"title", f.last_commit == s.commit.id ? s.commit.title : std::string()},
                       {"date", repo::iso_date(s.commit.time)}};
  }
  return j;
}

json dir_json(const std::string& path, const std::string& oid) {
  return {{"type", "directory"}, {"oid", oid}, {"size", 0}, {"path", path}};
}

Hub::Hub(HubOptions opts, repo::Catalog& catalog, store::BlobStore& store, auth::TokenStore& tokens,
         const auth::Signer& signer)
    : impl_(new Impl{std::move(opts), catalog, store, tokens, signer, {}, {}}) {}

Hub::~Hub() = default;

void Hub::record(const http::AccessRecord& rec) {
  impl_->metrics.record(rec.route, rec.status, rec.bytes_sent, rec.bytes_received);
}

Result<repo::RepoRecord> Hub::create_repo(const repo::RepoId& id, bool is_private, const std::string& author) {
  return create_repo_initial(*impl_, id, is_private, author);
}

Result<repo::RepoRecord> create_repo_initial(Hub::Impl& h, const repo::RepoId& id, bool is_private,
                                             const std::string& author) {
  std::int64_t now = std::time(nullptr);
  HG_TRY(auto rec, h.catalog.create_repo(id, is_private, now));
  HG_TRY(auto sha, h.store.put(kDefaultGitattributes));
  repo::NewCommit nc;
  nc.ops.push_back(repo::put_op(".gitattributes", std::string_view(kDefaultGitattributes).size(), sha,
                                crypto::git_blob_sha1_hex(kDefaultGitattributes), false));
  nc.meta.title = "initial commit";
  nc.meta.author = author;
  nc.meta.time = now;
  HG_TRY_VOID(h.catalog.commit(rec.key, nc));
  return rec;
}

http::Response Hub::handle(http::Request& req) {
  Ctx c{*impl_, req, std::nullopt, base_url_for(impl_->opts, req), {}};
  std::string route = "other";
  http::Response res;
  auto finish = [&](http::Response r) {
    r.route = route;
    add_cors(r);
    return r;
  };

  if (req.method == "OPTIONS") {
    route = "preflight";
    http::Response r;
    r.status = 204;
    r.headers.set("Access-Control-Allow-Methods", "GET, HEAD, POST, PUT, DELETE, OPTIONS");
    r.headers.set("Access-Control-Allow-Headers",
                  "Authorization, Range, Accept, Content-Type, X-Request-Id, X-Xet-Session-Id, Accept-Encoding");
    r.headers.set("Access-Control-Max-Age", "86400");
    return finish(std::move(r));
  }
  if (req.path == "/healthz") {
    route = "healthz";
    return finish(http::text_response(200, "ok\n"));
  }
  if (req.path == "/metrics") {
    route = "metrics";
    std::uint64_t open = impl_->opts.open_connections ? impl_->opts.open_connections() : 0;
    std::string text = impl_->metrics.render(open);
    if (impl_->opts.remote_metrics) text += impl_->opts.remote_metrics();  // pull-through counters
    if (impl_->opts.xet) text += impl_->opts.xet->metrics_text();          // Xet CAS and dedup
    if (impl_->opts.hot) text += impl_->opts.hot->metrics_text();          // hot copies, plain reads
    return finish(http::text_response(200, std::move(text), "text/plain; version=0.0.4"));
  }
  if (req.path.empty() || req.path[0] != '/' || req.path.size() > 8192) {
    return finish(error(400, "", "malformed request target"));
  }
  if (impl_->opts.xet && req.path == "/v1/telemetry") {
    route = "cas_telemetry";  // hf_xet posts its telemetry to the hub root; accepted, ignored
    return finish(json_reply(200, json::object()));
  }
  if (impl_->opts.xet && req.path.starts_with("/cas/")) {
    // Xet CAS API: its own tokens (Xet access tokens, or signed xorb URLs), not hub tokens.
    return finish(impl_->opts.xet->handle(req, c.base_url, route));
  }
  if (auto s3 = s3_target(impl_->opts, req)) {
    route = "s3";  // the read-only S3 face (s3_face.cpp): its own authentication (SigV4)
    return finish(s3_handle(c, *s3));
  }
  auto q = http::parse_query(req.query);
  if (!q) return finish(error(400, "", "malformed query string: " + q.error().message));
  c.query = std::move(*q);
  if (std::string_view p = req.path; p.starts_with("/blobs/sha256/")) {
    route = "cdn_blob";  // signed content-addressed URL (hub/cdn.cpp): no hub token
    return finish(blob_by_hash(c, p.substr(14)));
  }

  if (auto h = req.headers.get("Authorization")) {
    std::string_view v = *h;
    if (v.size() > 7 && http::iequals(v.substr(0, 7), "Bearer ")) {
      std::string_view t = v.substr(7);
      while (!t.empty() && t.front() == ' ') t.remove_prefix(1);
      auto tok = impl_->tokens.verify(t);
      if (!tok) return finish(error_from(tok.error()));  // a database that is down: 503
      // With pull-through, an unknown token may be an upstream one: pass it on (anonymous here).
      if (!*tok && !impl_->opts.remote) return finish(error(401, "", "Invalid credentials in Authorization header"));
      if (*tok) c.token = std::move(*tok);
    } else {
      return finish(error(401, "", "Invalid credentials in Authorization header"));
    }
  }

  auto segs = split_segments(std::string_view(req.path).substr(1));
  try {
    if (!segs.empty() && segs[0] == "api") {
      segs.erase(segs.begin());
      res = route_api(c, segs, route);
    } else {
      res = route_repo(c, segs, route);
    }
  } catch (const json::exception& e) {
    res = error(400, "", std::string("malformed JSON: ") + e.what());
  }
  return finish(std::move(res));
}

}  // namespace hubgate::hub
