// Signature policy on hosted repositories (hub/signature_gate.cpp), in-process: every read
// route of a covered repository is refused for a revision that fails the policy, writes are
// not, verdicts are per commit, repo info carries hubgateSignature, and the countersignature is
// served at its well-known path.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "crypto/sha.hpp"
#include "hub/hub.hpp"
#include "sign/gate.hpp"
#include "util/base64.hpp"

using namespace hubgate;
using json = nlohmann::json;

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

std::string sign_files(const std::map<std::string, std::string>& files, const std::string& priv) {
  std::vector<std::pair<std::string, ByteView>> mem;
  for (const auto& [k, v] : files) mem.emplace_back(k, as_bytes(v));
  auto m = sign::manifest_from_memory(mem, sign::Serialization{}).value();
  return sign::write_bundle(sign::sign_manifest(m, sign::SignerConfig{priv, {}, {}, {}}).value());
}

struct SignedHub : ::testing::Test {
  std::filesystem::path dir;
  std::unique_ptr<repo::Catalog> catalog;
  store::MemoryStore store;
  std::unique_ptr<auth::TokenStore> tokens;
  std::unique_ptr<auth::Signer> signer;
  std::shared_ptr<sign::SignatureGate> gate;
  std::unique_ptr<hub::Hub> hub;
  std::string writer;
  std::pair<std::string, std::string> key = gen_key(), gw = gen_key();
  std::vector<std::string> recorded;

  void SetUp() override {
    dir = std::filesystem::temp_directory_path() / ("hubgate-hub-sign-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    catalog = std::move(*repo::open_sqlite_catalog(":memory:"));
    tokens = std::move(*auth::TokenStore::open(dir / "auth.db"));
    signer = std::make_unique<auth::Signer>("0123456789abcdef0123456789abcdef");
    sign::Policy pol;
    sign::PolicyRule rule;
    rule.repos = "acme/*";
    rule.signers.push_back(sign::KeyMethod{key.second});
    pol.rules.push_back(rule);
    gate = std::make_shared<sign::SignatureGate>(pol);
    gate->set_recorder([this](const sign::GateVerdict& v) {
      recorded.push_back(v.repo + ":" + sign::gate_status_name(v.status));
    });
    ASSERT_TRUE(gate->set_countersigner(sign::SignerConfig{gw.first, {}, {}, {}}));
    hub::HubOptions o;
    o.public_url = "http://hub.test";
    o.signatures = gate;
    hub = std::make_unique<hub::Hub>(o, *catalog, store, *tokens, *signer);
    writer = *tokens->create("alice", true, "");
  }
  void TearDown() override { std::filesystem::remove_all(dir); }

  http::Response call(std::string method, std::string target, std::string body = "",
                      std::vector<std::pair<std::string, std::string>> headers = {}) {
    http::Request r;
    r.method = std::move(method);
    r.target = target;
    auto q = target.find('?');
    r.path = target.substr(0, q);
    if (q != std::string::npos) r.query = target.substr(q + 1);
    r.headers.add("Authorization", "Bearer " + writer);
    for (auto& [k, v] : headers) r.headers.add(k, v);
    r.body.size = body.size();
    r.body.sha256 = crypto::sha256_hex(body);
    r.body.data = std::move(body);
    return hub->handle(r);
  }
  static std::string body(const http::Response& r) { return std::get<std::string>(r.body); }
  static std::string hdr(const http::Response& r, const char* n) { return std::string(r.headers.get(n).value_or("")); }

  std::string push(const std::string& repo, const std::map<std::string, std::string>& files) {
    auto slash = repo.find('/');
    (void)call("POST", "/api/repos/create", json({{"name", repo.substr(slash + 1)}, {"organization", repo.substr(0, slash)}}).dump());
    std::string nd = json({{"key", "header"}, {"value", {{"summary", "c"}}}}).dump() + "\n";
    for (const auto& [p, c] : files)
      nd += json({{"key", "file"}, {"value", {{"path", p}, {"content", base64_encode(c)}, {"encoding", "base64"}}}}).dump() + "\n";
    auto r = call("POST", "/api/models/" + repo + "/commit/main", nd);
    EXPECT_EQ(r.status, 200) << body(r);
    return r.status == 200 ? json::parse(body(r))["commitOid"].get<std::string>() : "";
  }
};

}  // namespace

