// gate::Gate — the security gate of the server: every file accepted by an upload and every
// file filled from upstream is scanned once (src/scan/), its verdict stored by content, and a
// configurable policy decides, per repository, whether the content is served, served with a
// warning, or refused; each decision that is not a plain "serve" is written to the audit log
// (src/audit/).
//
// Verdicts (`VerdictStore`, SQLite `<data>/gate.db`, WAL) are keyed by content: the lowercase
// sha256 hex, or "gitsha1:<hex>" as an alias for upstream files named by their git blob id.
// A verdict records the scanner version (`scan::kScannerVersion`); a stored verdict of another
// version is ignored, so a newer scanner rescans content on its next use. Content is scanned at
// most once per version: concurrent requests for the same key wait for the one scan in flight.
//
// Where the bytes come from (no second read from disk or network): uploads are scanned from
// the server's spooled temp file (or the in-memory body) after its sha256 was checked and before
// it is adopted into the store; fills are scanned from their private temp file after hash
// verification and before publication. Both files were just written, so the scan maps pages
// that are still in the page cache. See ARCHITECTURE.md "src/gate".
//
// Policy: `dangerous` -> block, `suspicious` -> warn, unscannable -> warn by default; each level
// configurable to allow|warn|block. Exceptions (repository glob -> reason) turn a block into an
// allow for matching repositories; every use is audited (kind `exception`). The gate can be
// disabled (`enabled = false`): nothing is scanned or refused (used for an origin that must
// hold malicious files in tests, and to measure the gate's cost).
//
// Thread-safety: Gate and VerdictStore are thread-safe.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "audit/audit.hpp"
#include "scan/scan.hpp"
#include "util/byte_reader.hpp"
#include "util/error.hpp"

namespace hubgate::gate {

// What the policy does with a verdict level. Persisted by name in configuration files.
enum class Action { allow, warn, block };
const char* action_name(Action a);
Result<Action> parse_action(std::string_view s);  // "allow" | "warn" | "block"

struct Exception {
  std::string repo_glob;  // over the qualified id: "org/name", "datasets/org/name" ('*' matches any run)
  std::string reason;     // required: recorded with every use
};
// "GLOB=REASON" (the --gate-allow flag form).
Result<Exception> parse_exception(std::string_view s);

struct Policy {
  Action dangerous = Action::block;
  Action suspicious = Action::warn;
  Action unscanned = Action::warn;  // the scanner could not read the file at all
  std::vector<Exception> exceptions;  // first match wins
};

// A stored verdict for one content.
struct Verdict {
  std::string sha256;       // content sha256 (hex); may be empty for an alias-only row
  int scanner_version = 0;
  scan::Severity severity = scan::Severity::safe;
  bool unscanned = false;   // Report::error was set
  std::string format;       // scan::format_name
  // The worst finding (first one of the highest severity), or the scan error.
  std::string rule, member, subject, message;
  std::string status_json;  // the Hub's securityFileStatus object, as JSON text
  std::int64_t scanned_ms = 0;

  std::string level() const;  // "safe" | "suspicious" | "dangerous" | "unscanned"
  // "rule subject in member: message" — one line naming the finding.
  std::string describe() const;
};

// Builds a verdict from a scan report (pure).
Verdict verdict_from_report(const scan::Report& r, std::string sha256);

class VerdictStore {
 public:
  static Result<std::unique_ptr<VerdictStore>> open(const std::string& path);
  // Cluster mode: table `verdicts` (same columns) in PostgreSQL (db migration 13), so a file
  // scanned by one node is not scanned again by another. The schema must be current.
  static Result<std::unique_ptr<VerdictStore>> open_pg(std::shared_ptr<db::Pool> pool);
  ~VerdictStore();
  VerdictStore(const VerdictStore&) = delete;
  // The verdict stored under `key` for exactly `scanner_version`, if any.
  Result<std::optional<Verdict>> get(std::string_view key, int scanner_version) const;
  // Stores (or replaces) the verdict under `key`.
  Result<void> put(std::string_view key, const Verdict& v);

 private:
  struct Impl;
  explicit VerdictStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Who and what a decision is about (copied into audit records).
struct Subject {
  std::string repo;      // qualified id ("org/name", "datasets/org/name")
  std::string revision;  // commit id or ref
  std::string path;
  std::string client = "anonymous";  // token name, "anonymous", or "system"
  std::string remote;    // "ip:port"
};

enum class Outcome { serve, warn, block };

struct Decision {
  Outcome outcome = Outcome::serve;
  bool exception_used = false;
  std::string warning;  // X-Hubgate-Security value when outcome == warn: "suspicious; <rule>"
  std::string message;  // X-Error-Message when outcome == block
};

struct GateOptions {
  bool enabled = true;
  Policy policy;
  scan::Limits limits;
  int scanner_version = scan::kScannerVersion;  // tests override it to check rescans
  std::size_t memory_cache_entries = 100000;    // verdicts kept in memory in front of the store
};

class Gate {
 public:
  // `store` and `log` must outlive the Gate; `log` may be null (no audit).
  Gate(GateOptions options, VerdictStore& store, audit::Log* log);

  bool enabled() const { return opt_.enabled; }
  const Policy& policy() const { return opt_.policy; }

  // A verdict of the current scanner version for `key`, without scanning.
  std::optional<Verdict> lookup(std::string_view key);

  // The verdict for content whose sha256 is `sha256`, scanning `bytes` (or the file at `path`)
  // only when no current verdict is stored. A fresh scan is stored (also under each of
  // `aliases`) and audited (kind scan). `name` is the file's path, a hint for detection.
  Verdict verdict_for_bytes(const std::string& sha256, ByteView bytes, const Subject& who,
                            const std::vector<std::string>& aliases = {});
  Verdict verdict_for_file(const std::string& sha256, const std::string& path, const Subject& who,
                           const std::vector<std::string>& aliases = {});

  // Applies the policy for `who.repo` and audits block / exception / warn outcomes.
  Decision decide(const Verdict& v, const Subject& who);
  // Same without writing audit records (listings).
  Decision evaluate(const Verdict& v, std::string_view repo) const;

  // Appends a record to the audit log (no-op without one); failures are reported on stderr.
  void record(audit::Record r);

  // Scans performed by this process (tests, metrics).
  std::uint64_t scans() const;

 private:
  template <class ScanFn>
  Verdict verdict_impl(const std::string& sha256, const Subject& who, const std::vector<std::string>& aliases,
                       ScanFn&& scan_fn);
  void remember(const std::string& key, const Verdict& v);

  GateOptions opt_;
  VerdictStore& store_;
  audit::Log* log_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::set<std::string, std::less<>> scanning_;
  std::unordered_map<std::string, Verdict> cache_;
  std::uint64_t scans_ = 0;
};

// ---- streaming during upstream fills ------------------------------------------------------

// May the first bytes of a file being filled reach clients before its verdict? Pure data
// formats whose loaders run no code stream (safetensors with a well-formed header that tiles
// the declared size exactly; GGUF with a known version); every other format — pickles, zips,
// torch, numpy, joblib, unknown — is held until the scan verdict. The last byte is always
// withheld until verification and the scan passed, so no client completes a blocked file.
enum class EarlyRelease { stream, hold, need_more };
EarlyRelease classify_prefix(ByteView prefix, std::uint64_t total_size);
inline constexpr std::size_t kMaxClassifyPrefix = 16u << 20;  // beyond this: hold

}  // namespace hubgate::gate
