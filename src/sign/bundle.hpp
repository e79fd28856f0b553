// Sigstore bundle (v0.3 JSON), DSSE envelope and in-toto Statement for model signing.
//
// Formats (see docs in security.md §6 and the reference `model_signing` 1.x):
// - Bundle: {mediaType, verificationMaterial: {publicKey{hint} | x509CertificateChain
//   {certificates[{rawBytes}]} | certificate{rawBytes}, tlogEntries[], timestampVerificationData},
//   dsseEnvelope: {payload (base64), payloadType, signatures[{sig (base64), keyid}]}}.
//   Unknown fields are ignored; `publicKey.rawBytes/keyDetails` (v1.0.x) are parsed but never
//   trusted. Parsing is strict about types and bounded (bundle ≤ 64 MiB, ≤ 64 certificates,
//   ≤ 16 tlog entries, ≤ 16 signatures) and never throws.
// - DSSE PAE: "DSSEv1 <len(type)> <type> <len(payload)> <payload>" over the payload bytes as
//   they were signed (never re-serialised). `pae_compat` is the v0.2.0 bug: "DSSEV1 ... <len>
//   <Python repr of the payload bytes>".
// - Statement v1 with predicateType https://model_signing/signature/v1.0 (or the legacy
//   https://model_signing/Digests/v0.1, whose subjects are the files). `statement_to_manifest`
//   runs the reference's checks in its order (type, predicate type, one subject, subject digest
//   = sha256 over the raw resource digests in payload order) and validates every name.
// Writing: `write_statement` emits indent-2 JSON in the reference's key order; `write_bundle`
// emits compact JSON like the reference v1.1 (`Bundle.to_json()`).
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sign/manifest.hpp"
#include "util/base64.hpp"
#include "util/error.hpp"

namespace hubgate::sign {

inline constexpr std::string_view kBundleMediaType = "application/vnd.dev.sigstore.bundle.v0.3+json";
inline constexpr std::string_view kInTotoPayloadType = "application/vnd.in-toto+json";
inline constexpr std::string_view kStatementType = "https://in-toto.io/Statement/v1";
inline constexpr std::string_view kPredicateType = "https://model_signing/signature/v1.0";
inline constexpr std::string_view kPredicateTypeLegacy = "https://model_signing/Digests/v0.1";

inline constexpr std::size_t kMaxBundleBytes = 64u << 20;
inline constexpr std::size_t kMaxResources = 4'000'000;

struct DsseSignature {
  std::string sig;    // raw DER signature bytes
  std::string keyid;  // informative only
};

struct Envelope {
  std::string payload;       // decoded payload bytes (exactly what was signed)
  std::string payload_type;
  std::vector<DsseSignature> signatures;
};

struct InclusionProof {
  std::int64_t log_index = 0;
  std::string root_hash;  // raw bytes
  std::int64_t tree_size = 0;
  std::vector<std::string> hashes;  // raw bytes
  std::string checkpoint;           // signed note text
};

struct TlogEntry {
  std::int64_t log_index = 0;
  std::string log_key_id;  // raw bytes
  std::string kind, version;
  std::int64_t integrated_time = 0;
  std::string signed_entry_timestamp;  // raw DER signature; empty when absent
  std::optional<InclusionProof> inclusion_proof;
  std::string canonicalized_body;  // raw bytes (JSON)
};

struct Bundle {
  std::string media_type;
  // verificationMaterial: exactly one of these forms is set.
  bool has_public_key = false;
  std::string public_key_hint;          // hex, may be empty (older bundles)
  std::vector<std::string> cert_chain;  // DER, leaf first (x509CertificateChain)
  std::string certificate;              // DER (sigstore v0.3 `certificate`)
  std::vector<TlogEntry> tlog_entries;
  std::size_t rfc3161_timestamps = 0;   // counted, not verified
  Envelope envelope;
};

Result<Bundle> parse_bundle(std::string_view json);
std::string write_bundle(const Bundle& b);

std::string pae(std::string_view payload_type, std::string_view payload);
std::string pae_compat(std::string_view payload_type, std::string_view payload);

// Bundle bytes fields: strict base64 (padding optional, URL-safe alphabet accepted, no
// whitespace), on util's decoder. Encoding is util's hubgate::base64_encode.
inline Result<std::string> base64_decode(std::string_view in) {
  return hubgate::base64_decode(in, Base64DecodeOptions{.skip_whitespace = false, .accept_url_safe = true,
                                                        .require_padding = false});
}

// Statement -> expected manifest (reference checks, in its order). `legacy` is set for the
// Digests/v0.1 predicate.
struct ParsedStatement {
  Manifest manifest;
  bool legacy = false;
};
Result<ParsedStatement> statement_to_manifest(std::string_view payload);

// Manifest -> statement JSON (the payload to sign).
std::string write_statement(const Manifest& m);

}  // namespace hubgate::sign
