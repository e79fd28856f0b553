// Every check of tests/testdata/model-signing/cases.json gives its documented result, and
// every payload golden is rebuilt exactly (resources, order, subject digest).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>

#include "crypto/sha.hpp"
#include "sign/sign.hpp"
#include "util/atomic_file.hpp"
#include "util/hex.hpp"

namespace fs = std::filesystem;
using namespace hubgate;
using namespace hubgate::sign;

namespace {

const fs::path kData = fs::path(HUBGATE_TESTDATA) / "model-signing";

std::string slurp(const fs::path& p) {
  auto r = read_file(p.string());
  EXPECT_TRUE(r.has_value()) << p;
  return r ? *r : std::string();
}

// Ignore paths are relative to the model; the signature file is ignored when inside.
std::vector<std::string> ignore_for(const fs::path& model, const fs::path& sig, const nlohmann::json& paths) {
  std::vector<std::string> out;
  for (const auto& p : paths) out.push_back(p.get<std::string>());
  auto rel = fs::weakly_canonical(sig).lexically_relative(fs::weakly_canonical(model)).generic_string();
  if (!rel.empty() && rel.rfind("..", 0) != 0) out.push_back(rel);
  return out;
}

}  // namespace

TEST(SignTestdata, EveryCaseGivesTheDocumentedResult) {
  auto cases = nlohmann::json::parse(slurp(kData / "cases.json"));
  int checks = 0, valid = 0;
  for (const auto& c : cases["cases"]) {
    fs::path sig = kData / c["signature"].get<std::string>();
    auto bundle = parse_bundle(slurp(sig));
    ASSERT_TRUE(bundle.has_value()) << c["id"] << ": " << bundle.error().message;
    for (const auto& ch : c["checks"]) {
      fs::path model = kData / (ch.contains("model_override") ? ch["model_override"] : c["model"]).get<std::string>();
      VerifyMethod method;
      std::string m = ch["method"];
      if (m == "key") {
        method = KeyMethod{slurp(kData / ch["public_key"].get<std::string>())};
      } else if (m == "certificate") {
        std::string pem;
        for (const auto& p : ch["certificate_chain"]) pem += slurp(kData / p.get<std::string>());
        method = CertificateMethod{pem};
      } else {
        method = SigstoreMethod{ch["identity"], ch["oidc_issuer"], slurp(kData / ch["trust_config"].get<std::string>())};
      }
      VerifyOptions o;
      o.match.ignore_paths = ignore_for(model, sig, ch["ignore_paths"]);
      o.match.ignore_unsigned_files = ch["ignore_unsigned_files"];
      o.match.ignore_git_paths = ch["ignore_git_paths"];
      auto r = verify_model(model, *bundle, method, o);
      bool want = ch["expect"] == "valid";
      EXPECT_EQ(r.has_value(), want) << c["id"] << " / " << ch["reason"] << ": "
                                     << (r ? std::string("verified") : r.error().message);
      ++checks;
      valid += want;
    }
  }
  EXPECT_EQ(checks, 39);
  EXPECT_EQ(valid, 23);
}

TEST(SignTestdata, FailureMessagesNameTheCheck) {
  auto run = [](const std::string& cas, const std::string& key, bool unsigned_ok = false) {
    fs::path dir = kData / "generated" / cas;
    auto b = parse_bundle(slurp(dir / "model.sig"));
    EXPECT_TRUE(b.has_value());
    VerifyOptions o;
    o.match.ignore_unsigned_files = unsigned_ok;
    auto r = verify_model(dir / "model", *b, KeyMethod{slurp(kData / "generated/keys" / key)}, o);
    EXPECT_FALSE(r.has_value()) << cas;
    return r ? std::string() : r.error().message;
  };
  EXPECT_NE(run("tampered-file", "p256-test-pub.pem").find("hash mismatch for 'weights.bin'"), std::string::npos);
  EXPECT_NE(run("tampered-file", "p256-test-pub.pem", true).find("hash mismatch for 'weights.bin'"), std::string::npos);
  EXPECT_NE(run("wrong-key", "p256-wrong-pub.pem").find("key mismatch"), std::string::npos);
  EXPECT_NE(run("extra-unsigned-file", "p256-test-pub.pem").find("extra unsigned files in model: 'tokenizer/added_tokens.json'"),
            std::string::npos);
  EXPECT_NE(run("missing-file", "p256-test-pub.pem").find("missing signed files: 'tokenizer/vocab.txt'"), std::string::npos);
  EXPECT_NE(run("missing-file", "p256-test-pub.pem", true).find("missing file 'tokenizer/vocab.txt'"), std::string::npos);
  EXPECT_NE(run("forged-manifest", "p256-test-pub.pem").find("DSSE signature does not verify"), std::string::npos);
  EXPECT_NE(run("inconsistent-subject", "p256-test-pub.pem").find("manifest is inconsistent"), std::string::npos);
  EXPECT_NE(run("legacy-layout-no-hint", "p256-wrong-pub.pem").find("DSSE signature does not verify"), std::string::npos);
  EXPECT_NE(run("valid-p521", "p256-test-pub.pem").find("key mismatch"), std::string::npos);
}

