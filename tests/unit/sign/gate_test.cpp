// sign::SignatureGate: policy mapping to verdicts, the per-commit cache, single-flight,
// digests filled by hashing, transient errors not cached, recorder calls, and a Sigstore rule
// over the reference implementation's data.
#include "sign/gate.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include "crypto/sha.hpp"
#include "util/atomic_file.hpp"

namespace fs = std::filesystem;
using namespace hubgate;
using namespace hubgate::sign;

namespace {

std::pair<std::string, std::string> gen_key() {
  EVP_PKEY* k = EVP_EC_gen("P-256");
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(b, k, nullptr, nullptr, 0, nullptr, nullptr);
  char* p = nullptr;
  long n = BIO_get_mem_data(b, &p);
  std::string priv(p, static_cast<std::size_t>(n));
  BIO_free(b);
  b = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(b, k);
  n = BIO_get_mem_data(b, &p);
  std::string pub(p, static_cast<std::size_t>(n));
  BIO_free(b);
  EVP_PKEY_free(k);
  return {priv, pub};
}

// An in-memory revision that counts how often it is listed and read.
struct FakeRevision {
  std::map<std::string, std::string> files;
  std::set<std::string> unknown_digest;  // listed without sha256
  std::atomic<int> lists{0}, reads{0};
  std::optional<Errc> read_error;        // every read fails with this code
  std::chrono::milliseconds list_delay{0};

  void sign(const std::string& priv) {
    std::vector<std::pair<std::string, ByteView>> mem;
    for (const auto& [k, v] : files)
      if (k != "model.sig") mem.emplace_back(k, as_bytes(v));
    auto m = manifest_from_memory(mem, Serialization{}).value();
    files["model.sig"] = write_bundle(sign_manifest(m, SignerConfig{priv, {}, {}, {}}).value());
  }
  RevisionSource source() {
    RevisionSource s;
    s.list = [this]() -> Result<std::vector<GateFile>> {
      lists++;
      std::this_thread::sleep_for(list_delay);
      std::vector<GateFile> out;
      for (const auto& [k, v] : files)
        out.push_back({k, v.size(), unknown_digest.count(k) ? std::string() : crypto::sha256_hex(v), ""});
      return out;
    };
    s.read = [this](const std::string& p) -> Result<std::string> {
      reads++;
      if (read_error) return fail(*read_error, "injected read failure");
      auto it = files.find(p);
      if (it == files.end()) return fail(Errc::not_found, "no " + p);
      return it->second;
    };
    return s;
  }
};

Policy key_policy(const std::string& pub, bool ignore_unsigned = false) {
  Policy p;
  PolicyRule r;
  r.repos = "acme/*";
  r.ignore_unsigned_files = ignore_unsigned;
  r.signers.push_back(KeyMethod{pub});
  p.rules.push_back(r);
  return p;
}

class Gate : public ::testing::Test {
 protected:
  void SetUp() override {
    key = gen_key();
    rev.files = {{"config.json", "{\"a\":1}\n"}, {"weights.bin", std::string(5000, 'w')}, {"tok/v.txt", "a\nb\n"}};
  }
  std::pair<std::string, std::string> key;
  FakeRevision rev;
  const std::string c1 = std::string(40, '1'), c2 = std::string(40, '2');
};

}  // namespace

TEST_F(Gate, UncoveredRepositoryIsNotRequiredAndNeverListed) {
  SignatureGate gate(key_policy(key.second));
  int recorded = 0;
  gate.set_recorder([&](const GateVerdict&) { recorded++; });
  auto v = gate.check("other/model", c1, rev.source());
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_EQ((*v)->status, GateStatus::not_required);
  EXPECT_TRUE((*v)->decision.serve);
  EXPECT_EQ(rev.lists.load(), 0);
  EXPECT_EQ(recorded, 0);
  EXPECT_EQ(verdict_json(**v).dump(), R"({"commit":")" + c1 + R"(","status":"not-required"})");
}

