// SigV4 verification (see sigv4.hpp). Parsing is strict about the parts the signature depends
// on and lenient about spacing (`,` with or without a space in the Authorization header).
#include "auth/sigv4.hpp"

#include <openssl/crypto.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <ctime>

#include "crypto/sha.hpp"
#include "http/url.hpp"
#include "util/hex.hpp"

namespace hubgate::auth {

namespace {

SigV4Failure malformed(std::string msg) { return {400, "AuthorizationHeaderMalformed", std::move(msg)}; }

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& ch : out)
    if (ch >= 'A' && ch <= 'Z') ch = char(ch - 'A' + 'a');
  return out;
}

bool is_hex64(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char ch) {
           return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f');
         });
}

// "AKID/YYYYMMDD/REGION/s3/aws4_request"
std::optional<SigV4Failure> parse_credential(std::string_view cred, SigV4Claim& c) {
  std::vector<std::string_view> parts;
  while (true) {
    auto slash = cred.find('/');
    parts.push_back(cred.substr(0, slash));
    if (slash == std::string_view::npos) break;
    cred.remove_prefix(slash + 1);
  }
  if (parts.size() != 5 || parts[0].empty() || parts[1].size() != 8 || parts[2].empty() || parts[3] != "s3" ||
      parts[4] != "aws4_request")
    return malformed("the credential must be ACCESS_KEY/YYYYMMDD/REGION/s3/aws4_request");
  c.access_key = parts[0];
  c.scope_date = parts[1];
  c.region = parts[2];
  return std::nullopt;
}

std::vector<std::string> split_signed_headers(std::string_view s) {
  std::vector<std::string> out;
  while (!s.empty()) {
    auto semi = s.find(';');
    out.push_back(lower(s.substr(0, semi)));
    s = semi == std::string_view::npos ? std::string_view{} : s.substr(semi + 1);
  }
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Unix seconds of "YYYYMMDDTHHMMSSZ", or nullopt.
std::optional<std::int64_t> parse_amz_date(std::string_view d) {
  if (d.size() != 16 || d[8] != 'T' || d[15] != 'Z') return std::nullopt;
  auto num = [&](std::size_t at, std::size_t n) -> std::optional<int> {
    int v = 0;
    for (std::size_t i = at; i < at + n; ++i) {
      if (d[i] < '0' || d[i] > '9') return std::nullopt;
      v = v * 10 + (d[i] - '0');
    }
    return v;
  };
  auto y = num(0, 4), mo = num(4, 2), da = num(6, 2), h = num(9, 2), mi = num(11, 2), s = num(13, 2);
  if (!y || !mo || !da || !h || !mi || !s || *mo < 1 || *mo > 12 || *da < 1 || *da > 31 || *h > 23 || *mi > 59 ||
      *s > 60)
    return std::nullopt;
  std::tm tm{};
  tm.tm_year = *y - 1900;
  tm.tm_mon = *mo - 1;
  tm.tm_mday = *da;
  tm.tm_hour = *h;
  tm.tm_min = *mi;
  tm.tm_sec = *s;
  return std::int64_t(timegm(&tm));
}

std::string hmac(std::string_view key, std::string_view msg) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), int(key.size()), reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), out,
       &len);
  return std::string(reinterpret_cast<const char*>(out), len);
}

}  // namespace

std::expected<std::optional<SigV4Claim>, SigV4Failure> sigv4_claim(const http::Request& req) {
  SigV4Claim c;
  if (auto h = req.headers.get("Authorization")) {
    std::string_view v = trim(*h);
    if (v.starts_with("AWS ")) return std::unexpected(SigV4Failure{400, "InvalidRequest", "SigV2 is not supported: sign with SigV4"});
    constexpr std::string_view alg = "AWS4-HMAC-SHA256";
    if (!v.starts_with(alg)) return std::optional<SigV4Claim>{};  // not an S3 signature (e.g. a Bearer token)
    v.remove_prefix(alg.size());
    std::optional<std::string_view> cred, signed_headers, sig;
    while (!v.empty()) {
      auto comma = v.find(',');
      std::string_view item = trim(v.substr(0, comma));
      v = comma == std::string_view::npos ? std::string_view{} : v.substr(comma + 1);
      auto eq = item.find('=');
      if (eq == std::string_view::npos) return std::unexpected(malformed("malformed Authorization component"));
      std::string_view k = item.substr(0, eq), val = item.substr(eq + 1);
      if (k == "Credential") cred = val;
      else if (k == "SignedHeaders") signed_headers = val;
      else if (k == "Signature") sig = val;
    }
    if (!cred || !signed_headers || !sig) return std::unexpected(malformed("Authorization lacks Credential, SignedHeaders or Signature"));
    if (auto f = parse_credential(*cred, c)) return std::unexpected(*f);
    c.signed_headers = split_signed_headers(*signed_headers);
    c.signature = *sig;
    auto date = req.headers.get("x-amz-date");
    if (!date) return std::unexpected(malformed("x-amz-date is required"));
    c.amz_date = trim(*date);
  } else {
    auto q = http::parse_query(req.query);
    if (!q) return std::unexpected(SigV4Failure{400, "InvalidArgument", "malformed query string"});
    std::string sig = http::query_get(*q, "X-Amz-Signature");
    if (sig.empty()) return std::optional<SigV4Claim>{};
    c.presigned = true;
    if (http::query_get(*q, "X-Amz-Algorithm") != "AWS4-HMAC-SHA256")
      return std::unexpected(malformed("X-Amz-Algorithm must be AWS4-HMAC-SHA256"));
    if (auto f = parse_credential(http::query_get(*q, "X-Amz-Credential"), c)) return std::unexpected(*f);
    c.signed_headers = split_signed_headers(http::query_get(*q, "X-Amz-SignedHeaders"));
    c.signature = sig;
    c.amz_date = http::query_get(*q, "X-Amz-Date");
    std::string exp = http::query_get(*q, "X-Amz-Expires");
    std::int64_t e = 0;
    bool ok = !exp.empty() && exp.size() <= 6;
    for (char ch : exp) {
      if (ch < '0' || ch > '9') ok = false;
      else e = e * 10 + (ch - '0');
    }
    if (!ok || e < 1 || e > 604800)
      return std::unexpected(SigV4Failure{400, "InvalidArgument", "X-Amz-Expires must be 1..604800 seconds"});
    c.expires = e;
  }
  if (!parse_amz_date(c.amz_date) || !c.amz_date.starts_with(c.scope_date))
    return std::unexpected(malformed("the request date must be YYYYMMDDTHHMMSSZ on the credential's date"));
  if (!is_hex64(c.signature)) return std::unexpected(malformed("the signature must be 64 lowercase hex digits"));
  if (std::find(c.signed_headers.begin(), c.signed_headers.end(), "host") == c.signed_headers.end())
    return std::unexpected(malformed("SignedHeaders must include host"));
  return std::optional<SigV4Claim>(std::move(c));
}

