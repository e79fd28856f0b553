// SignatureGate: cache lookup, single-flight, then evaluation.
//
// check(): under the lock, a cached verdict is returned; an evaluation already running for the
// same (repository, commit) is joined through its shared_future; otherwise this caller becomes
// the evaluator. The evaluation (outside the lock) lists the files, hashes those whose sha256
// is unknown (bounded size), and runs evaluate_revision on (path, sha256) with a read callback
// that remembers transient (`unavailable`) failures; a transient failure turns the outcome
// into an error that is not cached. The finished verdict is cached (FIFO-bounded), recorded,
// and published to the joined waiters.
#include "sign/gate.hpp"

#include <ctime>

#include "crypto/sha.hpp"

namespace hubgate::sign {

const char* gate_status_name(GateStatus s) {
  switch (s) {
    case GateStatus::verified: return "verified";
    case GateStatus::unsigned_: return "unsigned";
    case GateStatus::invalid: return "invalid";
    default: return "not-required";
  }
}

const GateFile* GateVerdict::find(std::string_view path) const {
  for (const auto& f : files)
    if (f.path == path) return &f;
  return nullptr;
}

nlohmann::json verdict_json(const GateVerdict& v) {
  nlohmann::json j = {{"status", gate_status_name(v.status)}, {"commit", v.commit}};
  if (v.status == GateStatus::not_required) return j;
  j["policy"] = v.rule;
  j["signatureFile"] = v.signature_file;
  if (!v.signer.empty()) j["signer"] = v.signer;
  if (!v.message.empty()) j["message"] = v.message;
  return j;
}

namespace {

bool is_ignored_for_countersignature(const std::string& path) {
  if (path == kCountersignaturePath) return true;
  for (const char* g : kGitPaths) {
    std::string_view gp(g);
    if (path == gp || (path.size() > gp.size() && path.starts_with(gp) && path[gp.size()] == '/')) return true;
  }
  return false;
}

// The gateway's bundle over the verified listing (every digest is known by then).
Result<std::string> countersign(const GateVerdict& v, const SignerConfig& signer) {
  std::vector<std::pair<std::string, std::string>> digests;
  for (const auto& f : v.files) {
    if (is_ignored_for_countersignature(f.path)) continue;
    if (f.sha256.size() != 64) return fail(Errc::internal, "no sha256 for '" + f.path + "'");
    digests.emplace_back(f.path, f.sha256);
  }
  Serialization ser;
  for (const char* g : kGitPaths) ser.ignore_paths.emplace_back(g);
  ser.ignore_paths.emplace_back(kCountersignaturePath);
  HG_TRY(auto m, manifest_from_file_digests(digests, ser));
  m.model_name = v.repo.substr(v.repo.rfind('/') + 1);
  HG_TRY(auto b, sign_manifest(m, signer));
  return write_bundle(b);
}

}  // namespace

SignatureGate::SignatureGate(Policy policy, GateOptions options) : policy_(std::move(policy)), opt_(options) {}

Result<void> SignatureGate::set_countersigner(SignerConfig signer) {
  HG_TRY(auto probe, manifest_from_file_digests({{"probe", std::string(64, '0')}}, Serialization{}));
  HG_TRY(auto bundle, sign_manifest(probe, signer));
  (void)bundle;
  countersigner_ = std::move(signer);
  return {};
}

SignatureGate::Stats SignatureGate::stats() const {
  std::lock_guard lock(mu_);
  Stats s = stats_;
  s.entries = cache_.size();
  return s;
}

Result<std::shared_ptr<const GateVerdict>> SignatureGate::check(const std::string& repo, const std::string& commit,
                                                                const RevisionSource& source) {
  const PolicyRule* rule = policy_.match(repo);
  if (!rule) {
    auto v = std::make_shared<GateVerdict>();
    v->repo = repo;
    v->commit = commit;
    return std::shared_ptr<const GateVerdict>(std::move(v));
  }
  const std::string key = repo + "\n" + commit;
  std::promise<Outcome> promise;
  {
    std::unique_lock lock(mu_);
    if (auto it = cache_.find(key); it != cache_.end()) {
      stats_.hits++;
      return it->second;
    }
    if (auto it = inflight_.find(key); it != inflight_.end()) {
      auto fut = it->second;
      lock.unlock();
      return fut.get();
    }
    inflight_.emplace(key, promise.get_future().share());
  }
  bool cacheable = true;
  Outcome out = evaluate(*rule, repo, commit, source, cacheable);
  if (out && recorder_) recorder_(**out);
  {
    std::lock_guard lock(mu_);
    stats_.evaluations++;
    if (out && cacheable) {
      cache_[key] = *out;
      order_.push_back(key);
      while (cache_.size() > opt_.max_entries && !order_.empty()) {
        cache_.erase(order_.front());
        order_.pop_front();
      }
    }
    inflight_.erase(key);
  }
  promise.set_value(out);
  return out;
}

SignatureGate::Outcome SignatureGate::evaluate(const PolicyRule& rule, const std::string& repo,
                                               const std::string& commit, const RevisionSource& source,
                                               bool& cacheable) const {
  auto v = std::make_shared<GateVerdict>();
  v->repo = repo;
  v->commit = commit;
  v->rule = rule.repos;
  v->signature_file = rule.signature_file;
  v->checked_at = static_cast<std::int64_t>(std::time(nullptr));
  auto finish = [&](RevisionSignature sig) -> Outcome {
    v->status = sig.status == SignatureStatus::valid    ? GateStatus::verified
                : sig.status == SignatureStatus::absent ? GateStatus::unsigned_
                                                        : GateStatus::invalid;
    v->signer = sig.signer;
    v->message = sig.message;
    v->decision = decide(&rule, sig);
    return std::shared_ptr<const GateVerdict>(std::move(v));
  };
  auto invalid = [&](std::string msg) {
    RevisionSignature sig;
    sig.status = SignatureStatus::invalid;
    sig.message = std::move(msg);
    return finish(std::move(sig));
  };
  if (!source.list || !source.read) return fail(Errc::invalid_argument, "signature gate: incomplete revision source");
  auto listed = source.list();
  if (!listed) return fail(listed.error().context("listing " + repo + "@" + commit + " for signature verification"));
  v->files = std::move(*listed);
  if (v->files.size() > opt_.max_files) {
    return invalid("revision has " + std::to_string(v->files.size()) + " files, more than the gateway verifies (" +
                   std::to_string(opt_.max_files) + ")");
  }

  // Reads with a size cap; a transient failure makes the whole evaluation an (uncached) error.
  std::optional<Error> transient;
  auto read = [&](const std::string& path) -> Result<std::string> {
    const GateFile* f = v->find(path);
    if (f && f->size > opt_.max_hash_bytes)
      return fail(Errc::limit_exceeded, "'" + path + "' is " + std::to_string(f->size) +
                                            " bytes, too large to hash at the gateway (its sha256 is not known)");
    auto r = source.read(path);
    if (!r) {
      cacheable = false;
      if (r.error().code == Errc::unavailable && !transient) transient = r.error();
    }
    return r;
  };
  bool have_signature = false;
  for (const auto& f : v->files) have_signature = have_signature || f.path == rule.signature_file;
  if (!have_signature && source.probe) {  // served but not listed (an upstream countersignature)
    auto p = source.probe(rule.signature_file);
    if (!p) {
      if (p.error().code == Errc::unavailable) return fail(p.error());
      cacheable = false;
      return invalid("cannot look up '" + rule.signature_file + "': " + p.error().message);
    }
    if (*p) {
      v->files.push_back(std::move(**p));
      have_signature = true;
    }
  }
  for (auto& f : v->files) {
    if (!f.sha256.empty()) continue;
    if (f.size > opt_.max_hash_bytes) continue;  // evaluate_revision reports it if it needs it
    auto bytes = read(f.path);
    if (transient) return fail(*transient);
    if (!bytes) return invalid("cannot read '" + f.path + "': " + bytes.error().message);
    if (bytes->size() != f.size)
      return invalid("'" + f.path + "' has " + std::to_string(bytes->size()) + " bytes, the listing says " +
                     std::to_string(f.size));
    f.sha256 = crypto::sha256_hex(*bytes);
  }
  RevisionFiles rf;
  rf.files.reserve(v->files.size());
  for (const auto& f : v->files) rf.files.emplace_back(f.path, f.sha256);
  rf.read = read;
  auto sig = have_signature ? evaluate_revision(rule, rf) : RevisionSignature{};
  if (transient) return fail(*transient);
  if (sig.status == SignatureStatus::valid && countersigner_) {
    auto cs = countersign(*v, *countersigner_);
    if (!cs) return fail(cs.error().context("countersigning " + repo + "@" + commit));
    v->countersignature = std::move(*cs);
  }
  return finish(std::move(sig));
}

}  // namespace hubgate::sign
