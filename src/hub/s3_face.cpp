// The read-only S3 face (docs/spec/s3.md part 1): recognising S3 requests, SigV4, buckets,
// HeadObject/GetObject and S3 errors. An object request is answered by the Hub's own resolve
// route — `resolve()` for a hosted repository, `remote()` (upstream::Edge) for pull-through —
// so visibility, gated repositories, signature policy, the security gate and cache fills are the
// same code; this file only reshapes the request (key → REV/PATH) and the answer (S3 headers,
// 416 for ranges on empty objects, conditionals, XML errors).
//
// Routing: `Host: models.<s3_domain>` (virtual host) is always S3. Otherwise S3 requests are
// path style: `GET /`, the bare bucket paths /models and /datasets, and any request carrying an
// AWS signature (no Hub route is signed; a first segment other than models/datasets is then
// NoSuchBucket) are S3; an unsigned object request under /models or /datasets is S3 unless a
// Hub route claims its path (`/datasets/ORG/NAME/resolve/…`, `/models/NAME/resolve/…`,
// `…/raw/…`, `….git/info/lfs/…`). So an unsigned key whose REVISION (or NAME, or ORG) is
// `resolve` or `raw` reaches the Hub route; signed, it is S3.
#include <ctime>

#include "auth/sigv4.hpp"
#include "http/range.hpp"
#include "http/url.hpp"
#include "hub/s3_internal.hpp"

