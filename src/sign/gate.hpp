// sign::SignatureGate — the gateway's signature decision for one revision of one repository,
// cached by commit id (commits are immutable), shared by the hosted-repository API (src/hub/)
// and the pull-through edge (src/upstream/).
//
// A caller that has pinned a request to (repository, commit) asks `check()` with a
// `RevisionSource`: `list` gives every file of the commit (path, size, sha256 when known, git
// blob id when known), `read` gives the bytes of one file. When no policy rule covers the
// repository the verdict is `not_required` and the source is never used. Otherwise the file list
// is taken once, digests missing from it are filled by reading and hashing the (small) files
// (at most `max_hash_bytes` each), and `evaluate_revision` verifies the rule's signature file
// with the rule's signers. The verdict — verified / unsigned / invalid, signer, the failing check,
// the serve-or-refuse decision and the verified file list — is cached under (repository, commit)
// and handed to the recorder once (audit).
//
// Not cached: `not_required` verdicts (free to recompute), and errors of the source whose code is
// `Errc::unavailable` (upstream down: `check` returns the error; the caller answers 503 and the
// next request tries again). Other read errors make the verdict `invalid` but uncached.
//
// Concurrency: `check` is thread-safe and single-flight per (repository, commit): concurrent
// callers for the same revision wait for one evaluation. The cache holds at most
// `max_entries` verdicts (oldest evicted first).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "sign/policy.hpp"
#include "sign/sign.hpp"
#include "util/error.hpp"

namespace hubgate::sign {

struct GateFile {
  std::string path;     // relative, '/'-separated
  std::uint64_t size = 0;
  std::string sha256;   // lowercase hex; empty when unknown (filled by hashing `read`)
  std::string git_oid;  // git blob sha1 when known (the edge checks served bytes against it)
};

struct RevisionSource {
  std::function<Result<std::vector<GateFile>>()> list;
  std::function<Result<std::string>(const std::string& path)> read;
  // Optional: a file that is served but not listed (an upstream gateway's countersignature at
  // kCountersignaturePath). Asked only for the rule's signature file when the listing lacks it;
  // nullopt = absent.
  std::function<Result<std::optional<GateFile>>(const std::string& path)> probe;
};

// Where a gateway serves its own countersignature of a verified revision (resolve/raw only; it
// is not part of tree listings). A downstream tier requires it with a rule whose
// signature_file is this path and whose signer is the upstream gateway's public key.
inline constexpr const char* kCountersignaturePath = ".hubgate/countersignature.sig";

// Persisted in audit records; do not renumber.
enum class GateStatus { not_required = 0, verified = 1, unsigned_ = 2, invalid = 3 };
const char* gate_status_name(GateStatus s);  // "not-required" | "verified" | "unsigned" | "invalid"

struct GateVerdict {
  std::string repo;    // "ns/name" or "datasets/ns/name"
  std::string commit;
  GateStatus status = GateStatus::not_required;
  std::string rule;            // the matching policy glob; empty when not required
  std::string signature_file;  // the rule's signature file; empty when not required
  std::string signer;          // verified: key hint / certificate subject / sigstore identity
  std::string message;         // invalid: the failing check, naming the file
  Decision decision;           // serve, or 403 with error_code and message
  std::vector<GateFile> files; // the listing that was verified (sha256 filled); empty if not required
  std::int64_t checked_at = 0; // unix seconds of the evaluation
  // Verified and a countersigner is set: a model-signing bundle by the gateway's key over every
  // listed file (sha256, files method; .git* and kCountersignaturePath recorded as ignored).
  std::string countersignature;

  // The file of this revision named `path`, or null.
  const GateFile* find(std::string_view path) const;
};

// The `hubgateSignature` object of repo info: {status, commit[, policy, signatureFile, signer,
// message]} (status: gate_status_name).
nlohmann::json verdict_json(const GateVerdict& v);

struct GateOptions {
  std::size_t max_entries = 4096;             // cached verdicts
  std::uint64_t max_hash_bytes = 64ull << 20; // largest file hashed when its sha256 is unknown
  std::size_t max_files = 100000;             // larger revisions are refused as invalid
};

class SignatureGate {
 public:
  using Recorder = std::function<void(const GateVerdict&)>;
  explicit SignatureGate(Policy policy, GateOptions options = {});

  // Called once per evaluation (not for cache hits, not for not_required). Set before serving.
  void set_recorder(Recorder r) { recorder_ = std::move(r); }
  // Countersign verified revisions with this key (set before serving). The bundle bytes are
  // fixed for as long as the verdict is cached (ECDSA signatures are randomized).
  // Fails (and sets nothing) when the key cannot sign.
  Result<void> set_countersigner(SignerConfig signer);
  bool countersigns() const { return countersigner_.has_value(); }
  const Policy& policy() const { return policy_; }
  const PolicyRule* rule_for(std::string_view repo) const { return policy_.match(repo); }

  Result<std::shared_ptr<const GateVerdict>> check(const std::string& repo, const std::string& commit,
                                                   const RevisionSource& source);

  struct Stats {
    std::uint64_t evaluations = 0;
    std::uint64_t hits = 0;
    std::size_t entries = 0;
  };
  Stats stats() const;

 private:
  using Outcome = Result<std::shared_ptr<const GateVerdict>>;
  Outcome evaluate(const PolicyRule& rule, const std::string& repo, const std::string& commit,
                   const RevisionSource& source, bool& cacheable) const;

  Policy policy_;
  GateOptions opt_;
  Recorder recorder_;
  std::optional<SignerConfig> countersigner_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<const GateVerdict>> cache_;
  std::deque<std::string> order_;  // insertion order, for eviction
  std::map<std::string, std::shared_future<Outcome>> inflight_;
  Stats stats_;
};

}  // namespace hubgate::sign
