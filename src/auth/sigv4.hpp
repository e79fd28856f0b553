// AWS Signature Version 4 verification for the read-only S3 face (docs/spec/s3.md §1.8).
//
// The server recomputes the signature from the request it received: canonical request
// (method, path decoded once and re-encoded per segment, query decoded, re-encoded and sorted,
// the signed headers trimmed and whitespace-collapsed, the payload hash from
// `x-amz-content-sha256`, else UNSIGNED-PAYLOAD for presigned URLs and the empty-body hash for
// header-signed requests), string to sign, the derived key (HMAC-SHA256 chain over date, region,
// "s3", "aws4_request"; any region accepted), then compares in constant time. Both the
// `Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…` form and the
// presigned query form (`X-Amz-Signature`) are read. A request more than 15 minutes off the
// server clock is RequestTimeTooSkewed; a presigned URL past `X-Amz-Expires` is AccessDenied.
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/message.hpp"

namespace hubgate::auth {

// What the request claims: who signed, for which scope, and the signature.
struct SigV4Claim {
  std::string access_key;
  std::string scope_date;  // YYYYMMDD
  std::string region;
  std::string amz_date;    // YYYYMMDDTHHMMSSZ
  std::vector<std::string> signed_headers;  // lowercase, as listed
  std::string signature;   // 64 lowercase hex
  bool presigned = false;
  std::int64_t expires = 0;  // presigned: X-Amz-Expires seconds
};

// An S3 error to answer: HTTP status, S3 `Code`, message.
struct SigV4Failure {
  int status = 403;
  std::string code;
  std::string message;
};

inline constexpr std::int64_t kSigV4MaxSkewSeconds = 15 * 60;
inline constexpr std::string_view kEmptyPayloadSha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

// nullopt: the request carries no signature (anonymous). A failure when it carries one that is
// malformed (400 AuthorizationHeaderMalformed, or a SigV2 `AWS key:sig` header).
std::expected<std::optional<SigV4Claim>, SigV4Failure> sigv4_claim(const http::Request& req);

// The canonical request of `req` as `claim` signed it.
std::expected<std::string, SigV4Failure> sigv4_canonical_request(const http::Request& req, const SigV4Claim& claim);

// Hex HMAC-SHA256 signature of `string_to_sign` with the key derived from `secret`.
std::string sigv4_signature(std::string_view secret, std::string_view scope_date, std::string_view region,
                            std::string_view string_to_sign);

// Checks time (now = unix seconds) and signature. nullopt = valid.
std::optional<SigV4Failure> sigv4_verify(const http::Request& req, const SigV4Claim& claim, std::string_view secret,
                                         std::int64_t now);

}  // namespace hubgate::auth
