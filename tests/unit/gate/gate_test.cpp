#include "gate/gate.hpp"
#include "verdict_store_contract.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "gate/http_reply.hpp"
#include "util/atomic_file.hpp"

namespace hubgate::gate {
namespace {

using json = nlohmann::json;

// Protocol-0 pickles: os.system('id') (dangerous), an unknown global call (suspicious), a dict (safe).
const std::string kEvil = "cos\nsystem\n(S'id'\ntR.";
const std::string kOdd = "cmypkg.sub\nThing\n(tR.";
const std::string kSafe = "(dp0\n.";

ByteView bytes(const std::string& s) { return as_bytes(std::string_view(s)); }

std::string sha(char c) { return std::string(64, c); }

class GateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("gate_test." + std::to_string(::getpid()) + "." +
                                                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    auto s = VerdictStore::open((dir_ / "gate.db").string());
    ASSERT_TRUE(s) << s.error().message;
    store_ = std::move(*s);
    auto l = audit::Log::open((dir_ / "audit.db").string());
    ASSERT_TRUE(l) << l.error().message;
    log_ = std::move(*l);
  }
  void TearDown() override {
    store_.reset();
    log_.reset();
    std::filesystem::remove_all(dir_);
  }
  Subject who(std::string repo = "org/model", std::string path = "model.bin") {
    Subject s;
    s.repo = std::move(repo);
    s.revision = std::string(40, 'c');
    s.path = std::move(path);
    s.client = "alice";
    s.remote = "127.0.0.1:4242";
    return s;
  }
  std::vector<audit::Record> records(std::optional<audit::Kind> kind = std::nullopt) {
    audit::Filter f;
    f.kind = kind;
    return *log_->query(f);
  }
  std::filesystem::path dir_;
  std::unique_ptr<VerdictStore> store_;
  std::unique_ptr<audit::Log> log_;
};

TEST_F(GateTest, VerdictFromDangerousPickleNamesTheFinding) {
  Gate g({}, *store_, log_.get());
  Verdict v = g.verdict_for_bytes(sha('a'), bytes(kEvil), who());
  EXPECT_EQ(v.severity, scan::Severity::dangerous);
  EXPECT_EQ(v.level(), "dangerous");
  EXPECT_EQ(v.sha256, sha('a'));
  EXPECT_EQ(v.scanner_version, scan::kScannerVersion);
  EXPECT_FALSE(v.rule.empty());
  EXPECT_NE(v.describe().find("os.system"), std::string::npos) << v.describe();
  json st = json::parse(v.status_json);
  EXPECT_EQ(st["status"], "dangerous");
  ASSERT_TRUE(st.contains("avScan"));
  ASSERT_TRUE(st["pickleImportScan"].is_object());
  EXPECT_EQ(st["pickleImportScan"]["highestSafetyLevel"], "dangerous");
  bool seen = false;
  for (const auto& im : st["pickleImportScan"]["imports"]) {
    if (im["module"] == "os" && im["name"] == "system" && im["safety"] == "dangerous") seen = true;
  }
  EXPECT_TRUE(seen) << v.status_json;
  // The scan itself is audited once, with who asked.
  auto scans = records(audit::Kind::scan);
  ASSERT_EQ(scans.size(), 1u);
  EXPECT_EQ(scans[0].decision, "dangerous");
  EXPECT_EQ(scans[0].sha256, sha('a'));
  EXPECT_EQ(scans[0].repo, "org/model");
  EXPECT_EQ(scans[0].client, "alice");
  EXPECT_NE(scans[0].reason.find("os.system"), std::string::npos);
}

TEST_F(GateTest, SafeContentHasAllThreeStatusKeys) {
  Gate g({}, *store_, log_.get());
  Verdict v = g.verdict_for_bytes(sha('b'), bytes(kSafe), who());
  EXPECT_EQ(v.level(), "safe");
  json st = json::parse(v.status_json);
  EXPECT_EQ(st["status"], "safe");
  EXPECT_TRUE(st.contains("avScan"));
  EXPECT_TRUE(st.contains("pickleImportScan"));
  EXPECT_EQ(g.decide(v, who()).outcome, Outcome::serve);
  EXPECT_TRUE(records(audit::Kind::block).empty());
}

TEST_F(GateTest, ContentIsScannedOncePerScannerVersion) {
  {
    Gate g({}, *store_, log_.get());
    g.verdict_for_bytes(sha('a'), bytes(kEvil), who());
    g.verdict_for_bytes(sha('a'), bytes(kEvil), who("other/repo"));
    EXPECT_EQ(g.scans(), 1u);
  }
  {
    // A new process (fresh memory cache) finds the stored verdict: no scan.
    Gate g({}, *store_, log_.get());
    auto v = g.lookup(sha('a'));
    ASSERT_TRUE(v);
    EXPECT_EQ(v->severity, scan::Severity::dangerous);
    g.verdict_for_bytes(sha('a'), bytes(kEvil), who());
    EXPECT_EQ(g.scans(), 0u);
  }
  {
    // A newer scanner ignores old verdicts and rescans.
    GateOptions o;
    o.scanner_version = scan::kScannerVersion + 1;
    Gate g(o, *store_, log_.get());
    EXPECT_FALSE(g.lookup(sha('a')));
    auto v = g.verdict_for_bytes(sha('a'), bytes(kEvil), who());
    EXPECT_EQ(g.scans(), 1u);
    EXPECT_EQ(v.scanner_version, scan::kScannerVersion + 1);
  }
  EXPECT_EQ(records(audit::Kind::scan).size(), 2u);
}

TEST_F(GateTest, ConcurrentRequestsShareOneScan) {
  Gate g({}, *store_, log_.get());
  std::vector<std::thread> threads;
  std::atomic<int> dangerous{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      if (g.verdict_for_bytes(sha('d'), bytes(kEvil), who()).severity == scan::Severity::dangerous) dangerous++;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(dangerous.load(), 8);
  EXPECT_EQ(g.scans(), 1u);
}

TEST_F(GateTest, AliasesFindTheSameVerdict) {
  Gate g({}, *store_, log_.get());
  g.verdict_for_bytes(sha('e'), bytes(kEvil), who(), {"gitsha1:" + std::string(40, '1')});
  Gate fresh({}, *store_, log_.get());
  auto v = fresh.lookup("gitsha1:" + std::string(40, '1'));
  ASSERT_TRUE(v);
  EXPECT_EQ(v->sha256, sha('e'));
  EXPECT_EQ(v->severity, scan::Severity::dangerous);
}

TEST_F(GateTest, VerdictForFileScansTheFile) {
  auto path = (dir_ / "upload.tmp").string();
  ASSERT_TRUE(write_file_atomic(path, kOdd));
  Gate g({}, *store_, log_.get());
  auto v = g.verdict_for_file(sha('f'), path, who());
  EXPECT_EQ(v.severity, scan::Severity::suspicious);
  auto missing = g.verdict_for_file(sha('9'), (dir_ / "nope").string(), who());
  EXPECT_TRUE(missing.unscanned);
  EXPECT_EQ(missing.level(), "unscanned");
  EXPECT_EQ(missing.rule, "scan.error");
}

TEST_F(GateTest, DefaultPolicyBlocksDangerousAndAudits) {
  Gate g({}, *store_, log_.get());
  auto v = g.verdict_for_bytes(sha('a'), bytes(kEvil), who());
  auto d = g.decide(v, who());
  EXPECT_EQ(d.outcome, Outcome::block);
  EXPECT_FALSE(d.exception_used);
  EXPECT_NE(d.message.find("blocked by security policy: dangerous"), std::string::npos) << d.message;
  EXPECT_NE(d.message.find(v.rule), std::string::npos);
  EXPECT_NE(d.message.find("os.system"), std::string::npos);
  auto blocks = records(audit::Kind::block);
  ASSERT_EQ(blocks.size(), 1u);
  EXPECT_EQ(blocks[0].decision, "blocked");
  EXPECT_EQ(blocks[0].path, "model.bin");
  EXPECT_EQ(blocks[0].revision, std::string(40, 'c'));
  EXPECT_EQ(blocks[0].remote, "127.0.0.1:4242");
  // evaluate() is the same decision without an audit record.
  EXPECT_EQ(g.evaluate(v, "org/model").outcome, Outcome::block);
  EXPECT_EQ(records(audit::Kind::block).size(), 1u);
}

TEST_F(GateTest, SuspiciousIsServedWithWarning) {
  Gate g({}, *store_, log_.get());
  auto v = g.verdict_for_bytes(sha('s'), bytes(kOdd), who());
  ASSERT_EQ(v.severity, scan::Severity::suspicious);
  auto d = g.decide(v, who());
  EXPECT_EQ(d.outcome, Outcome::warn);
  EXPECT_EQ(d.warning, "suspicious; " + v.rule);
  auto warns = records(audit::Kind::warn);
  ASSERT_EQ(warns.size(), 1u);
  EXPECT_EQ(warns[0].decision, "served-with-warning");
}

TEST_F(GateTest, ExceptionAllowsMatchingRepositoriesOnly) {
  GateOptions o;
  o.policy.exceptions.push_back({"research/*", "red-team samples"});
  Gate g(o, *store_, log_.get());
  auto v = g.verdict_for_bytes(sha('a'), bytes(kEvil), who());
  auto allowed = g.decide(v, who("research/evil"));
  EXPECT_EQ(allowed.outcome, Outcome::warn);
  EXPECT_TRUE(allowed.exception_used);
  EXPECT_NE(allowed.warning.find("allowed by exception: red-team samples"), std::string::npos);
  auto ex = records(audit::Kind::exception);
  ASSERT_EQ(ex.size(), 1u);
  EXPECT_EQ(ex[0].repo, "research/evil");
  EXPECT_EQ(ex[0].decision, "allowed");
  EXPECT_NE(ex[0].reason.find("red-team samples"), std::string::npos);
  EXPECT_EQ(g.decide(v, who("prod/model")).outcome, Outcome::block);
}

TEST_F(GateTest, ConfigurableActionsAndDisabledGate) {
  GateOptions o;
  o.policy.dangerous = Action::warn;
  o.policy.suspicious = Action::block;
  Gate g(o, *store_, nullptr);  // no audit log: still works
  auto evil = g.verdict_for_bytes(sha('a'), bytes(kEvil), who());
  auto odd = g.verdict_for_bytes(sha('s'), bytes(kOdd), who());
  EXPECT_EQ(g.decide(evil, who()).outcome, Outcome::warn);
  EXPECT_EQ(g.decide(odd, who()).outcome, Outcome::block);
  GateOptions off;
  off.enabled = false;
  Gate disabled(off, *store_, log_.get());
  EXPECT_FALSE(disabled.enabled());
  EXPECT_EQ(disabled.decide(evil, who()).outcome, Outcome::serve);
  GateOptions strict;
  strict.policy.unscanned = Action::block;
  Gate s(strict, *store_, log_.get());
  Verdict unscanned;
  unscanned.unscanned = true;
  unscanned.rule = "scan.error";
  EXPECT_EQ(s.decide(unscanned, who()).outcome, Outcome::block);
  EXPECT_EQ(g.decide(unscanned, who()).outcome, Outcome::warn);
}

TEST(GatePolicy, ParsesActionsAndExceptions) {
  EXPECT_EQ(*parse_action("allow"), Action::allow);
  EXPECT_EQ(*parse_action("warn"), Action::warn);
  EXPECT_EQ(*parse_action("block"), Action::block);
  EXPECT_FALSE(parse_action("Block"));
  EXPECT_FALSE(parse_action(""));
  auto e = parse_exception("research/*=red team corpus");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->repo_glob, "research/*");
  EXPECT_EQ(e->reason, "red team corpus");
  EXPECT_FALSE(parse_exception("research/*"));
  EXPECT_FALSE(parse_exception("research/*="));
  EXPECT_FALSE(parse_exception("=reason"));
}

TEST(GateStore, RoundTripAndVersions) {
  auto dir = std::filesystem::temp_directory_path() / ("gate_store." + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  testing::verdict_store_contract([&] { return VerdictStore::open((dir / "g.db").string()); });
  std::filesystem::remove_all(dir);
}

std::string safetensors(const std::string& header, std::size_t data_len) {
  std::string out(8, '\0');
  std::uint64_t n = header.size();
  std::memcpy(out.data(), &n, 8);
  return out + header + std::string(data_len, '\0');
}

TEST(GateStream, SafetensorsWithTilingHeaderStreams) {
  std::string f = safetensors(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                              R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]},"__metadata__":{"k":"v"}})",
                              12);
  EXPECT_EQ(classify_prefix(bytes(f), f.size()), EarlyRelease::stream);
  // Only part of the header yet: ask for more.
  EXPECT_EQ(classify_prefix(bytes(f.substr(0, 20)), f.size()), EarlyRelease::need_more);
  EXPECT_EQ(classify_prefix(bytes(f.substr(0, 5)), f.size()), EarlyRelease::need_more);
  // The declared size does not match the tensors: a hole or trailing data -> hold.
  EXPECT_EQ(classify_prefix(bytes(f), f.size() + 100), EarlyRelease::hold);
  std::string gap = safetensors(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8);
  EXPECT_EQ(classify_prefix(bytes(gap), gap.size()), EarlyRelease::hold);
  std::string dup = safetensors(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 4);
  EXPECT_EQ(classify_prefix(bytes(dup), dup.size()), EarlyRelease::hold);
  std::string huge(8, '\0');
  std::uint64_t n = 200ull << 20;
  std::memcpy(huge.data(), &n, 8);
  huge += "{";
  EXPECT_EQ(classify_prefix(bytes(huge), 1ull << 30), EarlyRelease::hold);
}

