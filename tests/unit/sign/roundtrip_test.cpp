// Sign -> verify round trips with keys generated here (OpenSSL API) and the reference's
// published test PKI; every tampering (byte, rename, add, remove) fails with a precise message.
#include <gtest/gtest.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "sign/pki.hpp"
#include "sign/sign.hpp"
#include "util/atomic_file.hpp"

namespace fs = std::filesystem;
using namespace hubgate;
using namespace hubgate::sign;

namespace {

const fs::path kData = fs::path(HUBGATE_TESTDATA) / "model-signing";

std::string slurp(const fs::path& p) { return read_file(p.string()).value(); }

void put(const fs::path& p, std::string_view data) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary).write(data.data(), static_cast<std::streamsize>(data.size()));
}

struct KeyPair {
  std::string priv, pub;
};

KeyPair gen_key(const char* curve) {
  EVP_PKEY* k = EVP_EC_gen(curve);
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(b, k, nullptr, nullptr, 0, nullptr, nullptr);
  char* p = nullptr;
  long n = BIO_get_mem_data(b, &p);
  KeyPair kp{std::string(p, static_cast<std::size_t>(n)), {}};
  BIO_free(b);
  b = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(b, k);
  n = BIO_get_mem_data(b, &p);
  kp.pub.assign(p, static_cast<std::size_t>(n));
  BIO_free(b);
  EVP_PKEY_free(k);
  return kp;
}

class SignRoundTrip : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() / ("hubgate-sign-rt-" + std::to_string(::getpid()) + "-" +
                                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir);
    model = dir / "model";
    put(model / "config.json", "{\"a\": 1}\n");
    std::string w(10000, '\0');
    for (std::size_t i = 0; i < w.size(); ++i) w[i] = static_cast<char>((i * 131 + 7) & 0xff);
    put(model / "weights.bin", w);
    put(model / "tok/vocab.txt", "a\nb\nc\n");
    put(model / "tok/empty", "");
    put(model / ".gitattributes", "* -text\n");
    put(model / ".git/HEAD", "ref: x\n");
  }
  void TearDown() override { fs::remove_all(dir); }

  Bundle sign_with(const SignerConfig& cfg, const Serialization& s = {}) {
    HashOptions h;
    h.serialization = s;
    auto m = compute_manifest(model, h);
    EXPECT_TRUE(m) << m.error().message;
    auto b = sign_manifest(*m, cfg);
    EXPECT_TRUE(b) << b.error().message;
    // Through the serialised form, as a file would go.
    auto parsed = parse_bundle(write_bundle(*b));
    EXPECT_TRUE(parsed) << parsed.error().message;
    return *parsed;
  }

  std::string verify_err(const Bundle& b, const VerifyMethod& m, VerifyOptions o = {}) {
    auto r = verify_model(model, b, m, o);
    return r ? std::string("OK") : r.error().message;
  }

  fs::path dir, model;
};

bool has(const std::string& s, const std::string& needle) { return s.find(needle) != std::string::npos; }

}  // namespace

TEST_F(SignRoundTrip, KeyMethodEveryCurveAndEveryTampering) {
  for (const char* curve : {"P-256", "P-384", "P-521"}) {
    SetUp();
    auto kp = gen_key(curve);
    Bundle b = sign_with({kp.priv, {}, {}, {}});
    EXPECT_EQ(b.public_key_hint, pki::key_hint(*pki::load_public_key_pem(kp.pub)));
    KeyMethod km{kp.pub};
    EXPECT_EQ(verify_err(b, km), "OK") << curve;
    auto st = statement_to_manifest(b.envelope.payload);
    ASSERT_TRUE(st);
    ASSERT_EQ(st->manifest.resources.size(), 4u);  // .git* ignored; empty file signed
    EXPECT_EQ(st->manifest.resources[0].name, "config.json");
    EXPECT_EQ(st->manifest.resources[1].name, "tok/empty");

    // Another key.
    EXPECT_TRUE(has(verify_err(b, KeyMethod{gen_key(curve).pub}), "key mismatch")) << curve;

    // One byte changed.
    std::string w = slurp(model / "weights.bin");
    w[1234] ^= 0x01;
    put(model / "weights.bin", w);
    EXPECT_TRUE(has(verify_err(b, km), "hash mismatch for 'weights.bin'")) << curve;
    w[1234] ^= 0x01;
    put(model / "weights.bin", w);
    EXPECT_EQ(verify_err(b, km), "OK");

    // Renamed.
    fs::rename(model / "tok/vocab.txt", model / "tok/vocab2.txt");
    std::string e = verify_err(b, km);
    EXPECT_TRUE(has(e, "extra unsigned files in model: 'tok/vocab2.txt'")) << e;
    EXPECT_TRUE(has(e, "missing signed files: 'tok/vocab.txt'")) << e;
    fs::rename(model / "tok/vocab2.txt", model / "tok/vocab.txt");

    // Added.
    put(model / "extra.py", "import os\n");
    EXPECT_TRUE(has(verify_err(b, km), "extra unsigned files in model: 'extra.py'"));
    VerifyOptions allow;
    allow.match.ignore_unsigned_files = true;
    EXPECT_EQ(verify_err(b, km, allow), "OK");
    VerifyOptions ign;
    ign.match.ignore_paths = {"extra.py"};
    EXPECT_EQ(verify_err(b, km, ign), "OK");
    fs::remove(model / "extra.py");

    // Removed.
    fs::remove(model / "config.json");
    EXPECT_TRUE(has(verify_err(b, km), "missing signed files: 'config.json'"));
    EXPECT_TRUE(has(verify_err(b, km, allow), "missing file 'config.json'"));
    TearDown();
  }
}

