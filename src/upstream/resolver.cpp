// Resolver: commit pinning, caching and access decisions around upstream metadata requests.
//
// Each public method follows the same shape: (1) apply the allow/deny filter; (2) find what the
// caches know (branch mapping + freshness, immutable per-commit data); (3) answer from cache when
// it is fresh and this client may see the repo without asking; (4) otherwise ask upstream with
// the client's credentials, judge the answer (record access decisions / visibility), cache it;
// (5) on an unreachable/5xx/429 upstream, or offline, fall back to what is cached if this client
// may see it (answer marked stale), else fail (fail closed for non-public repos).
#include "upstream/resolver.hpp"

#include <nlohmann/json.hpp>

#include "crypto/sha.hpp"
#include "util/hex.hpp"
#include "util/parse.hpp"

namespace hubgate::upstream {

using json = nlohmann::json;

namespace {
bool is_commit_id(std::string_view s) { return is_lower_hex(s, 40); }

Error unavailable_status(const HttpResponse& r) {
  return Error(Errc::unavailable, "upstream answered " + std::to_string(r.status));
}
bool is_outage(const HttpResponse& r) { return r.status >= 500 || r.status == 429; }

Refusal outage_refusal(const HttpResponse& r) {
  Refusal f;
  f.status = r.status == 429 ? 429 : 502;
  f.error_code = r.status == 429 ? "RateLimited" : "UpstreamError";
  f.message = "upstream answered " + std::to_string(r.status);
  if (const auto* ra = r.header("retry-after")) f.retry_after = *ra;
  return f;
}
}  // namespace

Refusal moved_refusal(const RepoRef& repo, const std::string& to) {
  Refusal f;
  f.status = 307;
  f.error_code = "RepoMoved";
  f.message = repo.id + " is now " + to;
  f.moved_to = to;
  return f;
}

std::string encode_segment(std::string_view s) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

std::string encode_path(std::string_view s) {
  std::string out;
  std::size_t start = 0;
  for (;;) {
    auto slash = s.find('/', start);
    out += encode_segment(s.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
    if (slash == std::string_view::npos) break;
    out.push_back('/');
    start = slash + 1;
  }
  return out;
}

std::string strip_etag(std::string_view v) {
  if (v.starts_with("W/")) v.remove_prefix(2);
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  return std::string(v);
}

std::string RepoRef::url_prefix() const {
  if (type == "datasets") return "datasets/";
  if (type == "spaces") return "spaces/";
  return "";
}

ContentKey FileMeta::key() const {
  if (sha256) return ContentKey{ContentKey::Algo::sha256, *sha256};
  return ContentKey{ContentKey::Algo::git_sha1, git_oid};
}

std::string FileMeta::serialize() const {
  json j = {{"commit", commit}, {"path", path}, {"size", size}, {"oid", git_oid}};
  if (sha256) j["sha256"] = *sha256;
  if (xet_hash) j["xet"] = *xet_hash;
  return j.dump();
}

std::optional<FileMeta> FileMeta::parse(std::string_view s) {
  auto j = json::parse(s, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  try {
    FileMeta m;
    m.commit = j.at("commit").get<std::string>();
    m.path = j.at("path").get<std::string>();
    m.size = j.at("size").get<std::uint64_t>();
    m.git_oid = j.at("oid").get<std::string>();
    if (j.contains("sha256")) m.sha256 = j["sha256"].get<std::string>();
    if (j.contains("xet")) m.xet_hash = j["xet"].get<std::string>();
    if (!is_commit_id(m.commit) || (m.sha256 && !is_lower_hex(*m.sha256, 64)) ||
        (!m.sha256 && !is_lower_hex(m.git_oid, 40)))
      return std::nullopt;
    return m;
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

Resolver::Resolver(ResolverOptions options, Client& client, MetaStore& meta, Metrics* metrics)
    : opt_(std::move(options)),
      client_(client),
      meta_(meta),
      metrics_(metrics),
      refs_(meta, opt_.ref_ttl, opt_.clock),
      access_(meta, opt_.auth_ttl, opt_.clock) {
  while (!opt_.base_url.empty() && opt_.base_url.back() == '/') opt_.base_url.pop_back();
}

HttpRequest Resolver::request(std::string method, std::string url, const std::string& authorization) const {
  HttpRequest r;
  r.method = std::move(method);
  r.url = std::move(url);
  if (!authorization.empty()) r.headers.emplace_back("Authorization", authorization);
  r.headers.emplace_back("Accept-Encoding", "identity");
  return r;
}

std::string Resolver::file_url(const RepoRef& repo, const std::string& rev, const std::string& path) const {
  return opt_.base_url + "/" + repo.url_prefix() + repo.id + "/resolve/" + encode_segment(rev) + "/" + encode_path(path);
}

FillSpec Resolver::fill_spec(const RepoRef& repo, const FileMeta& meta, const std::string& authorization) const {
  FillSpec s;
  s.key = meta.key();
  s.size = meta.size;
  s.url = file_url(repo, meta.commit, meta.path);
  if (!opt_.gateway_token.empty()) s.headers.emplace_back("Authorization", "Bearer " + opt_.gateway_token);
  else if (!authorization.empty()) s.headers.emplace_back("Authorization", authorization);
  s.origin.repo = repo.type == "models" ? repo.id : repo.type + "/" + repo.id;
  s.origin.revision = meta.commit;
  s.origin.path = meta.path;
  if (meta.xet_hash && !meta.xet_hash->empty()) {  // Xet pull-through (xet_fill.hpp)
    s.xet_hash = meta.xet_hash;
    s.xet_token_url = opt_.base_url + "/api/" + repo.type + "/" + repo.id + "/xet-read-token/" + meta.commit;
  }
  return s;
}

// Access to file bytes is decided apart from access to metadata: a gated repository shows its
// info and tree to everyone, but its files only to accepted tokens.
static std::string access_key(const RepoRef& repo, bool files) {
  return files ? "files\t" + repo.key() : repo.key();
}

bool Resolver::may_use_cache(const RepoRef& repo, const std::string& authorization, bool fresh_only, Scope scope) {
  const std::string key = access_key(repo, scope == Scope::files);
  if (access_.known_public(key, fresh_only)) return true;
  return access_.lookup(authorization, key) == Access::allowed;
}

std::optional<Refusal> Resolver::judge(const RepoRef& repo, const std::string& authorization, const HttpResponse& resp,
                                       Scope scope) {
  const std::string key = access_key(repo, scope == Scope::files);
  if (resp.status >= 200 && resp.status < 400) {
    access_.record(authorization, key, true);
    if (authorization.empty()) access_.record_public(key, true);
    return std::nullopt;
  }
  Refusal r;
  r.status = static_cast<int>(resp.status);
  if (const auto* c = resp.header("x-error-code")) r.error_code = *c;
  if (const auto* m = resp.header("x-error-message")) r.message = *m;
  if (const auto* c = resp.header("x-repo-commit")) r.repo_commit = *c;
  if (r.message.empty()) {
    auto j = json::parse(resp.body, nullptr, false);
    if (j.is_object() && j.contains("error") && j["error"].is_string()) r.message = j["error"].get<std::string>();
    else r.message = "upstream answered " + std::to_string(resp.status);
  }
  bool repo_hidden = resp.status == 401 || resp.status == 403 ||
                     (resp.status == 404 && (r.error_code.empty() || r.error_code == "RepoNotFound"));
  if (repo_hidden) {
    access_.record(authorization, key, false);
    if (authorization.empty()) access_.record_public(key, false);
  } else if (resp.status == 404) {
    // Revision or entry missing: the repo itself was visible to this client.
    access_.record(authorization, key, true);
    if (authorization.empty()) access_.record_public(key, true);
  }
  return r;
}

Result<Answer<FileMeta>> Resolver::file(const RepoRef& repo, const std::string& rev, const std::string& path,
                                        const std::string& authorization) {
  if (!permits(repo)) return Answer<FileMeta>{std::nullopt, Refusal{404, "RepoNotFound", "Repository not served by this gateway", "", "", ""}, false};
  bool is_commit = is_commit_id(rev);
  std::optional<std::string> commit;
  bool fresh = false;
  if (is_commit) {
    commit = rev;
    fresh = true;
  } else if (auto e = refs_.get(repo.key(), rev)) {
    commit = e->commit;
    fresh = e->fresh;
  }
  std::optional<FileMeta> cached;
  if (commit) {
    if (auto s = meta_.get("file\t" + repo.key() + "\t" + *commit + "\t" + path)) cached = FileMeta::parse(*s);
  }
  if (cached && fresh && may_use_cache(repo, authorization, true, Scope::files))
    return Answer<FileMeta>{cached, std::nullopt, false};

  auto fallback = [&](Error why) -> Result<Answer<FileMeta>> {
    if (cached && may_use_cache(repo, authorization, false, Scope::files)) {
      if (metrics_) metrics_->stale_answers.fetch_add(1, std::memory_order_relaxed);
      return Answer<FileMeta>{cached, std::nullopt, true};
    }
    return fail(std::move(why));
  };
  if (opt_.offline) {
    return fallback(Error(Errc::unavailable, "offline: " + repo.key() + "@" + rev + ":" + path + " is not cached"));
  }
  std::string target = (commit && fresh) ? *commit : rev;
  HttpRequest req = request("HEAD", file_url(repo, target, path), authorization);
  req.follow_redirects = false;
  auto resp = client_.send(req);
  // Follow relative redirects (repo renames) only; cross-host ones are CDN redirects whose
  // headers already carry the metadata.
  for (int hop = 0; resp && hop < 3 && resp->status >= 300 && resp->status < 400; ++hop) {
    if (auto moved = note_redirect(repo, *resp))  // renamed: the client is sent to the new name
      return Answer<FileMeta>{std::nullopt, moved_refusal(repo, *moved), false};
    const auto* loc = resp->header("location");
    if (!loc || !loc->starts_with("/") || loc->starts_with("//")) break;
    req.url = opt_.base_url + *loc;
    resp = client_.send(req);
  }
  if (!resp) return fallback(resp.error());
  if (is_outage(*resp)) {
    auto r = fallback(unavailable_status(*resp));
    if (!r && resp->status == 429) return Answer<FileMeta>{std::nullopt, outage_refusal(*resp), false};
    return r;
  }
  if (auto refusal = judge(repo, authorization, *resp, Scope::files)) return Answer<FileMeta>{std::nullopt, refusal, false};

  FileMeta m;
  m.path = path;
  const auto* c = resp->header("x-repo-commit");
  if (!c || !is_commit_id(*c)) return fail(Errc::corrupt, "upstream resolve of " + path + ": missing or bad X-Repo-Commit");
  m.commit = *c;
  if (const auto* le = resp->header("x-linked-etag")) {
    std::string sha = strip_etag(*le);
    if (!is_lower_hex(sha, 64)) return fail(Errc::corrupt, "upstream resolve of " + path + ": bad X-Linked-Etag " + *le);
    m.sha256 = sha;
  }
  if (const auto* et = resp->header("etag")) {
    std::string e = strip_etag(*et);
    if (!m.sha256 && is_lower_hex(e, 64)) m.sha256 = e;
    else if (is_lower_hex(e, 40)) m.git_oid = e;
  }
  if (!m.sha256 && m.git_oid.empty()) return fail(Errc::corrupt, "upstream resolve of " + path + ": no usable ETag");
  const std::string* size = resp->header("x-linked-size");
  if (!size && resp->status < 300) size = resp->header("content-length");
  std::optional<std::uint64_t> n = size ? parse_u64(*size) : std::nullopt;
  if (!n) return fail(Errc::corrupt, "upstream resolve of " + path + ": no file size");
  m.size = *n;
  if (const auto* x = resp->header("x-xet-hash")) m.xet_hash = *x;
  // Only an answer to the branch name itself refreshes the mapping (not one asked by commit).
  if (!is_commit && target == rev) refs_.put(repo.key(), rev, m.commit);
  (void)meta_.put("file\t" + repo.key() + "\t" + m.commit + "\t" + path, m.serialize());
  return Answer<FileMeta>{m, std::nullopt, false};
}

Result<Answer<std::string>> Resolver::commit_of(const RepoRef& repo, const std::string& rev,
                                                const std::string& authorization) {
  if (!permits(repo)) return Answer<std::string>{std::nullopt, Refusal{404, "RepoNotFound", "Repository not served by this gateway", "", "", ""}, false};
  bool is_commit = is_commit_id(rev);
  std::optional<std::string> known;
  bool fresh = false;
  if (is_commit) {
    known = rev;
    fresh = true;
  } else if (auto e = refs_.get(repo.key(), rev)) {
    known = e->commit;
    fresh = e->fresh;
  }
  if (known && fresh && may_use_cache(repo, authorization, true)) return Answer<std::string>{known, std::nullopt, false};
  auto fallback = [&](Error why) -> Result<Answer<std::string>> {
    if (known && may_use_cache(repo, authorization, false)) {
      if (metrics_) metrics_->stale_answers.fetch_add(1, std::memory_order_relaxed);
      return Answer<std::string>{known, std::nullopt, !is_commit};
    }
    return fail(std::move(why));
  };
  if (opt_.offline) return fallback(Error(Errc::unavailable, "offline: no known commit for " + repo.key() + "@" + rev));
  std::string url = opt_.base_url + "/api/" + repo.type + "/" + repo.id;
  if (!rev.empty()) url += "/revision/" + encode_segment(rev);
  HttpRequest req = request("GET", url, authorization);
  req.follow_redirects = false;  // a rename is told to the client (307), not followed here
  auto resp = client_.send(req);
  if (!resp) return fallback(resp.error());
  if (is_outage(*resp)) {
    auto r = fallback(unavailable_status(*resp));
    if (!r && resp->status == 429) return Answer<std::string>{std::nullopt, outage_refusal(*resp), false};
    return r;
  }
  if (auto moved = note_redirect(repo, *resp))
    return Answer<std::string>{std::nullopt, moved_refusal(repo, *moved), false};
  if (auto refusal = judge(repo, authorization, *resp)) return Answer<std::string>{std::nullopt, refusal, false};
  auto j = json::parse(resp->body, nullptr, false);
  if (!j.is_object() || !j.contains("sha") || !j["sha"].is_string() || !is_commit_id(j["sha"].get<std::string>()))
    return fail(Errc::corrupt, "upstream " + url + ": reply has no 40-hex \"sha\"");
  std::string sha = j["sha"].get<std::string>();
  if (!is_commit) refs_.put(repo.key(), rev, sha);
  (void)meta_.put("info\t" + repo.key() + "\t" + sha, "\n" + resp->body);
  return Answer<std::string>{sha, std::nullopt, false};
}

Result<Answer<JsonReply>> Resolver::pinned_json(const RepoRef& repo, const std::string& commit, bool stale,
                                                const std::string& cache_key, const HttpRequest& req,
                                                const std::string& authorization) {
  if (auto v = meta_.get(cache_key)) {
    auto nl = v->find('\n');
    if (nl != std::string::npos) return Answer<JsonReply>{JsonReply{v->substr(nl + 1), commit, v->substr(0, nl)}, std::nullopt, stale};
  }
  if (opt_.offline) return fail(Errc::unavailable, "offline: " + req.url + " is not cached");
  auto resp = client_.send(req);
  if (!resp) return fail(resp.error());
  if (is_outage(*resp)) {
    if (resp->status == 429) return Answer<JsonReply>{std::nullopt, outage_refusal(*resp), false};
    return fail(unavailable_status(*resp));
  }
  if (auto refusal = judge(repo, authorization, *resp)) return Answer<JsonReply>{std::nullopt, refusal, false};
  JsonReply reply{resp->body, commit, ""};
  if (const auto* link = resp->header("link")) {
    // <url>; rel="next"
    auto rel = link->find("rel=\"next\"");
    auto lt = link->find('<');
    auto gt = link->find('>');
    if (rel != std::string::npos && lt != std::string::npos && gt != std::string::npos && lt < gt)
      reply.link_next = link->substr(lt + 1, gt - lt - 1);
  }
  if (resp->status == 200) (void)meta_.put(cache_key, reply.link_next + "\n" + reply.body);
  return Answer<JsonReply>{std::move(reply), std::nullopt, stale};
}

Result<Answer<JsonReply>> Resolver::info(const RepoRef& repo, const std::string& rev, const std::string& authorization) {
  HG_TRY(auto c, commit_of(repo, rev, authorization));
  if (!c.value) return Answer<JsonReply>{std::nullopt, c.refusal, c.stale};
  std::string url = opt_.base_url + "/api/" + repo.type + "/" + repo.id + "/revision/" + *c.value;
  return pinned_json(repo, *c.value, c.stale, "info\t" + repo.key() + "\t" + *c.value, request("GET", url, authorization),
                     authorization);
}

Result<Answer<JsonReply>> Resolver::tree(const RepoRef& repo, const std::string& rev, const std::string& path,
                                         const std::string& query, const std::string& authorization) {
  HG_TRY(auto c, commit_of(repo, rev, authorization));
  if (!c.value) return Answer<JsonReply>{std::nullopt, c.refusal, c.stale};
  std::string url = opt_.base_url + "/api/" + repo.type + "/" + repo.id + "/tree/" + *c.value;
  if (!path.empty()) url += "/" + encode_path(path);
  if (!query.empty()) url += "?" + query;
  return pinned_json(repo, *c.value, c.stale, "tree\t" + repo.key() + "\t" + *c.value + "\t" + path + "\t" + query,
                     request("GET", url, authorization), authorization);
}

Result<Answer<JsonReply>> Resolver::paths_info(const RepoRef& repo, const std::string& rev, const std::string& body,
                                               const std::string& content_type, const std::string& authorization) {
  HG_TRY(auto c, commit_of(repo, rev, authorization));
  if (!c.value) return Answer<JsonReply>{std::nullopt, c.refusal, c.stale};
  HttpRequest req = request("POST", opt_.base_url + "/api/" + repo.type + "/" + repo.id + "/paths-info/" + *c.value,
                            authorization);
  req.body = body;
  if (!content_type.empty()) req.headers.emplace_back("Content-Type", content_type);
  return pinned_json(repo, *c.value, c.stale,
                     "paths\t" + repo.key() + "\t" + *c.value + "\t" + content_type + "\t" + crypto::sha256_hex(body), req,
                     authorization);
}

}  // namespace hubgate::upstream
