// Pickle scanning: runs the simulator (pickle_vm) over every pickle in a stream and turns what
// it saw into findings. Grading: each global by judge_global (allowlist / danger list /
// suspicious); each call whose callable is not a plain global (a call result, a memo-fetched
// object...) is an indirect call — the shape of every gadget chain (getattr, attrgetter,
// resolve_name, import_module) — and is dangerous; bytes arguments that hold a pickle or a zip
// are scanned as nested members; a parse error is suspicious, and dangerous when a call that is
// not allowlisted ran before it. Repeated findings for the same global are reported once per file
// (with a count).
//
// Loader readings: when a pickle misuses FRAME (an opcode crossing a frame's end, a FRAME inside
// another, a frame longer than the data), real loaders read different opcodes from the same bytes
// (pickle_vm.hpp `Reading`). The pickle is then simulated under every reading; the first (the C
// unpickler on a buffer) is reported in full, the others from the point where they part, each
// finding naming its reading, so the file gets the worst verdict of any reading. One
// `pickle.frame-divergence` finding lists the calls each reading makes.
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

// Grade one simulated pickle. `from`: only what happens at or after this offset is reported
// (a second reading of the same bytes); `reading`: appended to every message when not empty.
void report_run(Context& ctx, ByteView data, std::uint64_t base, const pickle::Run& run, int index,
                const PickleScanOptions& opt, std::uint64_t from = 0, std::string_view reading = {}) {
  if (opt.speculative && run.imports.empty() && run.calls.empty()) return;
  std::string where = index > 0 ? " (pickle #" + std::to_string(index + 1) + " in the stream)" : "";
  if (!reading.empty()) where += " (reading of the " + std::string(reading) + ")";
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
    if (im.offset < from) continue;
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
    if (c.offset < from) continue;
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
  for (const auto& a : run.anomalies)
    if (a.offset >= from) ctx.add(a.severity, a.rule, a.subject, a.message + where, base + a.offset);
  if (run.error && (from == 0 || unsafe_call)) {
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

// What a reading calls, for the divergence summary: "os.system, builtins.eval" (bounded).
std::string calls_of(const pickle::Run& run) {
  std::string out;
  std::set<std::string> seen;
  for (const auto& c : run.calls) {
    std::string name = c.target >= 0 ? run.imports[static_cast<std::size_t>(c.target)].module + "." +
                                           run.imports[static_cast<std::size_t>(c.target)].name
                                     : c.callable;
    if (!seen.insert(name).second) continue;
    if (seen.size() > 8) {
      out += ", ...";
      break;
    }
    out += (out.empty() ? "" : ", ") + name;
  }
  return out.empty() ? "none" : out;
}

// Simulates `data` under the first reading and, when FRAME is misused, under the others too;
// reports all of them. Returns the primary reading's run (the stream continues after it).
pickle::Run scan_readings(Context& ctx, ByteView whole, std::uint64_t base, const pickle::VmOptions& vo,
                          pickle::ExtRegistry& ext, int index, const PickleScanOptions& opt) {
  ByteView data = whole.subspan(base);
  pickle::Run primary = pickle::simulate_pickle(data, vo, ext);
  report_run(ctx, whole, base, primary, index, opt);
  if (!primary.divergence) return primary;
  std::string summary;
  auto describe = [&](pickle::Reading r, const pickle::Run& run) {
    summary += std::string(summary.empty() ? "" : "; ") + pickle::reading_name(r) + ": " +
               (run.stopped ? "reaches STOP" : "stops at offset " + std::to_string(base + run.error_offset)) +
               ", calls " + calls_of(run);
  };
  describe(vo.reading, primary);
  std::uint64_t crossings = primary.frame_crossings;
  bool names_something = !primary.imports.empty() || !primary.calls.empty();
  for (pickle::Reading r : {pickle::Reading::c_buffer, pickle::Reading::c_file, pickle::Reading::c_file_py37,
                            pickle::Reading::python}) {
    if (r == vo.reading) continue;
    pickle::VmOptions other = vo;
    other.reading = r;
    // The registry as the first reading left it: codes registered later in this pickle resolve
    // earlier too (over-resolving is the safe side), and no copy is made for ordinary pickles.
    pickle::ExtRegistry ext_copy = ext;
    pickle::Run run = pickle::simulate_pickle(data, other, ext_copy);
    crossings = std::max(crossings, run.frame_crossings);
    names_something = names_something || !run.imports.empty() || !run.calls.empty();
    report_run(ctx, whole, base, run, index, opt, std::min(*primary.divergence, run.divergence.value_or(0)),
               pickle::reading_name(r));
    describe(r, run);
  }
  // Bytes that only might be a pickle (raw tensor storage) stay silent unless a reading names
  // a global or calls.
  if (opt.speculative && !names_something) return primary;
  // No legitimate pickler ends a frame inside an opcode. With one crossing the readings above
  // are all a loader can take; with several, a buffered file (peek window) may mix them per
  // frame, which is not enumerated: dangerous.
  bool several = crossings > 1;
  ctx.add(several ? Severity::dangerous : Severity::suspicious, "pickle.frame-divergence", "",
          std::string(primary.frame_truncated ? "a FRAME runs past the end of the data"
                                               : "an opcode crosses the end of its FRAME") +
              (several ? " (" + std::to_string(crossings) + " times: loaders that buffer by frame mix the readings)"
                       : "") +
              ": loaders read it differently; " + summary,
          base + *primary.divergence);
  return primary;
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
    PickleScanOptions o = opt;
    // After the first pickle, bytes that only looked like one (raw storage data) stay silent.
    if (index > 0) o.speculative = true;
    pickle::Run run = scan_readings(ctx, data, pos, vo, ext, static_cast<int>(index), o);
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
    pickle::Run run = scan_readings(ctx, data, pos, vo, ext, index, {});
    if (!run.stopped) return;
    pos += run.end;
  }
}

}  // namespace hubgate::scan