TEST_F(SignedHub, EveryReadRouteFollowsTheVerdictOfItsCommit) {
  std::map<std::string, std::string> files = {{"config.json", "{\"a\":1}\n"}, {"w.bin", std::string(3000, 'w')}};
  files["model.sig"] = sign_files(files, key.first);
  const std::string good = push("acme/m", files);

  auto info = call("GET", "/api/models/acme/m");
  ASSERT_EQ(info.status, 200) << body(info);
  auto sig = json::parse(body(info))["hubgateSignature"];
  EXPECT_EQ(sig["status"], "verified");
  EXPECT_EQ(sig["commit"], good);
  EXPECT_EQ(sig["policy"], "acme/*");
  EXPECT_EQ(call("GET", "/acme/m/resolve/main/w.bin").status, 200);

  // A new commit changes a file without re-signing: every read route refuses it.
  const std::string bad = push("acme/m", {{"w.bin", std::string(3000, 'x')}});
  for (auto [method, target] : std::vector<std::pair<std::string, std::string>>{
           {"GET", "/api/models/acme/m"}, {"GET", "/api/models/acme/m/revision/main"},
           {"GET", "/api/models/acme/m/tree/main"}, {"GET", "/acme/m/resolve/main/config.json"},
           {"HEAD", "/acme/m/resolve/main/config.json"}, {"GET", "/acme/m/raw/main/w.bin"},
           {"POST", "/api/models/acme/m/paths-info/main"}}) {
    auto r = call(method, target, method == "POST" ? "paths=w.bin" : "",
                  {{"Content-Type", "application/x-www-form-urlencoded"}});
    EXPECT_EQ(r.status, 403) << method << " " << target;
    EXPECT_EQ(hdr(r, "X-Error-Code"), "SignatureInvalid") << target;
    EXPECT_NE(hdr(r, "X-Error-Message").find("w.bin"), std::string::npos) << hdr(r, "X-Error-Message");
    EXPECT_EQ(hdr(r, "X-Repo-Commit"), bad);
  }
  EXPECT_EQ(json::parse(body(call("GET", "/api/models/acme/m")))["hubgateSignature"]["status"], "invalid");
  // The signed commit is still served by id.
  auto old = call("GET", "/acme/m/resolve/" + good + "/w.bin");
  EXPECT_EQ(old.status, 200);
  EXPECT_EQ(body(old), std::string(3000, 'w'));
  // Writes are not gated: pushing a re-signed revision repairs the branch.
  auto fixed = files;
  fixed.erase("model.sig");
  fixed["w.bin"] = std::string(3000, 'x');
  fixed["model.sig"] = sign_files({{"config.json", fixed["config.json"]}, {"w.bin", fixed["w.bin"]}}, key.first);
  push("acme/m", {{"model.sig", fixed["model.sig"]}});
  EXPECT_EQ(call("GET", "/acme/m/resolve/main/w.bin").status, 200);
  // One evaluation per commit (info answers reuse the cached verdict).
  EXPECT_EQ(recorded, (std::vector<std::string>{"acme/m:verified", "acme/m:invalid", "acme/m:verified"}));
}

TEST_F(SignedHub, UnsignedUncoveredAndCountersignature) {
  push("acme/unsigned", {{"a.txt", "a"}});
  auto r = call("GET", "/acme/unsigned/resolve/main/a.txt");
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(hdr(r, "X-Error-Code"), "SignatureRequired");
  EXPECT_EQ(json::parse(body(r))["hubgateSignature"]["status"], "unsigned");

  push("other/m", {{"a.txt", "a"}});
  auto info = call("GET", "/api/models/other/m");
  ASSERT_EQ(info.status, 200);
  EXPECT_EQ(json::parse(body(info))["hubgateSignature"]["status"], "not-required");
  EXPECT_EQ(call("GET", "/other/m/resolve/main/.hubgate/countersignature.sig").status, 404);

  std::map<std::string, std::string> files = {{"config.json", "{}\n"}};
  files["model.sig"] = sign_files(files, key.first);
  const std::string c = push("acme/cs", files);
  auto cs = call("GET", "/acme/cs/resolve/main/.hubgate/countersignature.sig");
  ASSERT_EQ(cs.status, 200) << body(cs);
  EXPECT_EQ(hdr(cs, "X-Repo-Commit"), c);
  EXPECT_EQ(hdr(cs, "ETag"), "\"" + crypto::git_blob_sha1_hex(body(cs)) + "\"");
  EXPECT_EQ(body(call("GET", "/acme/cs/resolve/" + c + "/.hubgate/countersignature.sig")), body(cs));
  // It verifies with the gateway key over the revision's files, model.sig and .gitattributes
  // (recorded as ignored) included.
  auto bundle = sign::parse_bundle(body(cs));
  ASSERT_TRUE(bundle);
  auto snap_files = files;
  snap_files[".gitattributes"] = "*.bin filter=lfs\n";
  std::vector<std::pair<std::string, ByteView>> mem;
  for (const auto& [k, v] : snap_files) mem.emplace_back(k, as_bytes(v));
  auto ok = sign::verify_memory(*bundle, sign::KeyMethod{gw.second}, mem, sign::MatchOptions{});
  EXPECT_TRUE(ok) << ok.error().message;
  auto wrong = sign::verify_memory(*bundle, sign::KeyMethod{key.second}, mem, sign::MatchOptions{});
  EXPECT_FALSE(wrong);
}
