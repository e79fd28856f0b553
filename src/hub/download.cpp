// Download side of the Hub API: repo info, tree listing with Link pagination, paths-info, and
// resolve/raw with ETag / X-Linked-* / X-Repo-Commit and single-range support.
//
// Tree pagination: the full (sorted) listing for the requested folder is computed from the
// immutable snapshot and sliced; the cursor is the index of the next entry, bound to the commit
// id (the revision is pinned to a commit on the first page, so later pages cannot shift).
#include <algorithm>

#include "hub/context.hpp"
#include "http/range.hpp"
#include "http/url.hpp"
#include "util/parse.hpp"
#include "crypto/sha.hpp"
#include "repo/git.hpp"
#include "sign/gate.hpp"
#include "cas/hot_copies.hpp"

namespace hubgate::hub {

namespace {

// A stored file that cannot be read: 503 with X-Error-Code StoreUnavailable when the object store
// is unreachable (the client may retry), else 500.
http::Response store_error(const std::string& path, const Error& e) {
  if (e.code == Errc::unavailable) return error(503, "StoreUnavailable", "stored content of " + path + " is unavailable: " + e.message);
  return error(500, "", "stored content of " + path + " is unavailable: " + e.message);
}

bool truthy(const std::string& v) {
  auto b = parse_bool(v);
  return b.value_or(false);
}


// Splits a decoded "rev/path" by the longest existing revision (spec §0).
Reply<std::pair<std::string, std::string>> split_rev(Ctx& c, const repo::RepoRecord& r, std::string_view raw_rest) {
  auto decoded = http::percent_decode(raw_rest);
  if (!decoded) return std::unexpected(error(400, "", decoded.error().message));
  std::optional<std::string> commit;
  auto rp = repo::split_rev_path(*decoded, [&](std::string_view cand) {
    auto got = c.hub.catalog.resolve(r.key, cand);
    if (got && *got) {
      commit = **got;
      return true;
    }
    return false;
  });
  if (!rp) {
    std::string_view first = std::string_view(*decoded).substr(0, decoded->find('/'));
    return std::unexpected(error(404, "RevisionNotFound",
                                 "Invalid rev id: " + std::string(first.substr(0, 200)) + " in " + r.id.qualified()));
  }
  if (auto sig = signature_verdict(c, r, *commit); !sig) return std::unexpected(std::move(sig.error()));
  return std::pair{*commit, rp->path};
}

}  // namespace

http::Response repo_info(Ctx& c, const repo::RepoId& id, std::string_view raw_rev) {
  auto r = open_repo(c, id, Need::read);
  if (!r) return r.error();
  std::string rev = "main";
  if (!raw_rev.empty()) {
    auto d = http::percent_decode(raw_rev);
    if (!d) return error(400, "", d.error().message);
    rev = *d;
  }
  auto commit = resolve_rev(c, *r, rev);
  if (!commit) return commit.error();
  auto snap = load_snapshot(c, *r, *commit);
  if (!snap) return snap.error();
  const auto& s = **snap;
  json siblings = json::array();
  for (const auto& f : s.files) {
    json sib = {{"rfilename", f.path}, {"size", f.size}, {"blobId", f.blob_sha1}};
    if (f.lfs) sib["lfs"] = {{"size", f.size}, {"sha256", f.sha256}, {"pointerSize", f.pointer_size}};
    siblings.push_back(std::move(sib));
  }
  std::uint64_t used = 0;
  for (const auto& f : s.files) used += f.size;
  json j = {{"_id", repo_object_id(*r)},
            {"id", id.full()},
            {"author", id.ns},
            {"sha", s.commit.id},
            {"private", r->is_private},
            {"gated", r->gated.empty() ? json(false) : json(r->gated)},
            {"disabled", false},
            {"lastModified", repo::iso_date(s.commit.time)},
            {"createdAt", repo::iso_date(r->created)},
            {"downloads", r->downloads},
            {"downloadsAllTime", r->downloads_all_time},
            {"likes", r->likes},
            {"tags", json::array()},
            {"cardData", nullptr},
            {"siblings", std::move(siblings)},
            {"usedStorage", used}};
  if (c.hub.opts.signatures) {  // the verdict is cached: resolve_rev has just computed it
    if (auto sig = signature_verdict(c, *r, s.commit.id); sig && *sig) j["hubgateSignature"] = signature_json(**sig);
  }
  if (id.type == repo::RepoType::model) j["modelId"] = id.full();
  add_card_fields(c, *r, s, j);  // README front matter: tags, cardData, pipeline_tag, library_name
  return json_reply(200, j);
}

http::Response tree(Ctx& c, const repo::RepoId& id, std::string_view raw_rest) {
  auto r = open_repo(c, id, Need::read);
  if (!r) return r.error();
  auto rp = split_rev(c, *r, raw_rest);
  if (!rp) return rp.error();
  auto& [commit, dir] = *rp;
  while (!dir.empty() && dir.back() == '/') dir.pop_back();
  if (!dir.empty()) {
    if (auto v = repo::validate_path(dir); !v) return error(400, "", v.error().message);
  }
  auto snap = load_snapshot(c, *r, commit);
  if (!snap) return snap.error();
  bool recursive = truthy(http::query_get(c.query, "recursive"));
  bool expand = truthy(http::query_get(c.query, "expand"));
  auto items = repo::list_tree(**snap, dir, recursive);
  if (!items) {
    auto e = error(404, "EntryNotFound", "no folder '" + dir + "' at " + commit + " in " + id.qualified());
    e.headers.set("X-Repo-Commit", commit);
    return e;
  }
  std::size_t start = 0;
  if (std::string cur = http::query_get(c.query, "cursor"); !cur.empty()) {
    auto at = cur.find('.');
    auto n = parse_u64(cur.substr(0, at));
    if (!n || at == std::string::npos || cur.substr(at + 1) != commit.substr(0, 12) || *n > items->size()) {
      return error(400, "", "invalid tree cursor");
    }
    start = std::size_t(*n);
  }
  std::size_t page = c.hub.opts.tree_page_size;
  if (auto lim = parse_u64(http::query_get(c.query, "limit")); lim && *lim > 0) page = std::min<std::size_t>(page, *lim);
  std::size_t end = std::min(items->size(), start + page);
  json arr = json::array();
  for (std::size_t i = start; i < end; ++i) {
    const auto& it = (*items)[i];
    arr.push_back(it.is_dir ? dir_json(it.path, it.oid) : file_json(*it.file, **snap, expand));
    if (expand && !it.is_dir) gate_status(c, *it.file, arr.back());
    if (!it.is_dir) add_xet_hash(c.hub, arr.back(), *it.file);
  }
  auto res = json_reply(200, arr);
  res.headers.set("X-Repo-Commit", commit);
  if (end < items->size()) {
    // Pin the next page to the commit so the listing cannot shift between pages.
    std::string next = c.base_url + "/api/" + id.api_plural() + "/" + id.full() + "/tree/" + commit;
    if (!dir.empty()) next += "/" + http::percent_encode(dir, true);
    next += "?recursive=" + std::string(recursive ? "true" : "false") + "&expand=" + (expand ? "true" : "false") +
            "&cursor=" + std::to_string(end) + "." + commit.substr(0, 12);
    res.headers.set("Link", "<" + next + ">; rel=\"next\"");
  }
  return res;
}

http::Response paths_info(Ctx& c, const repo::RepoId& id, std::string_view raw_rev) {
  auto r = open_repo(c, id, Need::read);
  if (!r) return r.error();
  auto rev = http::percent_decode(raw_rev);
  if (!rev) return error(400, "", rev.error().message);
  auto commit = resolve_rev(c, *r, *rev);
  if (!commit) return commit.error();
  auto body = c.req.body.read_all(c.hub.opts.max_json_body);
  if (!body) return error_from(body.error());
  std::vector<std::string> paths;
  bool expand = false;
  std::string ctype(c.req.headers.get("Content-Type").value_or(""));
  if (ctype.starts_with("application/json")) {
    json j = json::parse(*body);
    if (!j.is_object() || !j.contains("paths") || !j["paths"].is_array()) {
      return error(400, "", "paths-info: expected {\"paths\": [...]}");
    }
    for (const auto& p : j["paths"]) paths.push_back(p.get<std::string>());
    if (j.contains("expand") && j["expand"].is_boolean()) expand = j["expand"].get<bool>();
  } else {
    auto form = http::parse_query(*body);
    if (!form) return error(400, "", "paths-info: malformed form body: " + form.error().message);
    paths = http::query_all(*form, "paths");
    expand = truthy(http::query_get(*form, "expand"));
  }
  if (paths.size() > 10000) return error(400, "", "paths-info: too many paths (max 10000)");
  auto snap = load_snapshot(c, *r, *commit);
  if (!snap) return snap.error();
  json arr = json::array();
  for (auto p : paths) {
    while (!p.empty() && p.back() == '/') p.pop_back();
    if (p.empty() || !repo::validate_path(p)) continue;
    if (const auto* f = (*snap)->find(p)) {
      arr.push_back(file_json(*f, **snap, expand));
      if (expand) gate_status(c, *f, arr.back());
      add_xet_hash(c.hub, arr.back(), *f);
    } else if (auto it = (*snap)->dirs.find(p); it != (*snap)->dirs.end()) {
      arr.push_back(dir_json(p, it->second));
    }
  }
  auto res = json_reply(200, arr);
  res.headers.set("X-Repo-Commit", *commit);
  return res;
}

http::Response list_refs(Ctx& c, const repo::RepoId& id) {
  auto r = open_repo(c, id, Need::read);
  if (!r) return r.error();
  auto refs = c.hub.catalog.list_refs(r->key);
  if (!refs) return error_from(refs.error());
  json branches = json::array(), tags = json::array(), prs = json::array();
  for (const auto& ref : *refs) {
    switch (ref.kind) {
      case repo::RefKind::branch:
        branches.push_back({{"name", ref.name}, {"ref", "refs/heads/" + ref.name}, {"targetCommit", ref.commit}});
        break;
      case repo::RefKind::tag:
        tags.push_back({{"name", ref.name}, {"ref", "refs/tags/" + ref.name}, {"targetCommit", ref.commit}});
        break;
      case repo::RefKind::pr:
        prs.push_back({{"name", ref.name.substr(ref.name.rfind('/') + 1)}, {"ref", ref.name}, {"targetCommit", ref.commit}});
        break;
    }
  }
  return json_reply(200, {{"branches", branches}, {"tags", tags}, {"converts", json::array()}, {"pullRequests", prs}});
}

namespace {

// The answer for one file of a resolved revision (headers, Xet, range, security gate, body).
http::Response serve_file(Ctx& c, const repo::RepoId& id, const repo::RepoRecord& rec, const std::string& commit,
                          const repo::FileEntry& fe, bool raw_blob) {
  const repo::RepoRecord* r = &rec;
  const repo::FileEntry* f = &fe;
  const std::string& path = fe.path;
  http::Response res;
  res.headers.set("X-Repo-Commit", commit);
  res.headers.set("Accept-Ranges", "bytes");
  res.headers.set("Content-Type", "application/octet-stream");
  std::uint64_t size = f->size;
  std::string pointer;
  bool gated = false;  // the security gate already decided (Xet path)
  if (raw_blob && f->lfs) {
    pointer = repo::lfs_pointer(f->sha256, f->size);
    size = pointer.size();
  }
  for (auto& [k, v] : repo::version_headers(raw_blob, f->lfs ? f->sha256 : "", f->size, f->blob_sha1))
    res.headers.set(k, std::move(v));
  if (!raw_blob && f->lfs) {
    // Xet-backed: Xet headers; the xet-fileinfo probe (HJ) gets them with a JSON body, no bytes.
    // The security gate decides first: a blocked file never advertises its Xet hash.
    if (c.hub.opts.xet) {
      if (auto refused = gate_download(c, *r, commit, *f, res)) return std::move(*refused);
      gated = true;
    }
    if (std::string xh = xet_resolve_headers(c, res, id, commit, *f); !xh.empty()) {
      auto accept = c.req.headers.get("Accept");
      if (accept && accept->find("application/vnd.xet-fileinfo+json") != std::string_view::npos) {
        json info = {{"hash", xh},
                     {"size", f->size},
                     {"etag", f->sha256},
                     {"refreshUrl", c.base_url + "/api/" + id.api_plural() + "/" + id.full() + "/xet-read-token/" + commit},
                     {"reconstructionUrl", c.base_url + "/cas/v1/reconstructions/" + xh}};
        res.status = 200;
        res.headers.set("Content-Type", "application/vnd.xet-fileinfo+json");
        res.body = info.dump();
        return res;
      }
    }
  }

  // A CDN in front: the body goes out under its content address (hub/cdn.cpp), after the gate.
  if (!c.hub.opts.cdn_url.empty() && !raw_blob && f->lfs && f->size > 0) {
    if (!gated) {
      if (auto refused = gate_download(c, *r, commit, *f, res)) return std::move(*refused);
    }
    return cdn_redirect(c, std::move(res), f->sha256, f->size);
  }

  // Range selection.
  auto sel = http::select_range(c.req.headers.get("Range"), size);
  if (!sel) {
    auto e = error(400, "", sel.error().message);
    e.headers.set("X-Repo-Commit", commit);
    return e;
  }
  if (sel->status == 416) {
    auto e = error(416, "", "range not satisfiable for a file of " + std::to_string(size) + " bytes");
    e.headers.set("Content-Range", *sel->content_range);
    e.headers.set("X-Repo-Commit", commit);
    return e;
  }
  res.status = sel->status;
  if (sel->content_range) res.headers.set("Content-Range", *sel->content_range);
  const std::uint64_t first = sel->first, length = sel->length;
  if (size == 0) {
    res.body = std::string();
    return res;
  }

  if (!pointer.empty()) {
    res.body = pointer.substr(std::size_t(first), std::size_t(length));
    return res;
  }
  if (!gated) {
    if (auto refused = gate_download(c, *r, commit, *f, res)) return std::move(*refused);  // security gate
  }
  return file_body(c, std::move(res), f->sha256, f->size, f->lfs, first, length, path);
}

}  // namespace

http::Response file_body(Ctx& c, http::Response res, const std::string& sha256, std::uint64_t size, bool lfs,
                         std::uint64_t first, std::uint64_t length, const std::string& path) {
  if (c.hub.opts.hot && lfs) {  // whole-file copy, else reconstructed from the Xet chunk store
    auto b = c.hub.opts.hot->body(sha256, size, first, length, c.req.method == "HEAD");
    if (!b) return store_error(path, b.error());
    if (std::holds_alternative<std::shared_ptr<http::BodyProducer>>(b->body)) res.producer_length = length;
    res.body = std::move(b->body);
    return res;
  }
  auto blob = c.hub.store.open(sha256);
  if (!blob) return store_error(path, blob.error());
  if (blob->size != size) return error(500, "", "stored content of " + path + " has the wrong size");
  if (blob->data) {
    res.body = blob->data->substr(std::size_t(first), std::size_t(length));
    return res;
  }
  auto fh = http::FileHandle::open(blob->path);
  if (!fh) return error(500, "", "cannot open stored content of " + path + ": " + fh.error().message);
  res.body = http::FileBody{*fh, first, length};
  return res;
}

http::Response resolve(Ctx& c, const repo::RepoId& id, std::string_view raw_rest, bool raw_blob) {
  auto r = open_repo(c, id, Need::read);
  if (!r) return r.error();
  if (auto g = gate_access(c, *r)) return std::move(*g);  // gated: accepted users and writers only
  auto rp = split_rev(c, *r, raw_rest);
  if (!rp) return rp.error();
  const auto& [commit, path] = *rp;
  auto not_found = [&](std::string msg) {
    auto e = error(404, "EntryNotFound", std::move(msg));
    e.headers.set("X-Repo-Commit", commit);
    return e;
  };
  if (path.empty()) return not_found("no file path given");
  if (auto v = repo::validate_path(path); !v) {
    auto e = error(400, "", v.error().message);
    e.headers.set("X-Repo-Commit", commit);
    return e;
  }
  if (auto cs = countersignature_response(c, *r, commit, path)) return std::move(*cs);  // --countersign-key
  auto snap = load_snapshot(c, *r, commit);
  if (!snap) return snap.error();
  const repo::FileEntry* f = (*snap)->find(path);
  if (!f) return not_found(path + " does not exist at " + commit + " in " + id.qualified());
  auto res = serve_file(c, id, *r, commit, *f, raw_blob);
  if (res.status < 400) count_download(c, *r, **snap, path);  // the Hub's download count
  return res;
}

}  // namespace hubgate::hub
