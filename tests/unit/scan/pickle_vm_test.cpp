// The pickle machine simulator and grading, opcode family by opcode family.
#include <gtest/gtest.h>

#include "scan/pickle_rules.hpp"
#include "scan/pickle_vm.hpp"
#include "test_util.hpp"

namespace hubgate::scan::test {
namespace {

using namespace std::string_literals;

using pickle::ExtRegistry;
using pickle::simulate_pickle;
using pickle::VmOptions;

pickle::Run sim(const std::string& s, VmOptions opt = {}) {
  ExtRegistry ext;
  return simulate_pickle(as_bytes(s), opt, ext);
}

void expect_dangerous(const std::string& bytes, std::string_view subject) {
  Report r = scan_str(bytes);
  EXPECT_EQ(r.verdict(), Severity::dangerous) << subject;
  EXPECT_NE(find(r, "pickle.dangerous-global", subject), nullptr) << subject;
}

TEST(PickleVm, Protocol0GlobalReduceWithOffsets) {
  std::string p = "cos\nsystem\n(S'ls'\ntR.";
  Report r = scan_str(p);
  ASSERT_EQ(r.format, Format::pickle);
  const Finding* f = find(r, "pickle.dangerous-global", "os.system");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->offset, 0u);
  EXPECT_NE(f->message.find("REDUCE at offset 19"), std::string::npos) << f->message;
  EXPECT_NE(f->message.find("'ls'"), std::string::npos);
}

TEST(PickleVm, StackGlobalFromEveryStringOpcode) {
  const std::string os = "os", sys = "system";
  std::vector<std::pair<std::string, std::string>> forms = {
      {"S'os'\n", "S'system'\n"},
      {"U\x02os", "U\x06system"},
      {"T" + u32(2) + os, "T" + u32(6) + sys},
      {"Vos\n", "Vsystem\n"},
      {"X" + u32(2) + os, "X" + u32(6) + sys},
      {sbu(os), sbu(sys)},
      {"\x8d" + u64(2) + os, "\x8d" + u64(6) + sys},
      {"V\\u006fs\n", "Vsys\\u0074em\n"},  // raw-unicode-escape
      {"S'\\x6fs'\n", "S'sy\\163tem'\n"},  // escape_decode: hex and octal
  };
  for (const auto& [m, n] : forms) expect_dangerous(kProto4 + m + n + "\x93" + sbu("ls") + "\x85R.", "os.system");
}

TEST(PickleVm, MemoRoundTripsEveryForm) {
  expect_dangerous(glob("os", "system") + "p3\n0g3\n(S'x'\ntR.", "os.system");
  expect_dangerous(kProto2 + glob("os", "system") + "q\x05" "0h\x05" + sbu("x") + "\x85R.", "os.system");
  expect_dangerous(kProto2 + glob("os", "system") + "r" + u32(70000) + "0j" + u32(70000) + sbu("x") + "\x85R.",
                   "os.system");
  expect_dangerous(kProto4 + sbu("os") + "\x94" + sbu("system") + "\x94" "00h\x00h\x01\x93"s + sbu("x") + "\x85R.",
                   "os.system");
  Report r = scan_str(kProto2 + "h\x09.");
  EXPECT_NE(find(r, "pickle.malformed"), nullptr);
}

TEST(PickleVm, EveryCallOpcode) {
  expect_dangerous("(S'ls'\nios\nsystem\n.", "os.system");                                // INST
  expect_dangerous(kProto2 + "(" + glob("os", "system") + sbu("ls") + "o.", "os.system");  // OBJ
  expect_dangerous(kProto2 + glob("subprocess", "Popen") + sbu("ls") + "\x85\x81.", "subprocess.Popen");
  expect_dangerous(kProto4 + glob("subprocess", "Popen") + sbu("ls") + "\x85}\x92.", "subprocess.Popen");
  Report r = scan_str(kProto2 + glob("collections", "OrderedDict") + "}b.");  // BUILD on a class
  EXPECT_NE(find(r, "pickle.mutates-global", "collections.OrderedDict"), nullptr);
  EXPECT_EQ(r.verdict(), Severity::dangerous);
}

TEST(PickleVm, DiscardedCallsAreJudged) {
  expect_dangerous(kProto2 + os_system_call() + "0N.", "os.system");
  expect_dangerous(kProto2 + "(" + os_system_call() + "1N.", "os.system");
  auto run = sim(kProto2 + os_system_call() + "0N.");
  ASSERT_EQ(run.calls.size(), 1u);
  EXPECT_EQ(run.calls[0].target, 0);
  EXPECT_STREQ(run.calls[0].op, "REDUCE");
}

TEST(PickleVm, IndirectCallIsDangerous) {
  // some.factory() returns a callable that is then called: a gadget chain.
  Report r = scan_str(kProto2 + glob("somepkg", "factory") + ")R" + sbu("x") + "\x85R.");
  const Finding* f = find(r, "pickle.indirect-call");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->severity, Severity::dangerous);
  EXPECT_NE(f->subject.find("somepkg.factory"), std::string::npos);
  EXPECT_NE(find(r, "pickle.unknown-global", "somepkg.factory"), nullptr);
}