TEST_F(SignRoundTrip, ShardsOnAFileLargerThanTheShard) {
  auto kp = gen_key("P-256");
  Serialization s;
  s.method = Method::shards;
  s.shard_size = 4096;
  Bundle b = sign_with({kp.priv, {}, {}, {}}, s);
  auto st = statement_to_manifest(b.envelope.payload);
  ASSERT_TRUE(st);
  std::vector<std::string> names;
  for (const auto& r : st->manifest.resources) names.push_back(r.name);
  std::vector<std::string> want = {"config.json:0:9", "tok/vocab.txt:0:6", "weights.bin:0:4096", "weights.bin:4096:8192",
                                   "weights.bin:8192:10000"};
  EXPECT_EQ(names, want);  // the empty file has no shard
  EXPECT_EQ(st->manifest.resources[2].algorithm, "sha256-sharded-4096");
  KeyMethod km{kp.pub};
  EXPECT_EQ(verify_err(b, km), "OK");
  std::string w = slurp(model / "weights.bin");
  w[5000] ^= 0x80;
  put(model / "weights.bin", w);
  std::string e = verify_err(b, km);
  EXPECT_TRUE(has(e, "hash mismatch for 'weights.bin:4096:8192'")) << e;
  EXPECT_FALSE(has(e, "weights.bin:0:4096")) << e;
  // Growing the file adds a shard and changes the last one.
  w[5000] ^= 0x80;
  put(model / "weights.bin", w + "x");
  e = verify_err(b, km);
  EXPECT_TRUE(has(e, "'weights.bin:8192:10001'")) << e;
  // Digests are identical whatever the thread count.
  for (unsigned t : {1u, 3u, 8u}) {
    HashOptions h;
    h.serialization = s;
    h.threads = t;
    h.read_chunk = 1000;
    put(model / "weights.bin", w);
    auto m = compute_manifest(model, h);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->resources, st->manifest.resources) << t;
  }
}

TEST_F(SignRoundTrip, Blake3AndBlake2b) {
  auto kp = gen_key("P-256");
  for (HashType h : {HashType::blake3, HashType::blake2b}) {
    Serialization s;
    s.hash = h;
    Bundle b = sign_with({kp.priv, {}, {}, {}}, s);
    auto st = statement_to_manifest(b.envelope.payload);
    ASSERT_TRUE(st);
    EXPECT_EQ(st->manifest.serialization.hash, h);
    EXPECT_EQ(st->manifest.resources[0].algorithm, hash_type_name(h));
    EXPECT_EQ(st->manifest.resources[0].digest, digest_hex(h, as_bytes(std::string_view("{\"a\": 1}\n"))));
    EXPECT_EQ(verify_err(b, KeyMethod{kp.pub}), "OK");
    put(model / "tok/vocab.txt", "a\nb\nC\n");
    EXPECT_TRUE(has(verify_err(b, KeyMethod{kp.pub}), "hash mismatch for 'tok/vocab.txt'"));
    put(model / "tok/vocab.txt", "a\nb\nc\n");
  }
  // blake3 "shards" is files, as in the reference.
  Serialization s3;
  s3.hash = HashType::blake3;
  s3.method = Method::shards;
  HashOptions ho;
  ho.serialization = s3;
  auto m = compute_manifest(model, ho);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->serialization.method, Method::files);
  // Known answer: blake3("") (the empty file).
  EXPECT_EQ(m->resources[1].digest, "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262");
}

