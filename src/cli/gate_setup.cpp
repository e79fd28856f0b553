// Gate configuration and wiring for `hubgate serve` (see gate_setup.hpp). The edge hooks:
//   early          -> gate::classify_prefix (safetensors/GGUF stream, everything else is held)
//   verdict_early  -> scan::scan_partial on held files above the hold threshold: a dangerous
//                     prefix (pickles) or member read by ranges (zips) stops the fill; the
//                     verdict is kept in memory (EarlyVerdicts: its bytes were never
//                     hash-verified, so not in gate.db), so every client gets its 403
//   before_publish -> scan the verified temp file of the fill (sha256 computed for files named by
//                     their git blob id, which are then stored under both keys), decide for the
//                     repository that started the fill; a block fails the fill (never published)
//   serve_check    -> a stored verdict decides before any byte is sent; a cached body without a
//                     verdict (cached before the gate) is scanned once through its descriptor
#include "cli/gate_setup.hpp"

#include <mutex>
#include <unordered_map>

#include <toml++/toml.h>

#include "crypto/sha.hpp"
#include "gate/http_reply.hpp"
#include "scan/partial.hpp"
#include "store/store.hpp"
#include "util/parse.hpp"

namespace hubgate::cli {

const char* const kGateUsage = R"(
security gate (uploads and fills are scanned; src/gate/, decisions in <data>/audit.db):
  --gate on|off                 scan and enforce (default on); off: nothing scanned or refused
  --gate-dangerous ACTION       allow | warn | block (default block)
  --gate-suspicious ACTION      default warn (served with X-Hubgate-Security)
  --gate-unscanned ACTION       files the scanner cannot read (default warn)
  --gate-allow 'GLOB=REASON[;...]'  per-repository exceptions: blocked content of matching
                                repositories is served with a warning; every use is audited
  --admin-tokens NAME,...       tokens allowed on GET /api/admin/audit (default: write tokens
                                without repository limits)
  --gate-hold-max-bytes N       edge: a cold file of at most N bytes is answered once its verdict
                                exists (default 67108864); a larger one once the verdict's early
                                phase found nothing (pickle prefix, zip directory and members)
)";

const std::set<std::string>& gate_flags() {
  static const std::set<std::string> flags = {"--gate", "--gate-dangerous", "--gate-suspicious", "--gate-unscanned",
                                              "--gate-allow", "--admin-tokens",
                                              "--gate-hold-max-bytes"};
  return flags;
}

Result<void> gate_config_from_toml(const std::string& path, GateConfig& cfg) {
  try {
    toml::table t = toml::parse_file(path);
    auto* g = t["gate"].as_table();
    if (!g) return {};
    if (auto v = (*g)["enabled"].value<bool>()) cfg.enabled = *v;
    for (auto [key, out] : {std::pair{"dangerous", &cfg.policy.dangerous}, std::pair{"suspicious", &cfg.policy.suspicious},
                            std::pair{"unscanned", &cfg.policy.unscanned}}) {
      if (auto v = (*g)[key].value<std::string>()) {
        HG_TRY(*out, gate::parse_action(*v));
      }
    }
    if (auto node = (*g)["hold_max_bytes"]; node) {
      auto v = node.value<std::int64_t>();
      if (!v || *v < 0) return fail(Errc::invalid_argument, path + ": gate.hold_max_bytes must be a non-negative integer");
      cfg.hold_max_bytes = static_cast<std::uint64_t>(*v);
    }
    if (auto* admins = (*g)["admin_tokens"].as_array()) {
      for (auto& el : *admins) {
        auto s = el.value<std::string>();
        if (!s) return fail(Errc::invalid_argument, path + ": gate.admin_tokens must be strings");
        cfg.admin_tokens.insert(*s);
      }
    }
    if (auto* exs = (*g)["exception"].as_array()) {
      for (auto& el : *exs) {
        auto* e = el.as_table();
        auto repo = e ? (*e)["repo"].value<std::string>() : std::nullopt;
        auto reason = e ? (*e)["reason"].value<std::string>() : std::nullopt;
        if (!repo || !reason || repo->empty() || reason->empty()) {
          return fail(Errc::invalid_argument, path + ": each [[gate.exception]] needs a non-empty repo and reason");
        }
        cfg.policy.exceptions.push_back({*repo, *reason});
      }
    }
  } catch (const toml::parse_error& e) {
    return fail(Errc::invalid_argument, path + ": " + std::string(e.description()));
  }
  return {};
}

