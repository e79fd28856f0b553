// `hubgate serve`'s security gate configuration and wiring (src/gate/ into the hub and edge).
//
// Configuration (defaults < TOML `[gate]` table < flags), documented in README.md:
//   [gate]
//   enabled = true                # --gate on|off
//   dangerous = "block"           # --gate-dangerous allow|warn|block
//   suspicious = "warn"           # --gate-suspicious allow|warn|block
//   unscanned = "warn"            # --gate-unscanned allow|warn|block
//   admin_tokens = ["root"]       # --admin-tokens NAME[,NAME...]
//   hold_max_bytes = 67108864     # --gate-hold-max-bytes N (edge: cold files up to N bytes answer
//                                 # only once their verdict exists; larger ones after the early phase)
//   [[gate.exception]]            # --gate-allow 'GLOB=REASON[;GLOB=REASON...]' (replaces the TOML list)
//   repo = "research/*"
//   reason = "red-team corpus"
// Files: <data>/gate.db (verdicts), <data>/audit.db (decision log).
#pragma once

#include <cstdint>
#include <memory>
#include <set>
#include <string>

#include "audit/audit.hpp"
#include "cli/args.hpp"
#include "gate/gate.hpp"
#include "hub/hub.hpp"
#include "upstream/edge.hpp"

namespace hubgate::cli {

struct GateConfig {
  bool enabled = true;
  gate::Policy policy;
  std::set<std::string> admin_tokens;
  std::uint64_t hold_max_bytes = 64u << 20;  // EdgeOptions::hold_head_bytes
};

// Reads the `[gate]` table of a TOML file (absent table: defaults kept).
Result<void> gate_config_from_toml(const std::string& path, GateConfig& cfg);
// Applies the --gate* / --admin-tokens flags.
Result<void> gate_config_from_args(const Args& a, GateConfig& cfg);
// The flags gate_config_from_args understands (all take a value).
const std::set<std::string>& gate_flags();
extern const char* const kGateUsage;

struct GateRuntime {
  std::unique_ptr<gate::VerdictStore> verdicts;
  std::unique_ptr<audit::Log> audit;
  std::unique_ptr<gate::Gate> gate;
};
// Opens <data>/gate.db and <data>/audit.db (or, with `pool`, their PostgreSQL tables) and builds
// the gate.
Result<GateRuntime> open_gate(const std::string& data_dir, const GateConfig& cfg,
                              std::shared_ptr<db::Pool> pool = nullptr);
// Sets the hub's gate, audit log and admin tokens.
void wire_hub(GateRuntime& rt, const GateConfig& cfg, hub::HubOptions& h);
// Sets the edge's fill hooks (early release, early verdict, scan before publication), serve
// check and response-head hold (no-op when the gate is disabled).
void wire_edge(GateRuntime& rt, const GateConfig& cfg, upstream::EdgeOptions& e);

}  // namespace hubgate::cli