TEST(PickleVm, AllowlistedCheckpointGlobalsAreSafe) {
  std::string p = kProto2 + glob("collections", "OrderedDict") + ")R" + glob("torch._utils", "_rebuild_tensor_v2") +
                  "(" + glob("torch", "FloatStorage") + "0" + ")tR.";
  Report r = scan_str(p);
  EXPECT_EQ(r.verdict(), Severity::safe);
  ASSERT_EQ(r.imports.size(), 3u);
  EXPECT_EQ(r.imports[0].module, "collections");
  EXPECT_EQ(r.imports[0].safety, Severity::safe);
}

TEST(PickleVm, GradingLists) {
  using pickle::judge_global;
  EXPECT_EQ(judge_global("torch._utils", "_rebuild_tensor_v2").severity, Severity::safe);
  EXPECT_EQ(judge_global("__builtin__", "set").severity, Severity::safe);
  EXPECT_EQ(judge_global("__builtin__", "xrange").severity, Severity::safe);
  EXPECT_EQ(judge_global("os.path", "join").severity, Severity::dangerous);       // parent inheritance
  EXPECT_EQ(judge_global("builtins", "getattr").severity, Severity::dangerous);
  EXPECT_EQ(judge_global("builtins", "len").severity, Severity::suspicious);
  EXPECT_EQ(judge_global("pathlib", "os.system").severity, Severity::dangerous);  // dotted component
  EXPECT_EQ(judge_global("collections", "OrderedDict.__init__").severity, Severity::dangerous);
  EXPECT_EQ(judge_global("collections", "OrderedDict.fromkeys").severity, Severity::suspicious);
  EXPECT_EQ(judge_global("torch", "load").severity, Severity::dangerous);
  EXPECT_EQ(judge_global("timeit", "timeit").severity, Severity::dangerous);
  EXPECT_EQ(judge_global("mylib.models", "Net").severity, Severity::suspicious);
  EXPECT_EQ(judge_global("__torch__.torch.nn.modules.linear", "Linear").severity, Severity::safe);
}

TEST(PickleVm, BenignStreamWithEveryDataOpcode) {
  std::string p = kProto4 + "\x95" + u64(0) +  // empty FRAME
                  "](K\x01M\x00\x01J\xff\xff\xff\xff\x8a\x01\x05\x8b"s + u32(1) + "\x05G" + std::string(8, '\0') +
                  "N\x88\x89" "C\x01x" "B" + u32(1) + "y" "U\x01s" "T" + u32(1) + "t" "X" + u32(1) + "u" + sbu("v") +
                  "\x8e" + u64(1) + "z" "\x96" + u64(1) + "w\x98" "e" +
                  "}(" + sbu("k") + "K\x01u" + sbu("k2") + "K\x02s" + ")K\x01\x85K\x01K\x02\x86K\x01K\x02K\x03\x87" +
                  "(K\x01K\x02t\x8f(K\x01\x90(K\x01\x91" + "2" + "0" + "(I01\nI5\nL7L\nF1.5\naN" "l" +
                  "\x87\x87\x87" ".";
  auto run = sim(p);
  EXPECT_FALSE(run.error) << *run.error << " at " << run.error_offset;
  EXPECT_TRUE(run.stopped);
  EXPECT_TRUE(run.imports.empty());
  EXPECT_EQ(scan_str(p).verdict(), Severity::safe);
}

