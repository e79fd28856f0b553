// Pickle scanning: runs the simulator (pickle_vm) over every pickle in a stream and turns what
// it saw into findings. Grading: each global by judge_global (allowlist / danger list /
// suspicious); each call whose callable is not a plain global (a call result, a memo-fetched
// object...) is an indirect call — the shape of every gadget chain (getattr, attrgetter,
// resolve_name, import_module) — and is dangerous; bytes arguments that hold a pickle or a zip
// are scanned as nested members; a parse error is suspicious, and dangerous when a call that is
// not allowlisted ran before it. Repeated findings for the same global are reported once per file
// (with a count).
#include <algorithm>
#include <set>

#include "scan/internal.hpp"
#include "scan/pickle_rules.hpp"
#include "scan/pickle_vm.hpp"

namespace hubgate::scan {

std::string hex_offset(std::uint64_t off) { return std::to_string(off); }

namespace {

// Findings per pickle for one rule beyond which the rest are summarised (hostile input must not
// produce unbounded reports).
constexpr std::size_t kMaxReportedGlobals = 200;

// Grade one simulated pickle; returns true if anything was reported.
void report_run(Context& ctx, ByteView data, std::uint64_t base, const pickle::Run& run, int index,
                const PickleScanOptions& opt) {
  if (opt.speculative && run.imports.empty() && run.calls.empty()) return;
  std::string where = index > 0 ? " (pickle #" + std::to_string(index + 1) + " in the stream)" : "";
  std::vector<Severity> grade(run.imports.size(), Severity::safe);
  std::vector<int> first_call(run.imports.size(), -1);
  for (std::size_t k = 0; k < run.calls.size(); ++k) {
    int t = run.calls[k].target;
    if (t >= 0 && first_call[static_cast<std::size_t>(t)] < 0) first_call[static_cast<std::size_t>(t)] = static_cast<int>(k);
  }
  std::set<std::string> seen;
  std::size_t reported = 0, unreported = 0;
  for (std::size_t i = 0; i < run.imports.size(); ++i) {
    const auto& im = run.imports[i];
    auto j = pickle::judge_global(im.module, im.name);
    grade[i] = j.severity;
    ctx.add_import(im.module, im.name, j.severity);
    if (j.severity == Severity::safe) continue;
    std::string full = im.module + "." + im.name;
    if (!seen.insert(full).second) continue;
    if (j.severity == Severity::suspicious && reported >= kMaxReportedGlobals) {
      ++unreported;
      continue;
    }
    ++reported;
    std::string called;
    if (first_call[i] >= 0) {
      const auto& c = run.calls[static_cast<std::size_t>(first_call[i])];
      called = ", called by " + std::string(c.op) + " at offset " + std::to_string(base + c.offset) +
               (c.arg_preview.empty() ? "" : " with '" + c.arg_preview + "'");
    }
    if (j.severity == Severity::dangerous) {
      ctx.add(Severity::dangerous, "pickle.dangerous-global", full,
              std::string(im.via) + " imports " + full + " (dangerous: " + j.why + ")" + called + where,
              base + im.offset);
    } else {
      ctx.add(Severity::suspicious, "pickle.unknown-global", full,
              std::string(im.via) + " imports " + full + ", which is not on the allowlist" +
                  (j.why.empty() ? "" : " (" + j.why + ")") + called + where,
              base + im.offset);
    }
  }
  if (unreported > 0) {
    ctx.add(Severity::suspicious, "pickle.unknown-global", "",
            std::to_string(unreported) + " more distinct globals not on the allowlist (not listed one by one)" + where,
            base);
  }
  bool unsafe_call = false;
  std::size_t indirect = 0;
  for (const auto& c : run.calls) {
    if (c.target >= 0) {
      if (grade[static_cast<std::size_t>(c.target)] != Severity::safe) unsafe_call = true;
    } else {
      unsafe_call = true;
      if (++indirect > kMaxReportedGlobals) continue;
      ctx.add(Severity::dangerous, "pickle.indirect-call", c.callable,
              std::string(c.op) + " calls " + c.callable +
                  ": a callable computed at load time (gadget chain)" + where,
              base + c.offset);
    }
    for (ByteView b : c.bytes_args) {
      bool nested_pickle = pickle::looks_like_pickle(b);
      bool nested_zip = b.size() >= 4 && b[0] == 'P' && b[1] == 'K' && b[2] == 3 && b[3] == 4;
      if (!nested_pickle && !nested_zip) continue;
      std::uint64_t off = static_cast<std::uint64_t>(b.data() - data.data());
      ctx.scan_nested(b, "@" + std::to_string(base + off));
    }
  }
  for (const auto& a : run.anomalies) ctx.add(a.severity, a.rule, a.subject, a.message + where, base + a.offset);
  if (run.error) {
    if (run.limit_hit) {
      ctx.add(Severity::suspicious, "pickle.limit", "", "scan stopped: " + *run.error + where, base + run.error_offset);
    } else if (unsafe_call) {
      ctx.add(Severity::dangerous, "pickle.malformed", "",
              "pickle breaks at offset " + std::to_string(base + run.error_offset) + " (" + *run.error +
                  ") after calls that are not allowlisted: the loader has already run them" + where,
              base + run.error_offset);
    } else {
      ctx.add(Severity::suspicious, "pickle.malformed", "",
              "pickle breaks at offset " + std::to_string(base + run.error_offset) + " (" + *run.error + ")" + where,
              base + run.error_offset);
    }
  }
}

}  // namespace

std::uint64_t scan_pickles(Context& ctx, ByteView data, const PickleScanOptions& opt) {
  pickle::ExtRegistry ext;
  pickle::VmOptions vo;
  vo.max_ops = ctx.limits().max_pickle_ops;
  vo.max_entries = ctx.limits().max_pickle_stack;
  vo.joblib = opt.joblib;
  std::uint64_t pos = 0;
  for (std::size_t index = 0; index < opt.max_pickles && pos < data.size(); ++index) {
    ByteView rest = data.subspan(pos);
    if (index > 0 && !pickle::looks_like_pickle(rest)) break;
    pickle::Run run = pickle::simulate_pickle(rest, vo, ext);
    PickleScanOptions o = opt;
    // After the first pickle, bytes that only looked like one (raw storage data) stay silent.
    if (index > 0) o.speculative = true;
    report_run(ctx, data, pos, run, static_cast<int>(index), o);
    if (!run.stopped || run.end == 0) return pos + run.end;
    pos += run.end;
  }
  return pos;
}

void scan_pickle(Context& ctx, ByteView data) { scan_pickles(ctx, data, {}); }

void scan_torch_legacy(Context& ctx, ByteView data) {
  // torch.load's legacy path unpickles: magic number, protocol version, sys_info, the model,
  // the storage keys; raw storage bytes follow. Each pickle runs whatever it names, so all are
  // scanned; a wrong magic number does not stop the scan (the loader already ran that pickle).
  pickle::ExtRegistry ext;
  pickle::VmOptions vo;
  vo.max_ops = ctx.limits().max_pickle_ops;
  vo.max_entries = ctx.limits().max_pickle_stack;
  static const std::uint8_t kMagic[] = {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9,
                                        0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e};
  if (data.size() < sizeof kMagic || !std::equal(std::begin(kMagic), std::end(kMagic), data.begin())) {
    ctx.add(Severity::suspicious, "torch.bad-magic", "", "legacy torch file without the expected magic number", 0);
  }
  std::uint64_t pos = 0;
  for (int index = 0; index < 5 && pos < data.size(); ++index) {
    pickle::Run run = pickle::simulate_pickle(data.subspan(pos), vo, ext);
    report_run(ctx, data, pos, run, index, {});
    if (!run.stopped) return;
    pos += run.end;
  }
}

}  // namespace hubgate::scan