TEST(SignTestdata, LegacyAndHintDetails) {
  fs::path ref = kData / "reference";
  auto b = parse_bundle(slurp(ref / "v0.2.0-certificate/model.sig"));
  ASSERT_TRUE(b);
  auto r = verify_signature(*b, CertificateMethod{slurp(ref / "keys/ca-cert.pem")});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->legacy_pae);
  EXPECT_TRUE(r->legacy_predicate);
  ASSERT_EQ(r->expected.resources.size(), 2u);
  EXPECT_EQ(r->expected.resources[0].name, "signme-1");

  auto k = parse_bundle(slurp(ref / "v1.1.0-elliptic-key/model.sig"));
  ASSERT_TRUE(k);
  EXPECT_EQ(k->public_key_hint, "e8450dec4eb99dae995da9af1bc2cc9f76ed669ee2e744f57abba763df3e3f8e");
  auto kr = verify_signature(*k, KeyMethod{slurp(ref / "keys/signing-key-pub.pem")});
  ASSERT_TRUE(kr) << kr.error().message;
  EXPECT_EQ(kr->signer, "key e8450dec4eb99dae995da9af1bc2cc9f76ed669ee2e744f57abba763df3e3f8e");
  EXPECT_FALSE(kr->legacy_pae);
  // The v1.1 bundle records its ignore paths.
  EXPECT_EQ(kr->expected.serialization.ignore_paths.size(), 6u);

  // A sigstore bundle is not accepted by the certificate method (no x509CertificateChain).
  auto s = parse_bundle(slurp(ref / "v1.1.0-sigstore/model.sig"));
  ASSERT_TRUE(s);
  EXPECT_FALSE(verify_signature(*s, CertificateMethod{slurp(ref / "keys/ca-cert.pem")}));
  // Wrong issuer.
  auto wi = verify_signature(*s, SigstoreMethod{"stefanb@us.ibm.com", "https://accounts.google.com",
                                                slurp(ref / "trust/custom_trust_config.json")});
  ASSERT_FALSE(wi);
  EXPECT_NE(wi.error().message.find("issuer mismatch"), std::string::npos);
}

TEST(SignTestdata, SigstoreTamperingIsCaught) {
  fs::path ref = kData / "reference";
  std::string trust = slurp(ref / "trust/custom_trust_config.json");
  SigstoreMethod m{"stefanb@us.ibm.com", "https://sigstore.verify.ibm.com/oauth2", trust};
  auto base = parse_bundle(slurp(ref / "v1.1.0-sigstore/model.sig"));
  ASSERT_TRUE(base);
  ASSERT_TRUE(verify_signature(*base, m));
  auto expect_fail = [&](Bundle b, const char* what) {
    auto r = verify_signature(b, m);
    ASSERT_FALSE(r) << what;
    EXPECT_NE(r.error().message.find(what), std::string::npos) << r.error().message;
  };
  Bundle b = *base;
  b.tlog_entries[0].integrated_time += 1;
  expect_fail(b, "signed entry timestamp does not verify");
  b = *base;
  b.tlog_entries[0].inclusion_proof->hashes[3][0] ^= 1;
  expect_fail(b, "inclusion proof does not reproduce the root hash");
  b = *base;
  b.tlog_entries[0].inclusion_proof->checkpoint[30] ^= 1;
  expect_fail(b, "checkpoint");
  b = *base;
  b.envelope.payload[5] ^= 1;
  expect_fail(b, "payloadHash");
  b = *base;
  b.tlog_entries.clear();
  expect_fail(b, "exactly one Rekor entry");
}

TEST(SignTestdata, PayloadGoldensAreRebuiltExactly) {
  fs::path g = kData / "reference/payload-goldens";
  auto index = nlohmann::json::parse(slurp(g / "index.json"));
  fs::path tmp = fs::temp_directory_path() / ("hubgate-sign-goldens-" + std::to_string(::getpid()));
  fs::create_directories(tmp / "empty_folder_model");
  int n = 0;
  for (const auto& e : index["goldens"]) {
    std::string model_rel = e["model"];
    fs::path model = model_rel == "models/empty_folder_model" ? tmp / "empty_folder_model" : g / model_rel;
    HashOptions h;
    h.serialization.method = e["method"] == "shards" ? Method::shards : Method::files;
    if (e.contains("shard_size")) h.serialization.shard_size = e["shard_size"];
    h.serialization.allow_symlinks = e["allow_symlinks"];
    auto m = compute_manifest(model, h);
    ASSERT_TRUE(m) << m.error().message;
    auto golden = statement_to_manifest(slurp(g / e["expected_payload"].get<std::string>()));
    ASSERT_TRUE(golden) << e["expected_payload"] << ": " << golden.error().message;
    EXPECT_EQ(m->resources, golden->manifest.resources) << e["expected_payload"];
    // Resource order of the golden file itself equals our order, and the subject digest
    // computed by write_statement matches the golden's subject.
    auto gj = nlohmann::json::parse(slurp(g / e["expected_payload"].get<std::string>()));
    std::vector<std::string> names;
    for (const auto& r : gj["predicate"]["resources"]) names.push_back(r["name"]);
    ASSERT_EQ(names.size(), m->resources.size());
    for (std::size_t i = 0; i < names.size(); ++i) EXPECT_EQ(names[i], m->resources[i].name);
    auto ours = nlohmann::json::parse(write_statement(*m));
    EXPECT_EQ(ours["subject"][0]["digest"]["sha256"], gj["subject"][0]["digest"]["sha256"]) << e["expected_payload"];
    ++n;
  }
  EXPECT_EQ(n, 18);
  fs::remove_all(tmp);
}