TEST(PickleVm, MalformedPicklesReportWhatRan) {
  // truncated after the REDUCE: dangerous global and a dangerous malformed finding
  Report r = scan_str(kProto2 + os_system_call());
  EXPECT_NE(find(r, "pickle.dangerous-global", "os.system"), nullptr);
  const Finding* m = find(r, "pickle.malformed");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->severity, Severity::dangerous);
  // a parse error alone is suspicious
  r = scan_str(kProto2 + "K\x01\xff");
  m = find(r, "pickle.malformed");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->severity, Severity::suspicious);
  EXPECT_EQ(m->offset, 4u);
  EXPECT_EQ(sim(kProto2 + "0.").error.value_or(""), "unpickling stack underflow");
  EXPECT_TRUE(sim("\x80\x06.").error.has_value());              // protocol 6
  EXPECT_TRUE(sim(kProto4 + "\x97.").error.has_value());        // NEXT_BUFFER without buffers
  EXPECT_TRUE(sim(kProto2 + "t.").error.has_value());           // no MARK
  EXPECT_TRUE(sim(kProto2 + "\x8b\xff\xff\xff\xff.").error.has_value());  // negative LONG4
  EXPECT_TRUE(sim("S'unquoted\n.").error.has_value());
  EXPECT_TRUE(sim(kProto4 + "K\x01K\x02\x93.").error.has_value());  // STACK_GLOBAL needs str
}

TEST(PickleVm, SeveralPicklesInOneFile) {
  std::string benign = kProto2 + "}q\x00."s;
  Report r = scan_str(benign + benign + kProto2 + os_system_call() + ".");
  const Finding* f = find(r, "pickle.dangerous-global", "os.system");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->offset, 2 * benign.size() + 2);
  EXPECT_NE(f->message.find("pickle #3"), std::string::npos);
}

TEST(PickleVm, ExtensionRegistry) {
  std::string reg = glob("copyreg", "add_extension") + sbu("os") + sbu("system") + "K\x2a\x87R0";
  auto run = sim(kProto2 + reg + "\x82\x2a" + sbu("ls") + "\x85R.");
  ASSERT_EQ(run.imports.size(), 2u);
  EXPECT_EQ(run.imports[1].module, "os");
  EXPECT_EQ(run.imports[1].name, "system");
  EXPECT_STREQ(run.imports[1].via, "EXT1");
  Report r = scan_str(kProto2 + "\x83\x07\x00."s);
  EXPECT_NE(find(r, "pickle.unregistered-extension"), nullptr);
  EXPECT_EQ(r.verdict(), Severity::suspicious);
}

TEST(PickleVm, FrameHandling) {
  // frame longer than the data: the C unpickler fails at the FRAME
  EXPECT_TRUE(sim(kProto4 + "\x95" + u64(100) + "N.").error.has_value());
  // opcode crossing the end of the frame: the C reading goes on and calls, the file is dangerous
  Report r = scan_str(kProto4 + "\x95" + u64(3) + glob("os", "system") + sbu("ls") + "\x85R.");
  EXPECT_NE(find(r, "pickle.frame-divergence"), nullptr);
  EXPECT_NE(find(r, "pickle.dangerous-global", "os.system"), nullptr);
  EXPECT_EQ(r.verdict(), Severity::dangerous);
  // well-formed frames: nothing to report
  std::string body = "N.";
  EXPECT_TRUE(scan_str(kProto4 + "\x95" + u64(body.size()) + body).findings.empty());
  std::string two = kProto4 + "\x95" + u64(2) + "N0" + "\x95" + u64(body.size()) + body;
  EXPECT_TRUE(scan_str(two).findings.empty());
}

