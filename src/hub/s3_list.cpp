// ListObjectsV2 for the S3 face (docs/spec/s3.md §1.3). The prefix names a repository and a
// revision (`ORG/NAME/REV[/…]`); the objects are the revision's files, listed through the Hub's
// own tree route (`tree()` for a hosted repository, `remote()` for pull-through: the same
// visibility, gating and signature checks), recursively, every page, pinned to the commit the
// first page resolved. Keys are `ORG/NAME/REV/PATH` with REV as the client wrote it; REV is one
// path segment, or three for `refs/pr/N`, `refs/heads/X`, `refs/tags/X`. A prefix that stops
// before the revision lists nothing. ETags are the same as GET's (sha256 of LFS files, else the
// git blob id); LastModified is the revision's commit date.
#include <algorithm>

#include "http/url.hpp"
#include "hub/s3_internal.hpp"
#include "util/base64.hpp"
#include "util/parse.hpp"

namespace hubgate::hub {

namespace {

struct Object {
  std::string key;
  std::uint64_t size = 0;
  std::string etag;
};

// The revision part of "REV/…" (one segment, or refs/{pr,heads,tags}/X).
std::string revision_of(std::string_view rest) {
  std::size_t take = 1;
  if (rest.starts_with("refs/pr/") || rest.starts_with("refs/heads/") || rest.starts_with("refs/tags/")) take = 3;
  std::size_t at = 0;
  for (std::size_t i = 0; i < take; ++i) {
    auto slash = rest.find('/', at);
    if (slash == std::string_view::npos) return std::string(rest);
    at = slash + 1;
  }
  return std::string(rest.substr(0, at - 1));
}

// One call of a Hub read route ("tree" or "info") for `id`, hosted or pull-through.
http::Response hub_read(Ctx& c, const repo::RepoId& id, std::string_view route, const std::string& raw_rest,
                        const std::string& query) {
  if (is_remote(c, id)) {
    http::Request sub;
    sub.method = "GET";
    sub.path = "/api/" + id.api_plural() + "/" + id.full() + "/" + std::string(route);
    sub.query = query;
    sub.client = c.req.client;
    sub.request_id = c.req.request_id;
    return c.hub.opts.remote(route, sub, id.api_plural(), id.full(), raw_rest, c.base_url);
  }
  auto q = http::parse_query(query);
  if (!q) return error(400, "", q.error().message);
  auto saved = std::exchange(c.query, std::move(*q));
  auto res = route == "info" ? repo_info(c, id, raw_rest) : tree(c, id, raw_rest);
  c.query = std::move(saved);
  return res;
}

std::string cursor_of_link(std::string_view link) {
  auto at = link.find("cursor=");
  if (at == std::string_view::npos || link.find("rel=\"next\"") == std::string_view::npos) return {};
  auto v = link.substr(at + 7);
  v = v.substr(0, v.find_first_of("&>"));
  return std::string(v);
}

// Every file of the revision the prefix names, sorted by key; or the S3 error to send.
Reply<std::vector<Object>> collect(Ctx& c, const std::string& bucket, const std::string& prefix, std::string& modified) {
  std::vector<Object> out;
  S3RepoKey rk;
  if (!s3_repo_key(bucket, prefix, rk) || rk.rest.empty()) return out;
  const std::string rev = revision_of(rk.rest);
  std::string commit, cursor;
  for (int page = 0; page < 100000; ++page) {
    std::string rest = commit.empty() ? http::percent_encode(rev, false) : commit;
    std::string query = "recursive=true" + (cursor.empty() ? "" : "&cursor=" + cursor);
    auto res = hub_read(c, rk.id, "tree", rest, query);
    if (res.status == 404) return out;  // no such repository or revision: nothing listed
    if (res.status != 200) return std::unexpected(s3_error_from_hub(c, res));
    if (commit.empty()) commit = std::string(res.headers.get("X-Repo-Commit").value_or(""));
    const auto* body = std::get_if<std::string>(&res.body);
    auto arr = body ? json::parse(*body, nullptr, false) : json();
    if (!arr.is_array()) return std::unexpected(s3_error(c, 500, "InternalError", "malformed tree listing"));
    for (const auto& e : arr) {
      if (!e.is_object() || e.value("type", "") != "file" || !e.contains("path") || !e["path"].is_string()) continue;
      Object o;
      o.key = rk.org_name + "/" + rev + "/" + e["path"].get<std::string>();
      o.size = e.value("size", std::uint64_t(0));
      if (e.contains("lfs") && e["lfs"].is_object() && e["lfs"].contains("oid") && e["lfs"]["oid"].is_string())
        o.etag = e["lfs"]["oid"].get<std::string>();
      else if (e.contains("oid") && e["oid"].is_string())
        o.etag = e["oid"].get<std::string>();
      out.push_back(std::move(o));
    }
    cursor = cursor_of_link(res.headers.get("Link").value_or(""));
    if (cursor.empty() || commit.empty()) break;
  }
  if (!commit.empty()) modified = s3_commit_date(c, rk.id, commit);
  std::sort(out.begin(), out.end(), [](const Object& a, const Object& b) { return a.key < b.key; });
  return out;
}

}  // namespace

std::string s3_commit_date(Ctx& c, const repo::RepoId& id, const std::string& commit) {
  if (!is_remote(c, id)) {  // the catalog's cached snapshot
    auto rec = c.hub.catalog.find_repo(id);
    if (!rec || !*rec) return {};
    auto snap = c.hub.catalog.snapshot((*rec)->key, commit);
    return snap && *snap ? repo::iso_date((*snap)->commit.time) : std::string();
  }
  auto info = hub_read(c, id, "info", commit, "");  // commit-pinned: the edge's metadata cache
  const auto* body = std::get_if<std::string>(&info.body);
  auto j = info.status == 200 && body ? json::parse(*body, nullptr, false) : json();
  if (j.is_object() && j.contains("lastModified") && j["lastModified"].is_string())
    return j["lastModified"].get<std::string>();
  return {};
}

namespace {

// `encoding-type=url`: every byte outside A-Za-z0-9-._~/ percent-encoded.
std::string encode_key(std::string_view s, bool url) {
  return url ? http::percent_encode(s, true) : xml_escape(s);
}

}  // namespace

http::Response s3_list_objects(Ctx& c, const std::string& bucket) {
  const auto& q = c.query;
  const std::string prefix = http::query_get(q, "prefix"), delimiter = http::query_get(q, "delimiter"),
                    token = http::query_get(q, "continuation-token"), start_after = http::query_get(q, "start-after"),
                    encoding = http::query_get(q, "encoding-type");
  bool has_token = false;
  for (const auto& [k, v] : q) has_token |= k == "continuation-token";
  std::uint64_t max_keys = 1000;
  if (std::string mk = http::query_get(q, "max-keys"); !mk.empty()) {
    auto n = parse_u64(mk);
    if (!n) return s3_error(c, 400, "InvalidArgument", "max-keys must be a non-negative integer");
    max_keys = std::min<std::uint64_t>(*n, 1000);
  }
  if (!encoding.empty() && encoding != "url") return s3_error(c, 400, "InvalidArgument", "Invalid Encoding Method specified in Request");
  std::string after = start_after;
  if (has_token) {
    auto t = base64_decode(token);
    if (!t || t->empty()) return s3_error(c, 400, "InvalidArgument", "The continuation token provided is incorrect");
    after = std::max(after, *t);
  }
  std::string modified;
  auto objects = collect(c, bucket, prefix, modified);
  if (!objects) return objects.error();
  if (modified.empty()) modified = "1970-01-01T00:00:00.000Z";
  const bool url = encoding == "url";

  std::string contents, prefixes, last;
  std::uint64_t count = 0;
  bool truncated = false;
  for (const auto& o : *objects) {
    if (!o.key.starts_with(prefix) || o.key <= after) continue;
    std::string common;
    if (!delimiter.empty()) {
      if (auto at = o.key.find(delimiter, prefix.size()); at != std::string::npos)
        common = o.key.substr(0, at + delimiter.size());
    }
    if (!common.empty() && (common == last || common <= after)) continue;  // rolled up already
    if (count == max_keys) {
      truncated = true;
      break;
    }
    ++count;
    if (!common.empty()) {
      prefixes += "<CommonPrefixes><Prefix>" + encode_key(common, url) + "</Prefix></CommonPrefixes>";
      last = common;
    } else {
      contents += "<Contents><Key>" + encode_key(o.key, url) + "</Key><LastModified>" + xml_escape(modified) +
                  "</LastModified><ETag>&quot;" + xml_escape(o.etag) + "&quot;</ETag><Size>" + std::to_string(o.size) +
                  "</Size><StorageClass>STANDARD</StorageClass></Contents>";
      last = o.key;
    }
  }
  std::string body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                     "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>" + bucket +
                     "</Name><Prefix>" + encode_key(prefix, url) + "</Prefix>";
  if (!delimiter.empty()) body += "<Delimiter>" + encode_key(delimiter, url) + "</Delimiter>";
  body += "<MaxKeys>" + std::to_string(max_keys) + "</MaxKeys>";
  if (url) body += "<EncodingType>url</EncodingType>";
  body += "<KeyCount>" + std::to_string(count) + "</KeyCount><IsTruncated>" + (truncated ? "true" : "false") +
          "</IsTruncated>";
  if (has_token) body += "<ContinuationToken>" + xml_escape(token) + "</ContinuationToken>";
  if (truncated) body += "<NextContinuationToken>" + base64_encode(last) + "</NextContinuationToken>";
  if (!start_after.empty()) body += "<StartAfter>" + encode_key(start_after, url) + "</StartAfter>";
  body += contents + prefixes + "</ListBucketResult>";
  return s3_xml(c, 200, std::move(body));
}

}  // namespace hubgate::hub