Result<void> gate_config_from_args(const Args& a, GateConfig& cfg) {
  if (a.has("--gate")) {
    std::string v = a.get("--gate");
    if (v != "on" && v != "off") return fail(Errc::invalid_argument, "--gate wants on or off");
    cfg.enabled = v == "on";
  }
  if (a.has("--gate-dangerous")) {
    HG_TRY(cfg.policy.dangerous, gate::parse_action(a.get("--gate-dangerous")));
  }
  if (a.has("--gate-suspicious")) {
    HG_TRY(cfg.policy.suspicious, gate::parse_action(a.get("--gate-suspicious")));
  }
  if (a.has("--gate-unscanned")) {
    HG_TRY(cfg.policy.unscanned, gate::parse_action(a.get("--gate-unscanned")));
  }
  if (a.has("--gate-allow")) {
    cfg.policy.exceptions.clear();
    std::string v = a.get("--gate-allow");
    std::size_t start = 0;
    while (start < v.size()) {
      auto semi = v.find(';', start);
      std::string item = v.substr(start, semi == std::string::npos ? std::string::npos : semi - start);
      if (!item.empty()) {
        HG_TRY(auto ex, gate::parse_exception(item));
        cfg.policy.exceptions.push_back(std::move(ex));
      }
      if (semi == std::string::npos) break;
      start = semi + 1;
    }
  }
  if (a.has("--gate-hold-max-bytes")) {
    auto v = parse_u64(a.get("--gate-hold-max-bytes"));
    if (!v) return fail(Errc::invalid_argument, "--gate-hold-max-bytes wants a non-negative integer (bytes)");
    cfg.hold_max_bytes = *v;
  }
  if (a.has("--admin-tokens")) {
    cfg.admin_tokens.clear();
    std::string v = a.get("--admin-tokens");
    std::size_t start = 0;
    while (start <= v.size()) {
      auto comma = v.find(',', start);
      std::string item = v.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      if (!item.empty()) cfg.admin_tokens.insert(item);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  return {};
}

Result<GateRuntime> open_gate(const std::string& data_dir, const GateConfig& cfg, std::shared_ptr<db::Pool> pool) {
  GateRuntime rt;
  if (pool) {
    HG_TRY(rt.verdicts, gate::VerdictStore::open_pg(pool));
    HG_TRY(rt.audit, audit::Log::open_pg(pool));
  } else {
    HG_TRY(rt.verdicts, gate::VerdictStore::open(data_dir + "/gate.db"));
    HG_TRY(rt.audit, audit::Log::open(data_dir + "/audit.db"));
  }
  gate::GateOptions o;
  o.enabled = cfg.enabled;
  o.policy = cfg.policy;
  rt.gate = std::make_unique<gate::Gate>(o, *rt.verdicts, rt.audit.get());
  return rt;
}

void wire_hub(GateRuntime& rt, const GateConfig& cfg, hub::HubOptions& h) {
  h.gate = rt.gate.get();
  h.audit = rt.audit.get();
  h.admin_tokens = cfg.admin_tokens;
}

namespace {

gate::Subject subject_of(const upstream::FillOrigin& o) {
  gate::Subject s;
  s.repo = o.repo;
  s.revision = o.revision;
  s.path = o.path;
  s.client = o.client.empty() ? "anonymous" : o.client;
  s.remote = o.remote;
  return s;
}

// Early verdicts (dangerous, from part of a file whose fill then stopped), by verdict key, for
// serve_check while no whole-file verdict exists. Bounded: cleared when full.
class EarlyVerdicts {
 public:
  void put(const std::string& key, gate::Verdict v) {
    std::lock_guard lock(mu_);
    if (map_.size() >= 100000) map_.clear();
    map_[key] = std::move(v);
  }
  std::optional<gate::Verdict> get(const std::string& key) const {
    std::lock_guard lock(mu_);
    auto it = map_.find(key);
    if (it == map_.end()) return std::nullopt;
    return it->second;
  }

 private:
  mutable std::mutex mu_;
  std::unordered_map<std::string, gate::Verdict> map_;
};

}  // namespace

void wire_edge(GateRuntime& rt, const GateConfig& cfg, upstream::EdgeOptions& e) {
  if (!rt.gate->enabled()) return;
  gate::Gate* g = rt.gate.get();
  e.hold_head_bytes = cfg.hold_max_bytes;
  // Files the edge answers only after their whole verdict need no early one.
  e.fill_gate.verdict_min_size = cfg.hold_max_bytes;
  auto early = std::make_shared<EarlyVerdicts>();
  e.fill_gate.verdict_early = [g, early](const upstream::FillSpec& spec, ByteView prefix, bool last,
                                         const upstream::RangeRead& read) {
    upstream::EarlyVerdict out;
    auto who = subject_of(spec.origin);
    scan::PartialVerdict pv = scan::scan_partial(prefix, spec.size, last, read, who.path);
    if (pv.state == scan::PartialState::need_more) out.state = upstream::EarlyVerdict::State::need_more;
    if (pv.state != scan::PartialState::dangerous) return out;
    const bool sha = spec.key.algo == upstream::ContentKey::Algo::sha256;
    gate::Verdict v = gate::verdict_from_report(pv.report, sha ? spec.key.hex : "");
    early->put(sha ? spec.key.hex : "gitsha1:" + spec.key.hex, v);
    gate::Decision d = g->decide(v, who);  // audited: the block (or the exception) names the finding
    if (d.outcome == gate::Outcome::block) {
      out.state = upstream::EarlyVerdict::State::block;
      out.message = d.message;
    }
    return out;
  };
  e.fill_gate.early = [](ByteView prefix, std::uint64_t size) {
    switch (gate::classify_prefix(prefix, size)) {
      case gate::EarlyRelease::stream: return upstream::EarlyRelease::stream;
      case gate::EarlyRelease::need_more: return upstream::EarlyRelease::need_more;
      case gate::EarlyRelease::hold: break;
    }
    return upstream::EarlyRelease::hold;
  };
  e.fill_gate.max_prefix = gate::kMaxClassifyPrefix;
  e.fill_gate.before_publish = [g](const upstream::FillSpec& spec, const std::string& temp) -> Result<void> {
    std::string sha256 = spec.key.hex;
    std::vector<std::string> aliases;
    if (spec.key.algo != upstream::ContentKey::Algo::sha256) {
      HG_TRY(sha256, store::sha256_file(temp));
      aliases.push_back("gitsha1:" + spec.key.hex);
    }
    auto who = subject_of(spec.origin);
    gate::Verdict v = g->verdict_for_file(sha256, temp, who, aliases);
    gate::Decision d = g->decide(v, who);
    if (d.outcome == gate::Outcome::block) return fail(Errc::permission_denied, d.message);
    return {};
  };
  e.security_status = [g](const std::string& key) -> std::optional<std::string> {
    auto v = g->lookup(key);
    if (!v || v->status_json.empty()) return std::nullopt;
    return v->status_json;
  };
  e.serve_check = [g, early](const upstream::ServeQuery& q) {
    upstream::ServeCheck out;
    std::optional<gate::Verdict> v = g->lookup(q.key);
    if (!v && q.cached_fd < 0) v = early->get(q.key);
    gate::Subject who;
    who.repo = q.repo;
    who.revision = q.commit;
    who.path = q.path;
    who.remote = q.request ? q.request->client : "";
    if (!v && q.cached_fd >= 0) {
      std::string fd_path = "/proc/self/fd/" + std::to_string(q.cached_fd);
      std::string sha256 = q.key;
      std::vector<std::string> aliases;
      if (q.key.starts_with("gitsha1:")) {
        auto s = store::sha256_file(fd_path);
        if (s) {
          sha256 = *s;
          aliases.push_back(q.key);
        }
      }
      v = g->verdict_for_file(sha256, fd_path, who, aliases);
    }
    if (!v) return out;  // unknown: the fill will scan it before publishing
    out.known = true;
    bool head = q.request && q.request->method == "HEAD";
    gate::Decision d = g->evaluate(*v, q.repo);
    if (d.outcome == gate::Outcome::block || !head) d = g->decide(*v, who);
    if (d.outcome == gate::Outcome::block) {
      out.refusal = gate::blocked_response(d, q.repo + "/" + q.path);
    } else if (d.outcome == gate::Outcome::warn) {
      out.headers.emplace_back(gate::kWarningHeader, gate::header_safe(d.warning));
    }
    return out;
  };
}

}  // namespace hubgate::cli
