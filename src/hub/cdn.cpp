// A CDN in front of the gateway (HubOptions::cdn_url; README.md "A CDN in front"). Resolve of a
// hosted LFS file answers 302 to `<cdn>/blobs/sha256/<hex>?size=N&x=EXP&s=SIG`; the signature
// (HMAC over "blob:<hex>:<size>" and the expiry, the same key as upload URLs) is the
// authorization, in the query so that the CDN can leave it out of its cache key (the path is the
// content's hash). The blob answer is cacheable forever: immutable Cache-Control, strong ETag =
// the sha256, Accept-Ranges, a Content-Length (bodies are files or sized producers, never
// chunked), single-range 206, and no Vary or Set-Cookie.
#include <ctime>

#include "http/immutable.hpp"
#include "http/range.hpp"
#include "http/url.hpp"
#include "hub/context.hpp"
#include "util/hex.hpp"
#include "util/parse.hpp"

namespace hubgate::hub {

namespace {

std::string blob_payload(std::string_view sha256, std::uint64_t size) {
  return "blob:" + std::string(sha256) + ":" + std::to_string(size);
}

}  // namespace

http::Response cdn_redirect(Ctx& c, http::Response res, const std::string& sha256, std::uint64_t size) {
  std::int64_t exp = std::int64_t(std::time(nullptr)) + c.hub.opts.blob_url_ttl_s;
  res.status = 302;
  res.headers.set("Location", c.hub.opts.cdn_url + "/blobs/sha256/" + sha256 + "?size=" + std::to_string(size) +
                                  "&x=" + std::to_string(exp) + "&s=" + c.hub.signer.sign(blob_payload(sha256, size), exp));
  res.body = std::string();
  return res;
}

http::Response blob_by_hash(Ctx& c, std::string_view hex) {
  if (c.req.method != "GET" && c.req.method != "HEAD") return error(405, "", "GET or HEAD");
  if (!is_lower_hex(hex, 64)) return error(404, "", "no such blob");
  auto size = parse_u64(http::query_get(c.query, "size"));
  auto exp = parse_u64(http::query_get(c.query, "x"));
  std::string sig = http::query_get(c.query, "s");
  if (!size || !exp || sig.empty()) return error(403, "", "blob URL is not signed (size, x and s are required)");
  if (auto ok = c.hub.signer.verify(blob_payload(hex, *size), std::int64_t(*exp), sig, std::int64_t(std::time(nullptr)));
      !ok)
    return error(403, "", "blob URL rejected: " + ok.error().message + " (resolve the file again)");
  auto sel = http::select_range(c.req.headers.get("Range"), *size);
  if (!sel) return error(400, "", sel.error().message);
  if (sel->status == 416) {
    auto e = error(416, "", "range not satisfiable for a blob of " + std::to_string(*size) + " bytes");
    e.headers.set("Content-Range", *sel->content_range);
    return e;
  }
  http::Response res;
  res.status = sel->status;
  if (sel->content_range) res.headers.set("Content-Range", *sel->content_range);
  res.headers.set("Content-Type", "application/octet-stream");
  http::set_immutable(res, hex);
  // Only LFS files are signed (cdn_redirect): read as resolve reads them.
  return file_body(c, std::move(res), std::string(hex), *size, true, sel->first, sel->length, "blob " + std::string(hex));
}

}  // namespace hubgate::hub
