// The gate: verdict lookup/scan with single flight per content, policy evaluation, audit.
//
// verdict_impl: the in-memory map answers first; otherwise the caller claims the content's
// scan slot (waiting while another thread holds it, then re-checking the map), consults the
// SQLite store, and only when no verdict of the current scanner version exists runs the scan.
// The result goes to the store (under the sha256 and every alias), to the map, and to the
// audit log as one `scan` record. decide() maps the verdict's level to the policy's action,
// lets a repository exception turn a block into an allow (audited as `exception`), and audits
// blocks and warnings.
#include "gate/gate.hpp"

#include <cstdio>

#include "scan/report_format.hpp"
#include "util/glob.hpp"
#include "util/mapped_file.hpp"

namespace hubgate::gate {

const char* action_name(Action a) {
  switch (a) {
    case Action::allow: return "allow";
    case Action::warn: return "warn";
    case Action::block: return "block";
  }
  return "block";
}

Result<Action> parse_action(std::string_view s) {
  if (s == "allow") return Action::allow;
  if (s == "warn") return Action::warn;
  if (s == "block") return Action::block;
  return fail(Errc::invalid_argument, "policy action '" + std::string(s.substr(0, 64)) + "': expected allow, warn or block");
}

Result<Exception> parse_exception(std::string_view s) {
  auto eq = s.find('=');
  if (eq == std::string_view::npos || eq == 0 || eq + 1 >= s.size()) {
    return fail(Errc::invalid_argument,
                "exception '" + std::string(s.substr(0, 200)) + "': expected REPO_GLOB=REASON (a reason is required)");
  }
  return Exception{std::string(s.substr(0, eq)), std::string(s.substr(eq + 1))};
}

std::string Verdict::level() const {
  if (unscanned && severity == scan::Severity::safe) return "unscanned";
  return scan::severity_name(severity);
}

std::string Verdict::describe() const {
  if (rule.empty() && message.empty()) return "no findings (" + format + ")";
  std::string out = rule;
  if (!subject.empty()) out += " " + subject;
  if (!member.empty()) out += " in " + member;
  if (!message.empty()) out += ": " + message;
  return out;
}

Verdict verdict_from_report(const scan::Report& r, std::string sha256) {
  Verdict v;
  v.sha256 = std::move(sha256);
  v.scanner_version = scan::kScannerVersion;
  v.severity = r.verdict();
  v.unscanned = r.error.has_value();
  v.format = scan::format_name(r.format);
  for (const auto& f : r.findings) {
    if (f.severity != v.severity) continue;
    v.rule = f.rule;
    v.member = f.member;
    v.subject = f.subject;
    v.message = f.message;
    break;
  }
  if (v.rule.empty() && r.error) {
    v.rule = "scan.error";
    v.message = r.error->message;
  }
  v.status_json = scan::security_file_status_json(r);
  return v;
}

Gate::Gate(GateOptions options, VerdictStore& store, audit::Log* log)
    : opt_(std::move(options)), store_(store), log_(log) {}

std::uint64_t Gate::scans() const {
  std::lock_guard lock(mu_);
  return scans_;
}

void Gate::remember(const std::string& key, const Verdict& v) {
  // Caller holds mu_.
  if (cache_.size() >= opt_.memory_cache_entries) cache_.clear();
  cache_[key] = v;
}

std::optional<Verdict> Gate::lookup(std::string_view key) {
  std::string k(key);
  {
    std::lock_guard lock(mu_);
    if (auto it = cache_.find(k); it != cache_.end()) return it->second;
  }
  auto got = store_.get(k, opt_.scanner_version);
  if (!got) {
    std::fprintf(stderr, "hubgate gate: %s\n", got.error().message.c_str());
    return std::nullopt;
  }
  if (!*got) return std::nullopt;
  std::lock_guard lock(mu_);
  remember(k, **got);
  return **got;
}

template <class ScanFn>
Verdict Gate::verdict_impl(const std::string& sha256, const Subject& who, const std::vector<std::string>& aliases,
                           ScanFn&& scan_fn) {
  {
    std::unique_lock lock(mu_);
    for (;;) {
      if (auto it = cache_.find(sha256); it != cache_.end()) return it->second;
      if (!scanning_.count(sha256)) break;
      cv_.wait(lock);
    }
    scanning_.insert(sha256);
  }
  // This thread owns the content's scan slot until it is released below.
  auto release = [&](const Verdict& v) {
    std::lock_guard lock(mu_);
    remember(sha256, v);
    for (const auto& a : aliases) remember(a, v);
    scanning_.erase(sha256);
    cv_.notify_all();
  };
  auto stored = store_.get(sha256, opt_.scanner_version);
  if (stored && *stored) {
    for (const auto& a : aliases) {
      if (auto r = store_.put(a, **stored); !r) std::fprintf(stderr, "hubgate gate: %s\n", r.error().message.c_str());
    }
    release(**stored);
    return **stored;
  }
  scan::Report report = scan_fn();
  Verdict v = verdict_from_report(report, sha256);
  v.scanner_version = opt_.scanner_version;
  v.scanned_ms = audit::now_ms();
  if (auto r = store_.put(sha256, v); !r) std::fprintf(stderr, "hubgate gate: %s\n", r.error().message.c_str());
  for (const auto& a : aliases) {
    if (auto r = store_.put(a, v); !r) std::fprintf(stderr, "hubgate gate: %s\n", r.error().message.c_str());
  }
  {
    std::lock_guard lock(mu_);
    ++scans_;
  }
  audit::Record rec;
  rec.repo = who.repo;
  rec.revision = who.revision;
  rec.path = who.path;
  rec.sha256 = sha256;
  rec.client = who.client;
  rec.remote = who.remote;
  rec.kind = audit::Kind::scan;
  rec.decision = v.level();
  rec.reason = v.describe() + " [scanner v" + std::to_string(v.scanner_version) + "]";
  record(std::move(rec));
  release(v);
  return v;
}

Verdict Gate::verdict_for_bytes(const std::string& sha256, ByteView bytes, const Subject& who,
                                const std::vector<std::string>& aliases) {
  return verdict_impl(sha256, who, aliases, [&] { return scan::scan_bytes(bytes, who.path, opt_.limits); });
}

Verdict Gate::verdict_for_file(const std::string& sha256, const std::string& path, const Subject& who,
                               const std::vector<std::string>& aliases) {
  return verdict_impl(sha256, who, aliases, [&] {
    auto m = MappedFile::open(path);
    if (!m) {
      scan::Report r;
      r.file = who.path;
      r.error = m.error();
      return r;
    }
    return scan::scan_bytes(m->bytes(), who.path, opt_.limits);
  });
}

Decision Gate::evaluate(const Verdict& v, std::string_view repo) const {
  Decision d;
  if (!opt_.enabled) return d;
  const Policy& p = opt_.policy;
  Action a = Action::allow;
  if (v.severity == scan::Severity::dangerous) a = p.dangerous;
  else if (v.severity == scan::Severity::suspicious) a = p.suspicious;
  if (v.unscanned && static_cast<int>(p.unscanned) > static_cast<int>(a)) a = p.unscanned;
  if (a == Action::allow) return d;
  std::string finding = v.describe();
  if (a == Action::block) {
    for (const auto& ex : p.exceptions) {
      if (!glob_match(ex.repo_glob, repo)) continue;
      d.outcome = Outcome::warn;
      d.exception_used = true;
      d.warning = v.level() + "; " + v.rule + "; allowed by exception: " + ex.reason;
      d.message = "exception '" + ex.repo_glob + "' (" + ex.reason + ") allowed " + v.level() + " content: " + finding;
      return d;
    }
    d.outcome = Outcome::block;
    d.message = "blocked by security policy: " + v.level() + " content: " + finding;
    return d;
  }
  d.outcome = Outcome::warn;
  d.warning = v.level() + "; " + v.rule;
  return d;
}

Decision Gate::decide(const Verdict& v, const Subject& who) {
  Decision d = evaluate(v, who.repo);
  if (d.outcome == Outcome::serve) return d;
  audit::Record rec;
  rec.repo = who.repo;
  rec.revision = who.revision;
  rec.path = who.path;
  rec.sha256 = v.sha256;
  rec.client = who.client;
  rec.remote = who.remote;
  if (d.exception_used) {
    rec.kind = audit::Kind::exception;
    rec.decision = "allowed";
    rec.reason = d.message;
  } else if (d.outcome == Outcome::block) {
    rec.kind = audit::Kind::block;
    rec.decision = "blocked";
    rec.reason = d.message;
  } else {
    rec.kind = audit::Kind::warn;
    rec.decision = "served-with-warning";
    rec.reason = v.level() + " content: " + v.describe();
  }
  record(std::move(rec));
  return d;
}

void Gate::record(audit::Record r) {
  if (!log_) return;
  if (auto a = log_->append(std::move(r)); !a) std::fprintf(stderr, "hubgate gate: %s\n", a.error().message.c_str());
}

}  // namespace hubgate::gate