TEST_F(Gate, VerifiedOnceThenCachedPerCommit) {
  rev.sign(key.first);
  SignatureGate gate(key_policy(key.second));
  std::vector<std::string> recorded;
  gate.set_recorder([&](const GateVerdict& v) { recorded.push_back(v.commit + ":" + gate_status_name(v.status)); });
  for (int i = 0; i < 3; ++i) {
    auto v = gate.check("acme/m", c1, rev.source());
    ASSERT_TRUE(v) << v.error().message;
    EXPECT_EQ((*v)->status, GateStatus::verified);
    EXPECT_TRUE((*v)->decision.serve);
    EXPECT_FALSE((*v)->signer.empty());
    EXPECT_EQ((*v)->rule, "acme/*");
    EXPECT_EQ((*v)->files.size(), 4u);
  }
  EXPECT_EQ(rev.lists.load(), 1);
  EXPECT_EQ(rev.reads.load(), 1);  // the signature file only: every digest was known
  EXPECT_EQ(gate.stats().hits, 2u);
  EXPECT_EQ(recorded, std::vector<std::string>{c1 + ":verified"});
  auto j = verdict_json(**gate.check("acme/m", c1, rev.source()));
  EXPECT_EQ(j["status"], "verified");
  EXPECT_EQ(j["signatureFile"], "model.sig");
  EXPECT_EQ(j["policy"], "acme/*");

  // Another commit of the same repository is evaluated on its own (here: altered, not re-signed).
  rev.files["weights.bin"][10] = 'x';
  auto bad = gate.check("acme/m", c2, rev.source());
  ASSERT_TRUE(bad);
  EXPECT_EQ((*bad)->status, GateStatus::invalid);
  EXPECT_FALSE((*bad)->decision.serve);
  EXPECT_EQ((*bad)->decision.error_code, "SignatureInvalid");
  EXPECT_NE((*bad)->decision.message.find("weights.bin"), std::string::npos) << (*bad)->decision.message;
  EXPECT_EQ(rev.lists.load(), 2);
  // The first commit's verdict is unchanged (commits are immutable).
  EXPECT_EQ((*gate.check("acme/m", c1, rev.source()))->status, GateStatus::verified);
  EXPECT_EQ(recorded.size(), 2u);
}

TEST_F(Gate, UnsignedIsSignatureRequired) {
  SignatureGate gate(key_policy(key.second));
  auto v = gate.check("acme/m", c1, rev.source());
  ASSERT_TRUE(v);
  EXPECT_EQ((*v)->status, GateStatus::unsigned_);
  EXPECT_EQ((*v)->decision.error_code, "SignatureRequired");
  EXPECT_NE((*v)->decision.message.find("model.sig"), std::string::npos);
  EXPECT_EQ(rev.reads.load(), 0);
}

TEST_F(Gate, UnknownDigestsAreFilledByHashingTheBytes) {
  rev.sign(key.first);
  rev.unknown_digest = {"config.json", "tok/v.txt", "model.sig"};
  SignatureGate gate(key_policy(key.second));
  auto v = gate.check("acme/m", c1, rev.source());
  ASSERT_TRUE(v);
  EXPECT_EQ((*v)->status, GateStatus::verified) << (*v)->message;
  EXPECT_EQ((*v)->find("config.json")->sha256, crypto::sha256_hex(rev.files["config.json"]));
  // Changed bytes of a small file (the listing has no digest for it) are caught.
  rev.files["tok/v.txt"] = "a\nB\n";
  auto bad = gate.check("acme/m", c2, rev.source());
  ASSERT_TRUE(bad);
  EXPECT_EQ((*bad)->status, GateStatus::invalid);
  EXPECT_NE((*bad)->message.find("tok/v.txt"), std::string::npos) << (*bad)->message;
}

TEST_F(Gate, TooLargeUnknownFileIsInvalid) {
  rev.sign(key.first);
  rev.unknown_digest = {"weights.bin"};
  GateOptions o;
  o.max_hash_bytes = 3000;  // above the bundle (~1.6 kB), below weights.bin
  SignatureGate gate(key_policy(key.second), o);
  auto v = gate.check("acme/m", c1, rev.source());
  ASSERT_TRUE(v);
  EXPECT_EQ((*v)->status, GateStatus::invalid);
  EXPECT_NE((*v)->message.find("'weights.bin' is 5000 bytes, too large"), std::string::npos) << (*v)->message;
}

