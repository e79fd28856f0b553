// Gateway signature policy: rule matching, JSON parsing, revision evaluation (digest and byte
// paths) and the serve / SignatureRequired / SignatureInvalid decision.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <unistd.h>

#include <filesystem>
#include <map>

#include "sign/policy.hpp"
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

std::string sha256_hex(const std::string& s) {
  std::vector<std::pair<std::string, ByteView>> one{{".", as_bytes(s)}};
  return manifest_from_memory(one, Serialization{}).value().resources.at(0).digest;
}

struct Repo {
  std::map<std::string, std::string> files;
  RevisionFiles rev(bool with_digests) const {
    RevisionFiles r;
    for (const auto& [k, v] : files) r.files.emplace_back(k, with_digests ? sha256_hex(v) : std::string());
    r.read = [this](const std::string& p) -> Result<std::string> {
      auto it = files.find(p);
      if (it == files.end()) return fail(Errc::not_found, "no such file " + p);
      return it->second;
    };
    return r;
  }
  void sign(const std::string& priv) {
    std::vector<std::pair<std::string, ByteView>> mem;
    for (const auto& [k, v] : files)
      if (k != "model.sig") mem.emplace_back(k, as_bytes(v));
    auto m = manifest_from_memory(mem, Serialization{}).value();
    files["model.sig"] = write_bundle(sign_manifest(m, SignerConfig{priv, {}, {}, {}}).value());
  }
};

class SignPolicy : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() / ("hubgate-sign-policy-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir / "keys");
    key = gen_key();
    other = gen_key();
    ASSERT_TRUE(write_file_atomic((dir / "keys/org.pub").string(), key.second));
    ASSERT_TRUE(write_file_atomic((dir / "keys/other.pub").string(), other.second));
    repo.files = {{"config.json", "{\"a\":1}\n"}, {"weights.bin", std::string(5000, 'w')}, {"tok/v.txt", "a\nb\n"}};
  }
  void TearDown() override { fs::remove_all(dir); }
  fs::path dir;
  std::pair<std::string, std::string> key, other;
  Repo repo;
};

}  // namespace