TEST_F(SignRoundTrip, CertificateMethodWithTheReferencePki) {
  fs::path keys = kData / "reference/keys";
  SignerConfig cfg{slurp(keys / "signing-key.pem"), {}, slurp(keys / "signing-key-cert.pem"), slurp(keys / "int-ca-cert.pem")};
  Bundle b = sign_with(cfg);
  ASSERT_EQ(b.cert_chain.size(), 2u);
  EXPECT_FALSE(b.has_public_key);
  EXPECT_EQ(verify_err(b, CertificateMethod{slurp(keys / "ca-cert.pem")}), "OK");
  // The key method with the leaf's key also accepts it (like the reference).
  EXPECT_EQ(verify_err(b, KeyMethod{slurp(keys / "signing-key-pub.pem")}), "OK");
  // Untrusted root: chain fails.
  std::string e = verify_err(b, CertificateMethod{slurp(keys / "int-ca-cert.pem")});
  EXPECT_TRUE(has(e, "certificate chain does not verify")) << e;
  // Without the intermediate in the bundle the chain cannot be built.
  Bundle nb = b;
  nb.cert_chain.resize(1);
  e = verify_err(nb, CertificateMethod{slurp(keys / "ca-cert.pem")});
  EXPECT_TRUE(has(e, "certificate chain does not verify")) << e;
  // A certificate whose key is not the private key is refused at signing.
  auto other = gen_key("P-384");
  auto bad = sign_manifest(Manifest{}, SignerConfig{other.priv, {}, slurp(keys / "signing-key-cert.pem"), {}});
  ASSERT_FALSE(bad);
  EXPECT_TRUE(has(bad.error().message, "does not match the private key"));
  // Tampering after a certificate signature.
  put(model / "weights.bin", "x");
  EXPECT_TRUE(has(verify_err(b, CertificateMethod{slurp(keys / "ca-cert.pem")}), "hash mismatch for 'weights.bin'"));
}

TEST_F(SignRoundTrip, SymlinksRefusedUnlessAllowed) {
  auto kp = gen_key("P-256");
  fs::create_symlink("config.json", model / "link.json");
  HashOptions h;
  auto m = compute_manifest(model, h);
  ASSERT_FALSE(m);
  EXPECT_TRUE(has(m.error().message, "'link.json' is a symlink"));
  h.serialization.allow_symlinks = true;
  m = compute_manifest(model, h);
  ASSERT_TRUE(m) << m.error().message;
  auto b = sign_manifest(*m, {kp.priv, {}, {}, {}});
  ASSERT_TRUE(b);
  EXPECT_EQ(verify_err(*b, KeyMethod{kp.pub}), "OK");  // the bundle records allow_symlinks
  // A symlink under an ignored path is skipped, not an error.
  fs::remove(model / "link.json");
  fs::create_symlink("/etc/passwd", model / ".git/link");
  h.serialization.allow_symlinks = false;
  EXPECT_TRUE(compute_manifest(model, h));
}