TEST_F(Gate, ExtraUnsignedFileDependsOnTheRule) {
  rev.sign(key.first);
  rev.files["extra.txt"] = "added later\n";
  SignatureGate strict(key_policy(key.second, false)), lax(key_policy(key.second, true));
  auto s = strict.check("acme/m", c1, rev.source());
  auto l = lax.check("acme/m", c1, rev.source());
  ASSERT_TRUE(s && l);
  EXPECT_EQ((*s)->status, GateStatus::invalid);
  EXPECT_NE((*s)->message.find("extra.txt"), std::string::npos) << (*s)->message;
  EXPECT_EQ((*l)->status, GateStatus::verified) << (*l)->message;
}

TEST_F(Gate, TransientReadFailureIsAnErrorAndNotCached) {
  rev.sign(key.first);
  rev.read_error = Errc::unavailable;
  SignatureGate gate(key_policy(key.second));
  int recorded = 0;
  gate.set_recorder([&](const GateVerdict&) { recorded++; });
  auto v = gate.check("acme/m", c1, rev.source());
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().code, Errc::unavailable);
  rev.read_error.reset();
  auto again = gate.check("acme/m", c1, rev.source());
  ASSERT_TRUE(again);
  EXPECT_EQ((*again)->status, GateStatus::verified);
  EXPECT_EQ(rev.lists.load(), 2);
  EXPECT_EQ(recorded, 1);
  // A permanent read failure is an (uncached) invalid verdict.
  rev.read_error = Errc::corrupt;
  auto bad = gate.check("acme/m", c2, rev.source());
  ASSERT_TRUE(bad);
  EXPECT_EQ((*bad)->status, GateStatus::invalid);
  rev.read_error.reset();
  EXPECT_EQ((*gate.check("acme/m", c2, rev.source()))->status, GateStatus::verified);
}