TEST_F(SignPolicy, ParseAndMatch) {
  auto pol = parse_policy_json(
      R"({"policies":[{"repos":"acme/*","signers":[{"public_key":"keys/org.pub"}]},
                      {"repos":"*","signature_file":"sig/x.sig","ignore_unsigned_files":true,
                       "signers":[{"public_key":"keys/other.pub"},{"public_key":"keys/org.pub"}]}]})",
      dir);
  ASSERT_TRUE(pol) << pol.error().message;
  ASSERT_EQ(pol->rules.size(), 2u);
  EXPECT_EQ(pol->match("acme/m"), &pol->rules[0]);
  EXPECT_EQ(pol->match("other/m"), &pol->rules[1]);
  EXPECT_EQ(pol->rules[0].signature_file, "model.sig");
  EXPECT_EQ(pol->rules[1].signature_file, "sig/x.sig");
  EXPECT_TRUE(pol->rules[1].ignore_unsigned_files);
  EXPECT_EQ(pol->rules[1].signers.size(), 2u);
  EXPECT_EQ(std::get<KeyMethod>(pol->rules[0].signers[0]).public_key_pem, key.second);

  auto only = parse_policy_json(R"({"policies":[{"repos":"acme/*","signers":[{"public_key":"keys/org.pub"}]}]})", dir);
  ASSERT_TRUE(only);
  EXPECT_EQ(only->match("acmex/m"), nullptr);
  EXPECT_EQ(only->match("other/acme/m"), nullptr);

  for (const char* bad : {R"([])", R"({"policies":{}})", R"({"policies":[{"signers":[{"public_key":"keys/org.pub"}]}]})",
                          R"({"policies":[{"repos":"a/*","signers":[]}]})",
                          R"({"policies":[{"repos":"a/*","signers":[{"public_key":"keys/missing.pub"}]}]})",
                          R"({"policies":[{"repos":"a/*","signers":[{"password":"x"}]}]})",
                          R"({"policies":[{"repos":"a/*","signature_file":"/abs","signers":[{"public_key":"keys/org.pub"}]}]})"})
    EXPECT_FALSE(parse_policy_json(bad, dir)) << bad;
  auto missing = parse_policy_json(R"({"policies":[{"repos":"a/*","signers":[{"public_key":"keys/missing.pub"}]}]})", dir);
  EXPECT_NE(missing.error().message.find("keys/missing.pub"), std::string::npos);
}

TEST_F(SignPolicy, ValidSignatureServedByDigestsAndBytes) {
  repo.sign(key.first);
  PolicyRule rule{"acme/*", "model.sig", false, {KeyMethod{key.second}}};
  for (bool digests : {true, false}) {
    auto r = evaluate_revision(rule, repo.rev(digests));
    EXPECT_EQ(r.status, SignatureStatus::valid) << r.message;
    EXPECT_FALSE(r.signer.empty());
    EXPECT_TRUE(decide(&rule, r).serve);
  }
  // Any listed signer suffices.
  PolicyRule two{"acme/*", "model.sig", false, {KeyMethod{other.second}, KeyMethod{key.second}}};
  EXPECT_EQ(evaluate_revision(two, repo.rev(true)).status, SignatureStatus::valid);
}

TEST_F(SignPolicy, AlteredFileIsInvalid) {
  repo.sign(key.first);
  repo.files["weights.bin"][10] = 'X';
  PolicyRule rule{"acme/*", "model.sig", false, {KeyMethod{key.second}}};
  for (bool digests : {true, false}) {
    auto r = evaluate_revision(rule, repo.rev(digests));
    EXPECT_EQ(r.status, SignatureStatus::invalid);
    EXPECT_NE(r.message.find("weights.bin"), std::string::npos) << r.message;
    auto d = decide(&rule, r);
    EXPECT_FALSE(d.serve);
    EXPECT_EQ(d.error_code, "SignatureInvalid");
    EXPECT_NE(d.message.find("weights.bin"), std::string::npos);
  }
}

TEST_F(SignPolicy, ExtraFileWrongKeyAndGarbage) {
  repo.sign(key.first);
  PolicyRule rule{"acme/*", "model.sig", false, {KeyMethod{key.second}}};
  Repo extra = repo;
  extra.files["added.bin"] = "x";
  auto r = evaluate_revision(rule, extra.rev(true));
  EXPECT_EQ(r.status, SignatureStatus::invalid);
  EXPECT_NE(r.message.find("added.bin"), std::string::npos) << r.message;
  rule.ignore_unsigned_files = true;
  EXPECT_EQ(evaluate_revision(rule, extra.rev(true)).status, SignatureStatus::valid);

  PolicyRule wrong{"acme/*", "model.sig", false, {KeyMethod{other.second}}};
  auto w = evaluate_revision(wrong, repo.rev(true));
  EXPECT_EQ(w.status, SignatureStatus::invalid);
  EXPECT_EQ(w.message.rfind("model.sig: ", 0), 0u) << w.message;

  Repo garbage = repo;
  garbage.files["model.sig"] = "not json";
  EXPECT_EQ(evaluate_revision(rule, garbage.rev(true)).status, SignatureStatus::invalid);
}

TEST_F(SignPolicy, AbsentAndOutsidePolicy) {
  PolicyRule rule{"acme/*", "model.sig", false, {KeyMethod{key.second}}};
  auto r = evaluate_revision(rule, repo.rev(true));
  EXPECT_EQ(r.status, SignatureStatus::absent);
  auto d = decide(&rule, r);
  EXPECT_FALSE(d.serve);
  EXPECT_EQ(d.error_code, "SignatureRequired");
  EXPECT_TRUE(decide(nullptr, r).serve);
  RevisionSignature bad{SignatureStatus::invalid, "", "x"};
  EXPECT_TRUE(decide(nullptr, bad).serve);
  EXPECT_STREQ(status_name(SignatureStatus::absent), "absent");
  EXPECT_STREQ(status_name(SignatureStatus::valid), "valid");
  EXPECT_STREQ(status_name(SignatureStatus::invalid), "invalid");
}
