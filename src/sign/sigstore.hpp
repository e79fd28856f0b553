// Sigstore keyless verification, offline, against a trust root file.
//
// Checked: the Fulcio leaf chains to a certificate authority of the trusted root that was
// valid at the Rekor entry's integratedTime, and the leaf was valid then; the leaf has the
// codeSigning EKU; a SAN equals the expected identity; the OIDC issuer extension
// (1.3.6.1.4.1.57264.1.8, else legacy .1.1) equals the expected issuer; the DSSE signature
// verifies with the leaf key; the Rekor entry's signed entry timestamp verifies with the log's
// key (found by logId in the trusted root, valid at integratedTime); the entry body is a
// `dsse` 0.0.1 record whose payloadHash is sha256(payload), whose signature is the envelope's
// and whose verifier is the leaf; the inclusion proof (RFC 6962 audit path) reproduces the
// root hash; the checkpoint is a signed note by the same log for that tree size and root.
// Not checked: embedded SCTs (CT logs), RFC 3161 timestamps, online freshness of the trust
// root. Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sign/bundle.hpp"
#include "sign/pki.hpp"
#include "util/error.hpp"

namespace hubgate::sign::sigstore {

struct Validity {
  std::int64_t start = 0;
  std::int64_t end = INT64_MAX;
  bool contains(std::int64_t t) const { return t >= start && t <= end; }
};
struct CertAuthority {
  std::vector<pki::Cert> chain;  // as listed (intermediate ..., root last)
  Validity valid;
};
struct TransparencyLog {
  std::string key_id;  // raw bytes
  pki::Key key;
  Validity valid;
};
struct TrustRoot {
  std::vector<CertAuthority> cas;
  std::vector<TransparencyLog> tlogs;
};

Result<TrustRoot> parse_trust_root(std::string_view json);

struct Verified {
  pki::Key leaf_key;
  std::string identity;
  std::int64_t integrated_time = 0;
};

// Everything but the DSSE signature (the caller verifies it with leaf_key).
Result<Verified> verify(const Bundle& b, const TrustRoot& root, const std::string& identity, const std::string& issuer);

// RFC 6962 inclusion proof check (exposed for tests).
Result<void> verify_inclusion(std::string_view leaf, std::int64_t index, std::int64_t size,
                              const std::vector<std::string>& proof, std::string_view root);

}  // namespace hubgate::sign::sigstore