TEST(GateStream, RiskyFormatsAreHeld) {
  EXPECT_EQ(classify_prefix(bytes(kEvil), kEvil.size()), EarlyRelease::hold);
  std::string proto2 = std::string("\x80\x02}q\x00.", 6) + std::string(100, 'x');
  EXPECT_EQ(classify_prefix(bytes(proto2), proto2.size()), EarlyRelease::hold);
  std::string zip = std::string("PK\x03\x04", 4) + std::string(100, '\0');
  EXPECT_EQ(classify_prefix(bytes(zip), zip.size()), EarlyRelease::hold);
  std::string npy = std::string("\x93NUMPY\x01\x00", 8) + std::string(100, ' ');
  EXPECT_EQ(classify_prefix(bytes(npy), npy.size()), EarlyRelease::hold);
  std::string tiny = "ab";
  EXPECT_EQ(classify_prefix(bytes(tiny), tiny.size()), EarlyRelease::hold);
}

TEST(GateStream, GgufStreams) {
  std::string g = std::string("GGUF\x03\x00\x00\x00", 8) + std::string(64, '\0');
  EXPECT_EQ(classify_prefix(bytes(g), g.size()), EarlyRelease::stream);
  std::string bad = std::string("GGUF\x09\x00\x00\x00", 8) + std::string(64, '\0');
  EXPECT_EQ(classify_prefix(bytes(bad), bad.size()), EarlyRelease::hold);
}

TEST(GateHttp, BlockedResponseAndWarningHeader) {
  Decision d;
  d.outcome = Outcome::block;
  d.message = "blocked by security policy: dangerous content: pickle.dangerous-global os.system\nx";
  auto r = blocked_response(d, "org/m/model.bin");
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.headers.get("X-Error-Code").value_or(""), "BlockedBySecurityPolicy");
  EXPECT_EQ(r.headers.get("X-Error-Message").value_or(""),
            "org/m/model.bin: blocked by security policy: dangerous content: pickle.dangerous-global os.system x");
  auto body = json::parse(std::get<std::string>(r.body));
  EXPECT_EQ(body["error"], "org/m/model.bin: " + d.message);
  http::Response ok;
  Decision w;
  w.outcome = Outcome::warn;
  w.warning = "suspicious; pickle.unknown-global";
  annotate(w, ok);
  EXPECT_EQ(ok.headers.get("X-Hubgate-Security").value_or(""), "suspicious; pickle.unknown-global");
  http::Response plain;
  annotate(Decision{}, plain);
  EXPECT_FALSE(plain.headers.has("X-Hubgate-Security"));
}

}  // namespace
}  // namespace hubgate::gate
