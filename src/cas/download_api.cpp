// CAS HTTP API, read side: routing, token checks, reconstructions (v1/v2), signed xorb byte
// ranges, and the global-dedup chunk query.
//
// Reconstruction: the chunk store plans the requested byte range as terms (whole chunks of one
// xorb each, `offset_into_first_range` into the first); per xorb the terms' chunk ranges are
// sorted and merged where they overlap or touch, and each merged range becomes one fetch entry
// with one byte range (whole records) and its own signed URL — so URLs are unique within a reply
// and no client needs multi-range requests. v1 lists them as `fetch_info`, v2 as `xorbs`.
#include <algorithm>
#include <ctime>
#include <map>

#include "cas/internal.hpp"
#include "http/immutable.hpp"
#include "http/range.hpp"
#include "http/url.hpp"
#include "util/hex.hpp"
#include "util/parse.hpp"

namespace hubgate::cas {

namespace {

http::Response method_not_allowed(std::string_view allowed) {
  auto r = cas_error(405, "method not allowed (allowed: " + std::string(allowed) + ")");
  r.headers.set("Allow", std::string(allowed));
  return r;
}

}  // namespace

std::expected<XetToken, http::Response> Service::Impl::authorize(const http::Request& req, bool need_write) const {
  auto h = req.headers.get("Authorization");
  if (!h || h->size() <= 7 || !http::iequals(h->substr(0, 7), "Bearer ")) {
    return std::unexpected(cas_error(401, "a Xet access token is required (Authorization: Bearer <token from xet-read-token>)"));
  }
  std::string_view t = h->substr(7);
  while (!t.empty() && t.front() == ' ') t.remove_prefix(1);
  auto tok = verify_token(t);
  if (!tok) return std::unexpected(cas_error(401, tok.error().message));
  if (need_write && !tok->write) {
    return std::unexpected(cas_error(403, "this Xet token is read-only; uploads need one from xet-write-token"));
  }
  return *tok;
}

http::Response Service::handle(http::Request& req, const std::string& base_url, std::string& route) {
  Impl& m = *impl_;
  auto segs = split_segments(std::string_view(req.path).substr(5));  // after "/cas/"
  const auto& meth = req.method;
  auto seg = [&](std::size_t i) { return i < segs.size() ? segs[i] : std::string_view{}; };
  if (segs.size() == 3 && (seg(0) == "v1" || seg(0) == "v2") && seg(1) == "reconstructions") {
    route = "cas_reconstruction";
    if (meth != "GET") return method_not_allowed("GET");
    return m.reconstruction(req, base_url, std::string(seg(2)), seg(0) == "v1" ? 1 : 2);
  }
  if (segs.size() == 2 && seg(0) == "x") {
    route = "cas_xorb_range";
    if (meth != "GET" && meth != "HEAD") return method_not_allowed("GET");
    auto q = http::parse_query(req.query);
    if (!q) return cas_error(400, "malformed query string: " + q.error().message);
    return m.xorb_get(req, std::string(seg(1)), *q);
  }
  if (segs.size() == 4 && seg(0) == "v1" && seg(1) == "chunks" && (seg(2) == "default" || seg(2) == "default-merkledb")) {
    route = "cas_chunk";
    if (meth != "GET") return method_not_allowed("GET");
    return m.chunk_query(req, std::string(seg(3)));
  }
  if (segs.size() == 4 && seg(0) == "v1" && seg(1) == "xorbs" && (seg(2) == "default" || seg(2) == "default-merkledb")) {
    route = "cas_xorb_upload";
    if (meth != "POST") return method_not_allowed("POST");
    return m.xorb_post(req, std::string(seg(3)));
  }
  if (segs.size() == 2 && (seg(0) == "v1" || seg(0) == "v2") && seg(1) == "shards") {
    route = "cas_shard_upload";
    if (meth != "POST") return method_not_allowed("POST");
    return m.shard_post(req, seg(0) == "v1" ? 1 : 2);
  }
  if (segs.size() == 2 && seg(0) == "v1" && seg(1) == "telemetry") {
    route = "cas_telemetry";
    return cas_json(200, json::object());
  }
  if (segs.size() >= 2 && seg(0) == "v2" && seg(1) == "file-chunk-hashes") {
    route = "cas_other";
    return cas_error(501, "file-chunk-hashes (range edits) is not supported by this server");
  }
  route = "cas_other";
  return cas_error(404, "no such CAS endpoint");
}

http::Response Service::Impl::reconstruction(http::Request& req, const std::string& base, const std::string& hash_s, int version) {
  auto tok = authorize(req, false);
  if (!tok) return tok.error();
  auto hash = xet::MerkleHash::from_hex(hash_s);
  if (!hash) return cas_error(400, "malformed file hash '" + hash_s.substr(0, 80) + "'");
  if (tok->remote()) {  // pull-through: the edge makes sure the file is here, or refuses
    if (!remote_file) return cas_error(403, "remote Xet tokens are not accepted by this server");
    if (auto r = remote_file(*tok, *hash); !r) {
      ++counters.reconstruction_denied;
      const auto& e = r.error();
      int st = e.code == Errc::permission_denied || e.code == Errc::unauthenticated ? 403
               : e.code == Errc::not_found                                           ? 404
               : e.code == Errc::unavailable                                         ? 503
                                                                                     : 502;
      return cas_error(st, e.message);
    }
  }
  auto rec = chunks->lookup(*hash);
  if (!rec) return cas_error(404, "unknown Xet file " + hash->hex());
  // Read access: the token's commit must contain an LFS file with this Xet hash.
  bool allowed = tok->remote();  // checked by the remote-file hook above
  std::optional<repo::FileEntry> entry;
  if (!tok->commit.empty()) {
    auto snap = catalog.snapshot(tok->repo_key, tok->commit);
    if (snap) {
      for (const auto& f : (*snap)->files) {
        if (!f.lfs || f.size != rec->size) continue;
        std::array<std::uint8_t, 32> raw{};
        auto v = from_hex(f.sha256);
        if (!v || v->size() != 32) continue;
        std::copy(v->begin(), v->end(), raw.begin());
        auto fr = chunks->lookup_sha256(raw);
        if (fr && fr->file_hash == *hash) {
          allowed = true;
          entry = f;
          break;
        }
      }
    }
  }
  if (!allowed) {
    ++counters.reconstruction_denied;
    return cas_error(403, "Xet file " + hash->hex() + " is not part of " + tok->repo + "@" +
                              (tok->commit.empty() ? std::string("(no commit)") : tok->commit.substr(0, 12)));
  }
  if (opts.download_gate && entry) {  // the security gate applies to Xet downloads as to resolve
    if (auto refused = opts.download_gate(*tok, *entry)) {
      ++counters.reconstruction_denied;
      auto e = cas_error(403, *refused);
      e.headers.set("X-Error-Code", "BlockedBySecurityPolicy");
      return e;
    }
  }
  std::uint64_t first = 0, length = rec->size;
  if (auto rh = req.headers.get("Range")) {
    auto r = http::parse_range(*rh, rec->size);
    if (!r) return cas_error(400, "malformed Range: " + r.error().message);
    if (r->kind == http::ByteRange::Kind::multiple) return cas_error(400, "a reconstruction takes one byte range");
    if (r->kind == http::ByteRange::Kind::unsatisfiable) {
      if (rec->size == 0) {
        length = 0;
      } else {
        auto e = cas_error(416, "range not satisfiable for a file of " + std::to_string(rec->size) + " bytes");
        e.headers.set("Content-Range", "bytes */" + std::to_string(rec->size));
        return e;
      }
    } else {
      first = r->first;
      length = r->length();
    }
  }
  auto plan = chunks->plan(*rec, first, length);
  if (!plan) return cas_error(500, "reconstruction: " + plan.error().message);
  json terms = json::array();
  std::map<xet::MerkleHash, std::vector<std::pair<std::uint32_t, std::uint32_t>>> per_xorb;
  for (const auto& t : plan->terms) {
    terms.push_back({{"hash", t.xorb.hex()},
                     {"unpacked_length", t.unpacked_length},
                     {"range", {{"start", t.chunk_start}, {"end", t.chunk_end}}}});
    per_xorb[t.xorb].emplace_back(t.chunk_start, t.chunk_end);
  }
  json fetch = json::object();
  for (auto& [x, ranges] : per_xorb) {
    std::sort(ranges.begin(), ranges.end());
    std::vector<std::pair<std::uint32_t, std::uint32_t>> merged;
    for (const auto& r : ranges) {
      if (!merged.empty() && r.first <= merged.back().second) {
        merged.back().second = std::max(merged.back().second, r.second);
      } else {
        merged.push_back(r);
      }
    }
    json entries = json::array();
    for (const auto& [s, e] : merged) {
      auto br = chunks->xorb_byte_range(x, s, e);
      if (!br) return cas_error(500, "reconstruction: " + br.error().message);
      std::string url = xorb_url(base, x, br->first, br->second - 1);
      json chunks_j = {{"start", s}, {"end", e}};
      json bytes_j = {{"start", br->first}, {"end", br->second - 1}};
      if (version == 1) {
        entries.push_back({{"range", chunks_j}, {"url", url}, {"url_range", bytes_j}});
      } else {
        entries.push_back({{"url", url}, {"ranges", json::array({{{"chunks", chunks_j}, {"bytes", bytes_j}}})}});
      }
    }
    fetch[x.hex()] = std::move(entries);
  }
  json out = {{"offset_into_first_range", plan->offset_into_first_range}, {"terms", std::move(terms)}};
  out[version == 1 ? "fetch_info" : "xorbs"] = std::move(fetch);
  ++(version == 1 ? counters.reconstructions_v1 : counters.reconstructions_v2);
  return cas_json(200, out);
}

http::Response Service::Impl::xorb_get(http::Request& req, const std::string& hash_s,
                                       const std::vector<std::pair<std::string, std::string>>& q) {
  auto reject = [&](int status, std::string msg) {
    ++counters.xorb_url_rejected;
    return cas_error(status, std::move(msg));
  };
  auto hash = xet::MerkleHash::from_hex(hash_s);
  if (!hash || hash->hex() != hash_s) return reject(400, "malformed xorb hash");
  std::string r = http::query_get(q, "r"), x = http::query_get(q, "x"), sig = http::query_get(q, "s");
  auto dash = r.find('-');
  auto exp = parse_u64(x);
  if (dash == std::string::npos || !exp || sig.empty()) return reject(403, "xorb URL is not signed (r, x and s are required)");
  auto lo = parse_u64(r.substr(0, dash)), hi = parse_u64(r.substr(dash + 1));
  if (!lo || !hi || *lo > *hi) return reject(403, "xorb URL has a malformed range");
  auto ok = signer.verify("xet-xorb:" + hash_s + ":" + r, std::int64_t(*exp), sig, std::int64_t(std::time(nullptr)));
  if (!ok) return reject(403, "xorb URL rejected: " + ok.error().message + " (fetch a new reconstruction)");
  auto size = objects->size(xet::ObjectKind::xorb, *hash);
  if (!size) return cas_error(500, size.error().message);
  if (!*size) return reject(404, "xorb " + hash_s + " is not stored");
  if (*hi >= **size) return reject(416, "signed range lies past the end of xorb " + hash_s);
  std::uint64_t first = *lo, last = *hi;
  int status = 200;
  if (auto rh = req.headers.get("Range")) {
    auto br = http::parse_range(*rh, **size);
    if (!br) return reject(400, "malformed Range: " + br.error().message);
    if (br->kind != http::ByteRange::Kind::satisfiable) return reject(416, "one satisfiable byte range is required");
    if (br->first < *lo || br->last > *hi) return reject(403, "requested bytes lie outside the signed range " + r);
    first = br->first;
    last = br->last;
    status = 206;
  }
  auto file = objects->local_file(xet::ObjectKind::xorb, *hash);
  if (!file) return cas_error(file.error().code == Errc::unavailable ? 503 : 500, "cannot open xorb: " + file.error().message);
  auto fh = http::FileHandle::open(*file);
  if (!fh) return cas_error(500, "cannot open xorb: " + fh.error().message);
  http::Response res;
  res.status = status;
  res.headers.set("Content-Type", "application/octet-stream");
  // Content-addressed and signed: a CDN keeps it, its cache key being the path and `r` (the
  // signature `x`/`s` stripped; README.md "A CDN in front").
  http::set_immutable(res, hash_s);
  if (status == 206) res.headers.set("Content-Range", "bytes " + std::to_string(first) + "-" + std::to_string(last) + "/" + std::to_string(**size));
  std::uint64_t len = last - first + 1;
  if (req.method == "HEAD") {
    res.body = std::string();
    res.headers.set("Content-Length", std::to_string(len));
  } else {
    res.body = http::FileBody{*fh, first, len};
  }
  ++counters.xorb_range_requests;
  counters.xorb_range_bytes += len;
  return res;
}

http::Response Service::Impl::chunk_query(http::Request& req, const std::string& hash_s) {
  auto tok = authorize(req, false);
  if (!tok) return tok.error();
  auto hash = xet::MerkleHash::from_hex(hash_s);
  if (!hash) return cas_error(400, "malformed chunk hash");
  auto where = chunks->find_chunk(*hash);
  std::optional<xet::CasInfo> ci;
  if (where) ci = chunks->xorb_info(where->first);
  if (!ci) {
    ++counters.dedup_misses;
    return cas_error(404, "chunk not found");
  }
  // Chunk hashes go out keyed with this server's HMAC key: a client can only recognise chunks it has.
  for (auto& c : ci->chunks) c.hash = xet::hmac(dedup_key, c.hash);
  xet::Shard shard;
  shard.xorbs.push_back(std::move(*ci));
  xet::ShardWriteOptions wo;
  wo.footer = true;
  wo.creation_ts = std::uint64_t(std::time(nullptr));
  wo.key_expiry = std::uint64_t(dedup_key_expiry);
  wo.hmac_key = dedup_key;
  ++counters.dedup_hits;
  http::Response res;
  res.headers.set("Content-Type", "application/octet-stream");
  res.body = xet::serialize_shard(shard, wo);
  return res;
}

}  // namespace hubgate::cas