TEST(SignMemory, GatewayStyleVerificationOfBytesAndDigests) {
  auto kp = gen_key("P-256");
  std::string a = "weights", c = "config";
  auto m = manifest_from_memory({{"w.bin", as_bytes(a)}, {"cfg/c.json", as_bytes(c)}}, Serialization{});
  ASSERT_TRUE(m);
  m->model_name = "m";
  auto b = sign_manifest(*m, {kp.priv, {}, {}, {}});
  ASSERT_TRUE(b);
  auto chk = verify_signature(*b, KeyMethod{kp.pub});
  ASSERT_TRUE(chk) << chk.error().message;
  // Known digests (e.g. LFS oids) instead of bytes.
  auto known = manifest_from_file_digests({{"w.bin", digest_hex(HashType::sha256, as_bytes(a))},
                                           {"cfg/c.json", digest_hex(HashType::sha256, as_bytes(c))},
                                           {".gitattributes", std::string(64, '0')}},
                                          chk->expected.serialization);
  ASSERT_TRUE(known);
  EXPECT_TRUE(match_manifest(chk->expected, *known, {}));
  MatchOptions no_git;
  no_git.ignore_git_paths = false;
  auto r = match_manifest(chk->expected, *known, no_git);
  ASSERT_FALSE(r);
  EXPECT_TRUE(has(r.error().message, "extra unsigned files in model: '.gitattributes'"));
  // The one-call form.
  std::string g = "* -text";
  EXPECT_TRUE(verify_memory(*b, KeyMethod{kp.pub}, {{"w.bin", as_bytes(a)}, {"cfg/c.json", as_bytes(c)}, {".gitattributes", as_bytes(g)}}, {}));
  auto vm = verify_memory(*b, KeyMethod{kp.pub}, {{"w.bin", as_bytes(a)}}, {});
  ASSERT_FALSE(vm);
  EXPECT_TRUE(has(vm.error().message, "missing signed files: 'cfg/c.json'"));
  EXPECT_FALSE(verify_memory(*b, KeyMethod{gen_key("P-256").pub}, {{"w.bin", as_bytes(a)}, {"cfg/c.json", as_bytes(c)}}, {}));
  std::string a2 = "weightz";
  auto changed = manifest_from_memory({{"w.bin", as_bytes(a2)}, {"cfg/c.json", as_bytes(c)}}, chk->expected.serialization);
  r = match_manifest(chk->expected, *changed, {});
  ASSERT_FALSE(r);
  EXPECT_TRUE(has(r.error().message, "hash mismatch for 'w.bin'"));
}

TEST(SignFormat, PaeAndBase64AndNames) {
  EXPECT_EQ(pae("application/vnd.in-toto+json", "{}"), "DSSEv1 28 application/vnd.in-toto+json 2 {}");
  EXPECT_EQ(pae_compat("t", "a'\n\\\x01"), "DSSEV1 1 t 5 b\"a'\\n\\\\\\x01\"");
  EXPECT_EQ(pae_compat("t", "ab"), "DSSEV1 1 t 2 b'ab'");
  EXPECT_EQ(base64_encode("hello"), "aGVsbG8=");
  EXPECT_EQ(sign::base64_decode("aGVsbG8=").value(), "hello");
  EXPECT_EQ(sign::base64_decode("aGVsbG8").value(), "hello");
  EXPECT_FALSE(sign::base64_decode("aGV sbG8="));
  EXPECT_FALSE(sign::base64_decode("a"));
  EXPECT_EQ(normalize_relative("a//b/./c/").value(), "a/b/c");
  EXPECT_EQ(normalize_relative("./").value(), ".");
  EXPECT_FALSE(normalize_relative("a/../b"));
  EXPECT_FALSE(normalize_relative("/etc/passwd"));
  EXPECT_TRUE(resource_less("a/x.txt", "a-b.txt"));  // by components, not raw bytes
  EXPECT_TRUE(resource_less("f:8:16", "f:16:23"));  // offsets compare as numbers
  EXPECT_FALSE(resource_less("f:16:23", "f:8:16"));
  EXPECT_TRUE(resource_less("f:0:8", "f:8:16"));
  EXPECT_TRUE(resource_less("f:16:23", "f:8:16", Method::files));  // a ':' in a file name is a name
}

TEST(SignFormat, StatementRejectsEscapingAndDuplicateNames) {
  auto make = [](const std::string& res) {
    return std::string(R"({"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"m","digest":{"sha256":"x"}}],)"
                       R"("predicateType":"https://model_signing/signature/v1.0","predicate":{"serialization":)"
                       R"({"method":"files","hash_type":"sha256","allow_symlinks":false},"resources":[)") +
           res + "]}}";
  };
  std::string d = std::string(64, 'a');
  auto r = statement_to_manifest(make(R"({"name":"../etc/passwd","algorithm":"sha256","digest":")" + d + "\"}"));
  ASSERT_FALSE(r);
  EXPECT_TRUE(has(r.error().message, "'..'"));
  r = statement_to_manifest(make(R"({"name":"a","algorithm":"sha256","digest":")" + d + R"("},{"name":"./a","algorithm":"sha256","digest":")" + d + "\"}"));
  ASSERT_FALSE(r);
  EXPECT_TRUE(has(r.error().message, "duplicate resource 'a'"));
  r = statement_to_manifest(make(R"({"name":"a","algorithm":"sha256","digest":"zz"})"));
  ASSERT_FALSE(r);
}