TEST_F(Gate, ConcurrentChecksOfOneCommitEvaluateOnce) {
  rev.sign(key.first);
  rev.list_delay = std::chrono::milliseconds(100);
  SignatureGate gate(key_policy(key.second));
  std::atomic<int> verified{0};
  std::vector<std::thread> ts;
  for (int i = 0; i < 6; ++i)
    ts.emplace_back([&] {
      auto src = rev.source();
      auto v = gate.check("acme/m", c1, src);
      if (v && (*v)->status == GateStatus::verified) verified++;
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(verified.load(), 6);
  EXPECT_EQ(rev.lists.load(), 1);
  EXPECT_EQ(gate.stats().evaluations, 1u);
}

TEST_F(Gate, CacheIsBounded) {
  rev.sign(key.first);
  GateOptions o;
  o.max_entries = 1;
  SignatureGate gate(key_policy(key.second), o);
  ASSERT_TRUE(gate.check("acme/m", c1, rev.source()));
  ASSERT_TRUE(gate.check("acme/m", c2, rev.source()));  // evicts c1
  ASSERT_TRUE(gate.check("acme/m", c1, rev.source()));
  EXPECT_EQ(rev.lists.load(), 3);
  EXPECT_EQ(gate.stats().entries, 1u);
}

TEST(GateSigstore, ReferenceKeylessBundleUnderAPolicyRule) {
  const fs::path data = fs::path(HUBGATE_TESTDATA) / "model-signing/reference";
  const fs::path tmp = fs::temp_directory_path() / ("hubgate-gate-sigstore-" + std::to_string(::getpid()));
  fs::create_directories(tmp);
  auto policy_for = [&](const std::string& identity) {
    std::string j = R"({"policies":[{"repos":"ibm/*","signers":[{"sigstore":{"identity":")" + identity +
                    R"(","issuer":"https://sigstore.verify.ibm.com/oauth2","trust_root":")" +
                    (data / "trust/custom_trust_config.json").string() + R"("}}]}]})";
    return parse_policy_json(j, tmp);
  };
  auto good = policy_for("stefanb@us.ibm.com");
  ASSERT_TRUE(good) << good.error().message;
  ASSERT_EQ(good->rules.at(0).signers.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<SigstoreMethod>(good->rules[0].signers[0]));
  FakeRevision rev;
  for (const char* f : {"signme-1", "signme-2", "ignore-me", "model.sig"})
    rev.files[f] = read_file((data / "v1.1.0-sigstore" / f).string()).value();
  SignatureGate gate(std::move(*good));
  auto v = gate.check("ibm/model", std::string(40, 'a'), rev.source());
  ASSERT_TRUE(v);
  EXPECT_EQ((*v)->status, GateStatus::verified) << (*v)->message;
  EXPECT_NE((*v)->signer.find("stefanb@us.ibm.com"), std::string::npos) << (*v)->signer;

  SignatureGate other(std::move(*policy_for("someone-else@example.com")));
  auto w = other.check("ibm/model", std::string(40, 'a'), rev.source());
  ASSERT_TRUE(w);
  EXPECT_EQ((*w)->status, GateStatus::invalid);
  EXPECT_EQ((*w)->decision.error_code, "SignatureInvalid");

  for (const char* bad : {R"({"policies":[{"repos":"a/*","signers":[{"sigstore":{"identity":"x"}}]}]})",
                          R"({"policies":[{"repos":"a/*","signers":[{"sigstore":{"identity":"x","issuer":"y","trust_root":"nope.json"}}]}]})"})
    EXPECT_FALSE(parse_policy_json(bad, tmp)) << bad;
  fs::remove_all(tmp);
}

TEST_F(Gate, CountersignatureCoversTheVerifiedRevisionAndIsFoundByProbe) {
  rev.sign(key.first);
  rev.files[".gitattributes"] = "*.bin filter=lfs\n";
  auto gw = gen_key();
  SignatureGate up(key_policy(key.second));
  ASSERT_FALSE(up.set_countersigner(SignerConfig{"not a key", {}, {}, {}}));
  EXPECT_FALSE(up.countersigns());
  ASSERT_TRUE(up.set_countersigner(SignerConfig{gw.first, {}, {}, {}}));
  auto v = up.check("acme/m", c1, rev.source());
  ASSERT_TRUE(v);
  ASSERT_EQ((*v)->status, GateStatus::verified);
  ASSERT_FALSE((*v)->countersignature.empty());
  // Not countersigned: anything not verified.
  FakeRevision unsigned_rev;
  unsigned_rev.files = {{"a.txt", "a"}};
  EXPECT_TRUE((*up.check("acme/u", c1, unsigned_rev.source()))->countersignature.empty());

  // A downstream rule requiring the gateway's countersignature, which is served but not listed.
  Policy down;
  PolicyRule r;
  r.repos = "*";
  r.signature_file = kCountersignaturePath;
  r.signers.push_back(KeyMethod{gw.second});
  down.rules.push_back(r);
  SignatureGate gate(down);
  const std::string cs = (*v)->countersignature;
  int probes = 0;
  auto src = rev.source();
  auto base_read = src.read;
  src.probe = [&](const std::string& p) -> Result<std::optional<GateFile>> {
    probes++;
    if (p != kCountersignaturePath) return std::optional<GateFile>();
    return std::optional<GateFile>(GateFile{p, cs.size(), "", ""});
  };
  src.read = [&](const std::string& p) -> Result<std::string> { return p == kCountersignaturePath ? cs : base_read(p); };
  auto d = gate.check("acme/m", c1, src);
  ASSERT_TRUE(d);
  EXPECT_EQ((*d)->status, GateStatus::verified) << (*d)->message;
  EXPECT_EQ(probes, 1);
  // The same countersignature does not cover an altered revision.
  rev.files["config.json"] = "{\"a\":2}\n";
  auto bad = gate.check("acme/m", c2, src);
  ASSERT_TRUE(bad);
  EXPECT_EQ((*bad)->status, GateStatus::invalid);
  EXPECT_NE((*bad)->message.find("config.json"), std::string::npos) << (*bad)->message;
  // Without the served file: SignatureRequired.
  src.probe = [](const std::string&) -> Result<std::optional<GateFile>> { return std::optional<GateFile>(); };
  auto none = gate.check("acme/other", c1, src);
  ASSERT_TRUE(none);
  EXPECT_EQ((*none)->decision.error_code, "SignatureRequired");
}
