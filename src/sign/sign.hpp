// hubgate_sign: OpenSSF model signing (v1.0, compatible with the `model_signing` reference).
//
// Verification is two steps so that callers holding files in memory or only their digests (the
// gateway) can use it as well as the CLI:
//   1. `verify_signature(bundle, method)`: authenticity (key hint + ECDSA, certificate chain +
//      key usage, or Sigstore keyless offline) and the statement checks; returns the signed
//      (expected) manifest, including its serialization.
//   2. `match_manifest(expected, actual, opts)`: the actual manifest (from `compute_manifest`,
//      `manifest_from_memory` or `manifest_from_file_digests` with `expected.serialization`) is
//      filtered by the ignore rules and compared exactly; unsigned extra files fail unless
//      `ignore_unsigned_files`.
// `verify_model` does both for a folder on disk. Signing: `sign_manifest` produces a bundle
// the reference verifies (key: publicKey.hint; certificate: x509CertificateChain leaf first).
// Errors name the failing check: "key hint mismatch ...", "signature does not verify ...",
// "certificate chain does not verify: ...", "hash mismatch for 'x' ...", "extra unsigned
// files ...", "missing signed files ...". Thread-safety: re-entrant functions on plain values.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "sign/bundle.hpp"
#include "sign/manifest.hpp"
#include "util/error.hpp"

namespace hubgate::sign {

struct KeyMethod {
  std::string public_key_pem;  // the only key trusted; bundle rawBytes are never used
};
struct CertificateMethod {
  std::string roots_pem;  // one or more PEM certificates (trust anchors)
};
struct SigstoreMethod {
  std::string identity;           // expected SAN (email or URI)
  std::string issuer;             // expected OIDC issuer
  std::string trust_config_json;  // ClientTrustConfig or TrustedRoot JSON
};
using VerifyMethod = std::variant<KeyMethod, CertificateMethod, SigstoreMethod>;

struct SignatureCheck {
  Manifest expected;                  // signed manifest (sorted resources)
  bool legacy_predicate = false;      // Digests/v0.1
  bool legacy_pae = false;            // v0.2.0 PAE bug path was needed
  std::string signer;                 // key hint, certificate subject or Sigstore identity
  std::vector<std::string> warnings;  // e.g. "bundle has no publicKey.hint"
  std::vector<std::string> not_checked;  // honest list of what was not verified
};

Result<SignatureCheck> verify_signature(const Bundle& bundle, const VerifyMethod& method);

struct MatchOptions {
  std::vector<std::string> ignore_paths;  // relative to the model root, added to the bundle's
  bool ignore_git_paths = true;
  bool ignore_unsigned_files = false;
};
// `actual` must have been computed with `expected.serialization` (method, hash, shard size).
Result<void> match_manifest(const Manifest& expected, const Manifest& actual, const MatchOptions& opt);

struct VerifyOptions {
  MatchOptions match;
  std::optional<bool> allow_symlinks;  // default: the bundle's allow_symlinks
  unsigned threads = 0;
};
Result<SignatureCheck> verify_model(const std::filesystem::path& model, const Bundle& bundle,
                                    const VerifyMethod& method, const VerifyOptions& opt);

// One call for files held in memory (the gateway): {relative path -> bytes}. Ignored paths
// and, with ignore_unsigned_files, unsigned files are dropped before the comparison.
Result<SignatureCheck> verify_memory(const Bundle& bundle, const VerifyMethod& method,
                                     const std::vector<std::pair<std::string, ByteView>>& files,
                                     const MatchOptions& opt);

struct SignerConfig {
  std::string private_key_pem;
  std::string password;
  std::string signing_certificate_pem;  // empty: key method
  std::string certificate_chain_pem;    // intermediates (and optionally roots), leaf excluded
};
Result<Bundle> sign_manifest(const Manifest& m, const SignerConfig& cfg);

}  // namespace hubgate::sign
