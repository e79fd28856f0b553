// Signature policy for the gateway (issue 6 part 5): which repositories must carry a valid
// OpenSSF model signature, by whom, and the decision for one revision.
//
// A Policy is an ordered list of rules {repository glob (util/glob.hpp, '*' matches any run
// of characters, '/' included), signature file name (default "model.sig"), signers (any one
// suffices: public key PEM, certificate roots PEM, Sigstore identity+issuer+trust root)}. The first matching rule applies; a
// repository no rule matches is not subject to signing (status is still reported).
//
// JSON form (`--signing-policy FILE`; relative PEM paths are resolved against the file's folder):
//   {"policies": [{"repos": "org/*", "signature_file": "model.sig",
//                  "ignore_unsigned_files": false,
//                  "signers": [{"public_key": "keys/org.pub"}, {"certificate_roots": "ca.pem"},
//                              {"sigstore": {"identity": "a@b.c", "issuer": "https://…",
//                                            "trust_root": "trusted_root.json"}}]}]}
//
// `evaluate_revision` verifies the signature file of one revision against its files (sha256
// digests from the store when the signature uses files/sha256, else bytes through `read`), and
// `decide` maps (rule, result) to serve / 403 SignatureRequired / 403 SignatureInvalid.
// Pure functions on values; thread-safe.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sign/sign.hpp"
#include "util/error.hpp"

namespace hubgate::sign {

struct PolicyRule {
  std::string repos;                          // glob over "namespace/name"
  std::string signature_file = "model.sig";   // relative path in the revision
  bool ignore_unsigned_files = false;
  std::vector<VerifyMethod> signers;          // non-empty; any one must verify
};

struct Policy {
  std::vector<PolicyRule> rules;
  const PolicyRule* match(std::string_view repo) const;  // first matching rule or null
};

// Parses the JSON form; PEM files are read now (errors name the file).
Result<Policy> parse_policy_json(std::string_view json, const std::filesystem::path& base_dir);
Result<Policy> load_policy_file(const std::filesystem::path& file);

enum class SignatureStatus { absent = 0, valid = 1, invalid = 2 };  // do not renumber
const char* status_name(SignatureStatus s);  // "absent", "valid", "invalid"

struct RevisionSignature {
  SignatureStatus status = SignatureStatus::absent;
  std::string signer;   // valid: key hint / certificate subject
  std::string message;  // invalid: the failing check (names the file)
};

struct RevisionFiles {
  // Every file of the revision: relative path -> lowercase hex sha256 (may be empty if unknown).
  std::vector<std::pair<std::string, std::string>> files;
  // Bytes of one file (signature file, and every file when digests cannot be used).
  std::function<Result<std::string>(const std::string& path)> read;
};

// Verifies `rule.signature_file` of the revision with the rule's signers. Absent when the file
// is not in `rev.files`.
RevisionSignature evaluate_revision(const PolicyRule& rule, const RevisionFiles& rev);

struct Decision {
  bool serve = true;
  std::string error_code;  // "SignatureRequired" | "SignatureInvalid" when !serve
  std::string message;
};
// `rule` null (repository outside the policy): always served.
Decision decide(const PolicyRule* rule, const RevisionSignature& sig);

}  // namespace hubgate::sign