namespace hubgate::hub {

namespace {

bool is_bucket(std::string_view b) { return b == "models" || b == "datasets"; }

bool carries_aws_signature(const http::Request& req) {
  if (auto a = req.headers.get("Authorization"); a && (a->starts_with("AWS4-HMAC-SHA256") || a->starts_with("AWS ")))
    return true;
  return req.query.find("X-Amz-Signature=") != std::string::npos;
}

// Mirrors the shapes hub.cpp's route_repo answers (resolve/raw, canonical ids, LFS batch).
bool hub_route_shape(std::vector<std::string_view> segs) {
  if (!segs.empty() && (segs[0] == "datasets" || segs[0] == "spaces")) segs.erase(segs.begin());
  auto file_route = [](std::string_view s) { return s == "resolve" || s == "raw"; };
  if (segs.size() >= 3 && file_route(segs[1]) && !file_route(segs[2])) return true;
  if (segs.size() >= 4 && file_route(segs[2])) return true;
  return segs.size() >= 3 && segs[1].ends_with(".git");
}

std::string lower_host(const http::Request& req) {
  std::string host(req.headers.get("Host").value_or(""));
  if (auto colon = host.rfind(':'); colon != std::string::npos && host.find(']') == std::string::npos) host.resize(colon);
  for (auto& ch : host)
    if (ch >= 'A' && ch <= 'Z') ch = char(ch - 'A' + 'a');
  return host;
}

std::string strip_quotes(std::string_view v) {
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
  if (v.starts_with("W/")) v.remove_prefix(2);
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  return std::string(v);
}

// If-Match / If-None-Match lists against an ETag ("*" matches any existing object).
bool etag_listed(std::string_view list, const std::string& etag) {
  while (!list.empty()) {
    auto comma = list.find(',');
    std::string item = strip_quotes(list.substr(0, comma));
    if (item == "*" || item == etag) return true;
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
  }
  return false;
}

// Unix seconds of "2015-10-21T07:28:00.000Z" (ISO, as repository dates are written) or of
// "Wed, 21 Oct 2015 07:28:00 GMT" (IMF-fixdate, HTTP headers); nullopt when it does not parse.
std::optional<std::int64_t> unix_time(std::string_view text, bool imf) {
  std::tm tm{};
  std::string s(text.substr(0, imf ? 64 : 19));
  const char* end = strptime(s.c_str(), imf ? "%a, %d %b %Y %H:%M:%S GMT" : "%Y-%m-%dT%H:%M:%S", &tm);
  if (!end || (imf && *end != '\0')) return std::nullopt;
  return std::int64_t(timegm(&tm));
}

std::string imf_date(std::int64_t unix_seconds) {
  std::time_t t = std::time_t(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

http::Response list_buckets(const Ctx& c) {
  std::string body =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<ListAllMyBucketsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
      "<Owner><ID>hubgate</ID><DisplayName>hubgate</DisplayName></Owner><Buckets>";
  for (const char* b : {"datasets", "models"})
    body += std::string("<Bucket><Name>") + b + "</Name><CreationDate>1970-01-01T00:00:00.000Z</CreationDate></Bucket>";
  body += "</Buckets></ListAllMyBucketsResult>";
  return s3_xml(c, 200, std::move(body));
}

// Sub-resources an object or bucket request may carry without changing what it asks for.
bool plain_parameter(std::string_view k) {
  return k.starts_with("X-Amz-") || k.starts_with("x-amz-") || k.starts_with("response-") || k == "partNumber" ||
         k == "versionId";
}

http::Response bucket_request(Ctx& c, const std::string& bucket) {
  const auto& q = c.query;
  auto has = [&](std::string_view k) {
    for (const auto& [name, v] : q)
      if (name == k) return true;
    return false;
  };
  if (c.req.method == "HEAD") {
    http::Response r;
    r.status = 200;
    r.headers.set("x-amz-bucket-region", "us-east-1");
    r.headers.set("x-amz-request-id", c.req.request_id);
    r.body = std::string();
    return r;
  }
  if (has("location"))
    return s3_xml(c, 200,
                  "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                  "<LocationConstraint xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"/>");
  if (has("list-type")) {
    if (http::query_get(q, "list-type") != "2")
      return s3_error(c, 400, "InvalidArgument", "list-type must be 2 (ListObjectsV2)");
    return s3_list_objects(c, bucket);
  }
  for (const auto& [k, v] : q)
    if (!plain_parameter(k) && k != "prefix" && k != "delimiter" && k != "max-keys" && k != "encoding-type" &&
        k != "marker")
      return s3_error(c, 501, "NotImplemented", "the bucket sub-resource '" + k + "' is not implemented");
  return s3_error(c, 501, "NotImplemented", "ListObjects (v1) is not implemented: use ListObjectsV2 (list-type=2)");
}

http::Response object_request(Ctx& c, const std::string& bucket, const std::string& key) {
  for (const auto& [k, v] : c.query)
    if (!plain_parameter(k)) return s3_error(c, 501, "NotImplemented", "the object sub-resource '" + k + "' is not implemented");
  if (std::string part = http::query_get(c.query, "partNumber"); !part.empty()) {
    // A hubgate object is one part: part 1 is the whole object as a 206 (CRT's fallback).
    if (part != "1") return s3_error(c, 416, "InvalidPartNumber", "The requested partnumber is not satisfiable");
    if (!c.req.headers.has("Range")) c.req.headers.set("Range", "bytes=0-");
  }
  S3RepoKey rk;
  if (!s3_repo_key(bucket, key, rk) || rk.rest.empty() || rk.rest.find('/') == std::string::npos ||
      rk.rest.back() == '/')
    return s3_error(c, 404, "NoSuchKey", "The specified key does not exist.", {{"Key", key}});
  // The Hub's resolve route, as `/{repo}/resolve/{rev}/{path}` would reach it.
  const std::string raw_rest = http::percent_encode(rk.rest, true);
  http::Response res = is_remote(c, rk.id) ? remote(c, "resolve", rk.id, raw_rest) : resolve(c, rk.id, raw_rest, false);
  if (res.status >= 300) {
    auto e = s3_error_from_hub(c, res);
    if (e.status == 404) return s3_error(c, 404, "NoSuchKey", "The specified key does not exist.", {{"Key", key}});
    return e;
  }
  const std::string etag = strip_quotes(res.headers.get("ETag").value_or(""));
  if (auto range = c.req.headers.get("Range"); range && res.status == 200 &&
                                               res.headers.get("Content-Range") == std::optional<std::string_view>("bytes */0") &&
                                               http::parse_range(*range, 0)) {
    auto e = s3_error(c, 416, "InvalidRange", "The requested range is not satisfiable",
                      {{"RangeRequested", std::string(*range)}, {"ActualObjectSize", "0"}});
    e.headers.set("Content-Range", "bytes */0");
    return e;
  }
  if (res.status == 200) res.headers.erase("Content-Range");
  // Conditionals (S3's precedence: a true If-Match overrides If-Unmodified-Since, a false
  // If-None-Match overrides If-Modified-Since). Dates compare with the revision's commit date.
  const auto if_match = c.req.headers.get("If-Match"), if_none = c.req.headers.get("If-None-Match");
  const auto if_unmod = c.req.headers.get("If-Unmodified-Since"), if_mod = c.req.headers.get("If-Modified-Since");
  std::optional<std::int64_t> modified;
  if (c.req.method == "HEAD" || !c.req.headers.has("Range") || if_unmod || if_mod) {  // aws s3 cp reads it from HEAD
    modified = unix_time(s3_commit_date(c, rk.id, std::string(res.headers.get("X-Repo-Commit").value_or(""))), false);
    if (modified) res.headers.set("Last-Modified", imf_date(*modified));
  }
  auto since = [&](std::optional<std::string_view> h) { return h ? unix_time(*h, true) : std::nullopt; };
  if ((if_match && !etag_listed(*if_match, etag)) ||
      (!if_match && modified && since(if_unmod) && *modified > *since(if_unmod)))
    return s3_error(c, 412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold",
                    {{"Condition", if_match ? "If-Match" : "If-Unmodified-Since"}});
  if ((if_none && etag_listed(*if_none, etag)) ||
      (!if_none && modified && since(if_mod) && *modified <= *since(if_mod))) {
    http::Response r;
    r.status = 304;
    r.headers.set("ETag", "\"" + etag + "\"");
    if (modified) r.headers.set("Last-Modified", imf_date(*modified));
    r.headers.set("x-amz-request-id", c.req.request_id);
    r.body = std::string();
    return r;
  }
  for (const char* h : {"X-Linked-Etag", "X-Linked-Size"}) res.headers.erase(h);
  res.headers.set("x-amz-request-id", c.req.request_id);
  return res;
}

}  // namespace

std::optional<S3Target> s3_target(const HubOptions& o, const http::Request& req) {
  if (!o.s3_face) return std::nullopt;
  if (!o.s3_domain.empty()) {
    std::string host = lower_host(req);
    for (const char* b : {"models", "datasets"})
      if (host == std::string(b) + "." + o.s3_domain) return S3Target{b, req.path.size() > 1 ? req.path.substr(1) : ""};
  }
  if (req.path == "/") return S3Target{};
  auto segs = split_segments(std::string_view(req.path).substr(1));
  std::string bucket(segs[0]);
  std::string raw_key = segs.size() > 1 ? req.path.substr(bucket.size() + 2) : "";
  if (carries_aws_signature(req)) return S3Target{bucket, raw_key};  // no Hub route is signed so
  if (!is_bucket(segs[0])) return std::nullopt;
  if (raw_key.empty() || !hub_route_shape(segs)) return S3Target{bucket, raw_key};
  return std::nullopt;
}

http::Response s3_handle(Ctx& c, const S3Target& t) {
  // Authentication: a valid SigV4 signature by a known key acts as that key's token; no
  // signature, or a key this gateway does not know, is anonymous (public repositories only).
  auto claim = auth::sigv4_claim(c.req);
  if (!claim) return s3_error(c, claim.error().status, claim.error().code, claim.error().message);
  if (*claim) {
    auto key = c.hub.tokens.find_s3_key((*claim)->access_key);
    if (!key) return s3_error(c, 500, "InternalError", key.error().message);
    if (*key) {
      if (auto bad = auth::sigv4_verify(c.req, **claim, (*key)->secret, std::time(nullptr)))
        return s3_error(c, bad->status, bad->code, bad->message);
      c.token = (*key)->token;
    }
  }
  c.req.headers.erase("Authorization");  // never passed on (upstream would take it for its own)
  auto q = http::parse_query(c.req.query);
  if (!q) return s3_error(c, 400, "InvalidArgument", "malformed query string: " + q.error().message);
  c.query = std::move(*q);
  if (c.req.method != "GET" && c.req.method != "HEAD") {
    auto e = s3_error(c, 403, "AccessDenied", "this S3 endpoint is read-only");
    return e;
  }
  if (t.bucket.empty() && t.raw_key.empty()) return list_buckets(c);
  if (!is_bucket(t.bucket))
    return s3_error(c, 404, "NoSuchBucket", "The specified bucket does not exist", {{"BucketName", t.bucket}});
  if (t.raw_key.empty()) return bucket_request(c, t.bucket);
  auto key = http::percent_decode(t.raw_key);  // once; '+' stays '+'
  if (!key) return s3_error(c, 400, "InvalidURI", "Couldn't parse the specified URI.");
  return object_request(c, t.bucket, *key);
}

// ---- shared helpers (s3_internal.hpp) -------------------------------------------------------

std::string xml_escape(std::string_view s) {
  std::string out = html_escape(s);
  std::string res;
  for (char ch : out) res += ch == '\'' ? std::string("&apos;") : std::string(1, ch);
  return res;
}

http::Response s3_xml(const Ctx& c, int status, std::string body) {
  http::Response r;
  r.status = status;
  r.headers.set("Content-Type", "application/xml");
  r.headers.set("x-amz-request-id", c.req.request_id);
  r.body = c.req.method == "HEAD" ? std::string() : std::move(body);
  return r;
}

http::Response s3_error(const Ctx& c, int status, std::string_view code, const std::string& message,
                        const std::vector<std::pair<std::string, std::string>>& extra) {
  std::string body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>" + std::string(code) +
                     "</Code><Message>" + xml_escape(message) + "</Message>";
  for (const auto& [k, v] : extra) body += "<" + k + ">" + xml_escape(v) + "</" + k + ">";
  auto path = http::percent_decode(c.req.path);
  body += "<Resource>" + xml_escape(path ? *path : c.req.path) + "</Resource><RequestId>" + xml_escape(c.req.request_id) +
          "</RequestId></Error>";
  auto r = s3_xml(c, status, std::move(body));
  r.headers.set("x-amz-error-code", std::string(code));
  return r;
}

http::Response s3_error_from_hub(const Ctx& c, const http::Response& hub) {
  std::string msg(hub.headers.get("X-Error-Message").value_or(http::status_reason(hub.status)));
  switch (hub.status) {
    case 401:
    case 403: return s3_error(c, 403, "AccessDenied", msg.empty() ? "Access Denied" : msg);
    case 404: return s3_error(c, 404, "NoSuchKey", msg);
    case 416: {
      std::string total(hub.headers.get("Content-Range").value_or(""));
      auto slash = total.rfind('/');
      auto e = s3_error(c, 416, "InvalidRange", "The requested range is not satisfiable",
                        {{"RangeRequested", std::string(c.req.headers.get("Range").value_or(""))},
                         {"ActualObjectSize", slash == std::string::npos ? "" : total.substr(slash + 1)}});
      if (!total.empty()) e.headers.set("Content-Range", total);
      return e;
    }
    case 400: return s3_error(c, 400, "InvalidArgument", msg);
    case 503: return s3_error(c, 503, "ServiceUnavailable", msg);
    default:
      if (hub.status >= 300 && hub.status < 400) return s3_error(c, 404, "NoSuchKey", msg);
      return s3_error(c, hub.status >= 500 ? hub.status : 500, "InternalError", msg);
  }
}

bool s3_repo_key(std::string_view bucket, std::string_view key, S3RepoKey& out) {
  auto a = key.find('/');
  if (a == std::string_view::npos) return false;
  auto b = key.find('/', a + 1);
  if (b == std::string_view::npos) return false;
  auto id = repo::make_repo_id(bucket == "datasets" ? repo::RepoType::dataset : repo::RepoType::model, key.substr(0, a),
                               key.substr(a + 1, b - a - 1));
  if (!id) return false;
  out.id = *id;
  out.org_name = std::string(key.substr(0, b));
  out.rest = std::string(key.substr(b + 1));
  return true;
}

}  // namespace hubgate::hub