// The readings real loaders take of the same bytes (pickle_vm.hpp `Reading`).
// (Each shape below was checked against CPython 3.11's pickle.loads, pickle.load(io.BytesIO)
// and pickle._loads with a harmless marker callable in place of os.system.)
TEST(PickleVm, ReadingsOfACrossedFrame) {
  // BINUNICODE of 6 at the end of a frame that holds only 3 of its bytes; after the frame, bytes
  // chosen so that the linear reading stops harmlessly and the file-object reading (which reads
  // the 6 bytes afresh after the frame) runs os.system.
  std::string frame = "N0X"s + std::string("\x06\x00\x00\x00", 4) + "abc";
  std::string after = "abc0."s + std::string(1, '\0') + "cos\nsystem\n(S'id'\ntR.";
  std::string p = kProto4 + "\x95" + u64(frame.size()) + frame + after;
  VmOptions linear;
  auto a = sim(p, linear);
  EXPECT_TRUE(a.stopped);
  EXPECT_TRUE(a.calls.empty());
  EXPECT_EQ(a.frame_crossings, 1u);
  ASSERT_TRUE(a.divergence.has_value());
  VmOptions file;
  file.reading = pickle::Reading::c_file;
  auto b = sim(p, file);
  EXPECT_TRUE(b.stopped);
  ASSERT_EQ(b.imports.size(), 1u);
  EXPECT_EQ(b.imports[0].name, "system");
  ASSERT_EQ(b.calls.size(), 1u);
  VmOptions py;
  py.reading = pickle::Reading::python;
  auto c = sim(p, py);
  EXPECT_FALSE(c.stopped);
  ASSERT_TRUE(c.error.has_value());
  EXPECT_NE(c.error->find("exhausted before end of frame"), std::string::npos);
  // The file gets the worst verdict, and the divergence finding names each reading's calls.
  Report r = scan_str(p);
  EXPECT_EQ(r.verdict(), Severity::dangerous);
  const Finding* g = find(r, "pickle.dangerous-global", "os.system");
  ASSERT_NE(g, nullptr);
  EXPECT_NE(g->message.find("file object"), std::string::npos) << g->message;
  const Finding* d = find(r, "pickle.frame-divergence");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->severity, Severity::suspicious);
  EXPECT_NE(d->message.find("calls os.system"), std::string::npos) << d->message;
  EXPECT_NE(d->message.find("calls none"), std::string::npos) << d->message;
}

TEST(PickleVm, BytesPayloadsAreReadStraightOnSinceCpython38) {
  // BINBYTES payloads go through readinto since CPython 3.8 (straight on); 3.7 skipped the
  // frame's tail for them too.
  std::string frame = "N0B"s + std::string("\x04\x00\x00\x00", 4) + "ab";
  std::string after = std::string("\x00\x00.\x00", 4) + "cos\nsystem\n(S'id'\ntR.";
  std::string p = kProto4 + "\x95" + u64(frame.size()) + frame + after;
  VmOptions file;
  file.reading = pickle::Reading::c_file;
  auto a = sim(p, file);
  EXPECT_TRUE(a.stopped);
  EXPECT_TRUE(a.calls.empty());
  VmOptions old;
  old.reading = pickle::Reading::c_file_py37;
  auto b = sim(p, old);
  EXPECT_TRUE(b.stopped);
  EXPECT_EQ(b.calls.size(), 1u);
  Report r = scan_str(p);
  EXPECT_EQ(r.verdict(), Severity::dangerous);
  const Finding* g = find(r, "pickle.dangerous-global", "os.system");
  ASSERT_NE(g, nullptr);
  EXPECT_NE(g->message.find("3.7"), std::string::npos) << g->message;
  // Protocol 5 does not exist for CPython 3.7.
  EXPECT_TRUE(sim("\x80\x05N."s, old).error.has_value());
  EXPECT_FALSE(sim("\x80\x05N."s, file).error.has_value());
}

TEST(PickleVm, ReadingsOfATruncatedFrame) {
  // A FRAME longer than the data: the C unpickler stops at it, the Python one (joblib, dill)
  // reads on and calls os.system.
  std::string p = kProto4 + "\x95" + u64(4096) + glob("os", "system") + sbu("id") + "\x85R.";
  auto c = sim(p);
  EXPECT_TRUE(c.calls.empty());
  EXPECT_TRUE(c.frame_truncated);
  VmOptions py;
  py.reading = pickle::Reading::python;
  auto run = sim(p, py);
  EXPECT_TRUE(run.stopped);
  ASSERT_EQ(run.calls.size(), 1u);
  Report r = scan_str(p);
  EXPECT_EQ(r.verdict(), Severity::dangerous);
  const Finding* g = find(r, "pickle.dangerous-global", "os.system");
  ASSERT_NE(g, nullptr);
  EXPECT_NE(g->message.find("Python unpickler"), std::string::npos) << g->message;
}

