// Gate configuration and wiring for `hubgate serve` (see gate_setup.hpp). The edge hooks:
//   early          -> gate::classify_prefix (safetensors/GGUF stream, everything else is held)
//   before_publish -> scan the verified temp file of the fill (sha256 computed for files named by
//                     their git blob id, which are then stored under both keys), decide for the
//                     repository that started the fill; a block fails the fill (never published)
//   serve_check    -> a stored verdict decides before any byte is sent; a cached body without a
//                     verdict (cached before the gate) is scanned once through its descriptor
#include "cli/gate_setup.hpp"

#include <toml++/toml.h>

#include "crypto/sha.hpp"
#include "gate/http_reply.hpp"
#include "store/store.hpp"

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
)";

const std::set<std::string>& gate_flags() {
  static const std::set<std::string> flags = {"--gate", "--gate-dangerous", "--gate-suspicious", "--gate-unscanned",
                                              "--gate-allow", "--admin-tokens"};
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

}  // namespace

void wire_edge(GateRuntime& rt, upstream::EdgeOptions& e) {
  if (!rt.gate->enabled()) return;
  gate::Gate* g = rt.gate.get();
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
  e.serve_check = [g](const upstream::ServeQuery& q) {
    upstream::ServeCheck out;
    std::optional<gate::Verdict> v = g->lookup(q.key);
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