std::expected<std::string, SigV4Failure> sigv4_canonical_request(const http::Request& req, const SigV4Claim& claim) {
  auto path = http::percent_decode(req.path.empty() ? "/" : req.path);
  if (!path) return std::unexpected(SigV4Failure{400, "InvalidURI", "malformed path: " + path.error().message});
  auto q = http::parse_query(req.query);
  if (!q) return std::unexpected(SigV4Failure{400, "InvalidArgument", "malformed query string"});
  std::vector<std::pair<std::string, std::string>> params;
  for (const auto& [k, v] : *q) {
    if (claim.presigned && k == "X-Amz-Signature") continue;
    params.emplace_back(http::percent_encode(k, false), http::percent_encode(v, false));
  }
  std::sort(params.begin(), params.end());
  std::string out = req.method + "\n" + http::percent_encode(*path, true) + "\n";
  for (std::size_t i = 0; i < params.size(); ++i) out += (i ? "&" : "") + params[i].first + "=" + params[i].second;
  out += "\n";
  for (const auto& name : claim.signed_headers) {
    std::string joined;
    bool first = true;
    for (auto value : req.headers.all(name)) {
      std::string collapsed;
      for (char ch : trim(value)) {
        if ((ch == ' ' || ch == '\t') && !collapsed.empty() && collapsed.back() == ' ') continue;
        collapsed += ch == '\t' ? ' ' : ch;
      }
      joined += (first ? "" : ",") + collapsed;
      first = false;
    }
    out += name + ":" + joined + "\n";
  }
  out += "\n";
  for (std::size_t i = 0; i < claim.signed_headers.size(); ++i) out += (i ? ";" : "") + claim.signed_headers[i];
  out += "\n";
  if (auto p = req.headers.get("x-amz-content-sha256")) out += trim(*p);
  else out += claim.presigned ? std::string_view("UNSIGNED-PAYLOAD") : kEmptyPayloadSha256;
  return out;
}

std::string sigv4_signature(std::string_view secret, std::string_view scope_date, std::string_view region,
                            std::string_view string_to_sign) {
  std::string k = hmac("AWS4" + std::string(secret), scope_date);
  k = hmac(k, region);
  k = hmac(k, "s3");
  k = hmac(k, "aws4_request");
  return to_hex(hmac(k, string_to_sign));
}

std::optional<SigV4Failure> sigv4_verify(const http::Request& req, const SigV4Claim& claim, std::string_view secret,
                                         std::int64_t now) {
  const std::int64_t at = *parse_amz_date(claim.amz_date);  // checked by sigv4_claim
  if (claim.presigned) {
    if (at > now + kSigV4MaxSkewSeconds) return SigV4Failure{403, "AccessDenied", "Request is not valid yet"};
    if (now > at + claim.expires) return SigV4Failure{403, "AccessDenied", "Request has expired"};
  } else if (at > now + kSigV4MaxSkewSeconds || at < now - kSigV4MaxSkewSeconds) {
    return SigV4Failure{403, "RequestTimeTooSkewed",
                        "The difference between the request time and the server's time is too large."};
  }
  for (const auto& f : req.headers.fields()) {  // every x-amz-* header present must be signed
    std::string n = lower(f.name);
    if (n.starts_with("x-amz-") &&
        std::find(claim.signed_headers.begin(), claim.signed_headers.end(), n) == claim.signed_headers.end())
      return SigV4Failure{403, "AccessDenied", "header " + n + " is present but not signed"};
  }
  auto canonical = sigv4_canonical_request(req, claim);
  if (!canonical) return canonical.error();
  std::string to_sign = "AWS4-HMAC-SHA256\n" + claim.amz_date + "\n" + claim.scope_date + "/" + claim.region +
                        "/s3/aws4_request\n" + crypto::sha256_hex(*canonical);
  std::string want = sigv4_signature(secret, claim.scope_date, claim.region, to_sign);
  if (want.size() != claim.signature.size() || CRYPTO_memcmp(want.data(), claim.signature.data(), want.size()) != 0)
    return SigV4Failure{403, "SignatureDoesNotMatch",
                        "The request signature we calculated does not match the signature you provided."};
  return std::nullopt;
}

}  // namespace hubgate::auth