TEST(PickleVm, ReadingsOfANestedFrameAndALine) {
  // A FRAME inside an unfinished frame: the Python unpickler refuses; the file-object reading
  // reads the inner frame from after the outer buffer when it does not fit.
  std::string inner = glob("os", "system") + sbu("id") + "\x85R.";
  std::string p = kProto4 + "\x95" + u64(9 + 3) + "\x95" + u64(inner.size()) + "N0." + inner;
  VmOptions py;
  py.reading = pickle::Reading::python;
  auto a = sim(p, py);
  ASSERT_TRUE(a.error.has_value());
  EXPECT_NE(a.error->find("new frame"), std::string::npos);
  VmOptions file;
  file.reading = pickle::Reading::c_file;
  auto b = sim(p, file);
  EXPECT_EQ(b.calls.size(), 1u);
  EXPECT_EQ(scan_str(p).verdict(), Severity::dangerous);
  // A text line (GLOBAL) whose newline lies after the frame: the file-object reading drops the
  // frame's tail and reads the line after it.
  std::string q = kProto4 + "\x95" + u64(6) + "cjunk" + "X" + "os\nsystem\n" + sbu("id") + "\x85R.";
  auto c = sim(q, file);
  ASSERT_EQ(c.imports.size(), 1u);
  EXPECT_EQ(c.imports[0].module, "os");
  auto d = sim(q);
  ASSERT_EQ(d.imports.size(), 1u);
  EXPECT_EQ(d.imports[0].module, "junkXos");
}

TEST(PickleVm, SeveralFrameCrossingsAreDangerous) {
  // Two crossings: a buffered file may take a different reading at each; not enumerated.
  // (An argument that starts right at the frame's end is no crossing: every reader agrees.)
  std::string z(1, '\0');
  EXPECT_FALSE(sim(kProto4 + "\x95" + u64(3) + "N0K" + "\x01" + "0N.").divergence.has_value());
  std::string p = kProto4 + "\x95" + u64(4) + "N0M\x01" + z + "0" + "\x95" + u64(3) + "NM\x02" + z + "0N.";
  Report r = scan_str(p);
  const Finding* d = find(r, "pickle.frame-divergence");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->severity, Severity::dangerous) << d->message;
}

TEST(PickleVm, ResourceLimits) {
  std::string p = kProto2;
  for (int i = 0; i < 1000; ++i) p += "N";
  p += ".";
  VmOptions opt;
  opt.max_ops = 100;
  auto run = sim(p, opt);
  EXPECT_TRUE(run.limit_hit);
  opt = {};
  opt.max_entries = 50;
  run = sim(p, opt);
  EXPECT_TRUE(run.limit_hit);
  Limits lim;
  lim.max_pickle_ops = 10;
  Report r = scan_bytes(as_bytes(p), "t", lim);
  EXPECT_NE(find(r, "pickle.limit"), nullptr);
}

TEST(PickleVm, HostileInputGivesBoundedReports) {
  std::string p = kProto2;
  for (int i = 0; i < 1000; ++i) p += glob("pkg" + std::to_string(i), "f") + ")R0";
  p += "N.";
  Report r = scan_str(p);
  EXPECT_EQ(r.imports.size(), 1000u);
  std::size_t unknown = 0;
  for (const auto& f : r.findings) unknown += f.rule == "pickle.unknown-global";
  EXPECT_EQ(unknown, 201u);  // 200 named + 1 summary
  EXPECT_EQ(r.verdict(), Severity::suspicious);
}

TEST(PickleVm, NestedPickleArgumentsAreScanned) {
  std::string inner = kProto2 + os_system_call() + ".";
  std::string p = kProto2 + glob("pickle", "loads") + "C" + std::string(1, static_cast<char>(inner.size())) + inner +
                  "\x85R.";
  Report r = scan_str(p);
  EXPECT_NE(find(r, "pickle.dangerous-global", "pickle.loads"), nullptr);
  const Finding* f = find(r, "pickle.dangerous-global", "os.system");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->member, "@" + std::to_string(kProto2.size() + glob("pickle", "loads").size() + 2));
}

TEST(PickleVm, LooksLikePickle) {
  using pickle::looks_like_pickle;
  EXPECT_TRUE(looks_like_pickle(as_bytes(kProto4 + "N.")));
  EXPECT_TRUE(looks_like_pickle(as_bytes("(dp0\nS'a'\np1\nI1\ns.")));
  EXPECT_TRUE(looks_like_pickle(as_bytes("cos\nsystem\n(S'ls'\ntR")));  // truncated, but names a global
  EXPECT_FALSE(looks_like_pickle(as_bytes("hello world\n")));
  EXPECT_FALSE(looks_like_pickle(as_bytes("{\"a\": 1}")));
  EXPECT_FALSE(looks_like_pickle(as_bytes("(c) 2024 The Authors\nAll rights reserved\n")));
  EXPECT_FALSE(looks_like_pickle(as_bytes(std::string("\x80\x07", 2))));
}

}  // namespace
}  // namespace hubgate::scan::test
