// The Xet CAS server in-process: hub::Hub with a cas::Service (chunk store in a temp folder), a
// MemoryStore, an in-memory catalog. Valid xorbs and shards are built with the xet library and
// then broken one way at a time; every refusal must carry X-Error-Message and store nothing.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>

#include "cas/cas.hpp"
#include "crypto/sha.hpp"
#include "hub/hub.hpp"
#include "util/hex.hpp"
#include "xet/object_store.hpp"

using namespace hubgate;
using json = nlohmann::json;

namespace {

std::string random_bytes(std::size_t n, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = char(rng() & 0xff);
  return s;
}

// A xorb of `data` cut into fixed 20000-byte chunks (the server never re-chunks), and the shard
// describing one file made of the whole xorb.
struct Built {
  std::string data, xorb;
  xet::MerkleHash xorb_hash;
  xet::CasInfo cas;
  xet::FileInfo file;
};

Built build(const std::string& data, xet::CompressionPolicy policy = xet::CompressionPolicy::none) {
  Built b;
  b.data = data;
  xet::XorbBuilder xb(policy);
  std::vector<xet::HashAndSize> leaves;
  std::vector<xet::MerkleHash> hs;
  for (std::size_t off = 0; off < data.size(); off += 20000) {
    auto chunk = as_bytes(std::string_view(data).substr(off, 20000));
    auto h = xet::chunk_hash(chunk);
    EXPECT_TRUE(xb.add(chunk, h));
    leaves.push_back({h, chunk.size()});
    hs.push_back(h);
  }
  b.xorb_hash = xb.hash();
  b.xorb = std::string(reinterpret_cast<const char*>(xb.body().data()), xb.body().size());
  b.cas.xorb_hash = b.xorb_hash;
  for (const auto& c : xb.chunks()) b.cas.chunks.push_back({c.hash, c.unpacked_start, c.unpacked_size, 0});
  b.cas.unpacked_total = std::uint32_t(data.size());
  b.file.file_hash = xet::file_hash(leaves);
  b.file.segments.push_back({b.xorb_hash, std::uint32_t(data.size()), 0, std::uint32_t(hs.size())});
  b.file.verification.push_back(xet::verification_hash(hs));
  b.file.sha256 = crypto::sha256(data);
  return b;
}

std::string shard_bytes(const Built& b, bool footer = false) {
  xet::Shard s;
  s.files.push_back(b.file);
  s.xorbs.push_back(b.cas);
  xet::ShardWriteOptions o;
  o.footer = footer;
  return xet::serialize_shard(s, o);
}

struct CasTest : ::testing::Test {
  std::filesystem::path dir;
  std::unique_ptr<repo::Catalog> catalog;
  store::MemoryStore store;
  std::unique_ptr<auth::TokenStore> tokens;
  std::unique_ptr<auth::Signer> signer;
  std::unique_ptr<cas::Service> xet;
  std::unique_ptr<hub::Hub> hub;
  std::string writer, reader;

  void SetUp() override {
    dir = std::filesystem::temp_directory_path() /
          ("hubgate-cas-" + std::to_string(::getpid()) + "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    catalog = std::move(*repo::open_sqlite_catalog(":memory:"));
    tokens = std::move(*auth::TokenStore::open(dir / "auth.db"));
    signer = std::make_unique<auth::Signer>("0123456789abcdef0123456789abcdef");
    ASSERT_NO_FATAL_FAILURE(reopen());
    writer = *tokens->create("alice", true, "");
    reader = *tokens->create("carol", false, "");
    ASSERT_EQ(call("POST", "/api/repos/create", writer, R"({"name":"m","organization":"alice"})").status, 200);
    ASSERT_EQ(call("POST", "/api/repos/create", writer, R"({"name":"other","organization":"alice"})").status, 200);
  }
  void TearDown() override { std::filesystem::remove_all(dir); }
  // (Re)opens the Service on the same folder (a restart) and the Hub over it.
  void reopen() {
    hub.reset();
    xet.reset();
    cas::ServiceOptions xo;
    xo.dir = (dir / "xet").string();
    auto s = cas::Service::open(xo, *signer, *catalog);
    ASSERT_TRUE(s) << s.error().message;
    xet = std::move(*s);
    hub::HubOptions o;
    o.public_url = "http://hub.test";
    o.xet = xet.get();
    hub = std::make_unique<hub::Hub>(o, *catalog, store, *tokens, *signer);
  }

  http::Response call(std::string method, std::string target, std::string token = "", std::string body = "",
                      std::vector<std::pair<std::string, std::string>> headers = {}) {
    http::Request r;
    r.method = std::move(method);
    r.target = target;
    auto q = target.find('?');
    r.path = target.substr(0, q);
    if (q != std::string::npos) r.query = target.substr(q + 1);
    if (!token.empty()) r.headers.add("Authorization", "Bearer " + token);
    for (auto& [k, v] : headers) r.headers.add(k, v);
    r.body.size = body.size();
    r.body.sha256 = crypto::sha256_hex(body);
    r.body.data = std::move(body);
    return hub->handle(r);
  }
  static std::string body(const http::Response& r) { return std::get<std::string>(r.body); }
  static json js(const http::Response& r) { return json::parse(body(r)); }
  static std::string hdr(const http::Response& r, const char* n) { return std::string(r.headers.get(n).value_or("")); }

  std::string xet_token(const std::string& repo, bool write, const std::string& hub_token) {
    auto r = call("GET", "/api/models/" + repo + (write ? "/xet-write-token/main" : "/xet-read-token/main"), hub_token);
    EXPECT_EQ(r.status, 200) << body(r);
    return js(r)["accessToken"].get<std::string>();
  }
  std::size_t objects(xet::ObjectKind k) {
    auto os = xet::LocalObjectStore::open((dir / "xet" / "objects").string());
    return (*os)->list(k)->size();
  }
  http::Response post_xorb(const std::string& tok, const xet::MerkleHash& h, const std::string& bytes) {
    return call("POST", "/cas/v1/xorbs/default/" + h.hex(), tok, bytes);
  }
  // A refusal: the status, a clear message, and nothing stored.
  void expect_refused(const http::Response& r, int status, std::size_t xorbs, std::size_t shards) {
    EXPECT_EQ(r.status, status) << body(r);
    EXPECT_FALSE(hdr(r, "X-Error-Message").empty());
    EXPECT_EQ(objects(xet::ObjectKind::xorb), xorbs);
    EXPECT_EQ(objects(xet::ObjectKind::shard), shards);
  }
  // Uploads `b`'s xorb and shard (its sha256 claim included) with a write token of `repo`.
  void upload_xet(const Built& b, const std::string& repo = "alice/m") {
    std::string w = xet_token(repo, true, writer);
    EXPECT_EQ(post_xorb(w, b.xorb_hash, b.xorb).status, 200);
    auto s = call("POST", "/cas/v1/shards", w, shard_bytes(b));
    EXPECT_EQ(s.status, 200) << body(s);
  }
  // Commits LFS object `sha` as alice/m:`path`.
  http::Response commit_lfs(const std::string& sha, std::uint64_t size, const std::string& path = "w.bin") {
    std::string nd = R"({"key":"header","value":{"summary":"x"}})" "\n" R"({"key":"lfsFile","value":{"path":")" + path +
                     R"(","algo":"sha256","oid":")" + sha + R"(","size":)" + std::to_string(size) + "}}\n";
    return call("POST", "/api/models/alice/m/commit/main", writer, nd, {{"Content-Type", "application/x-ndjson"}});
  }
  // Uploads and commits `b` as alice/m:w.bin through the Xet path; returns the commit id.
  std::string commit_xet(const Built& b) {
    upload_xet(b);
    std::string sha = crypto::sha256_hex(b.data);
    std::string nd = R"({"key":"header","value":{"summary":"x"}})" "\n" R"({"key":"lfsFile","value":{"path":"w.bin","algo":"sha256","oid":")" +
                     sha + R"(","size":)" + std::to_string(b.data.size()) + "}}\n";
    auto c = call("POST", "/api/models/alice/m/commit/main", writer, nd, {{"Content-Type", "application/x-ndjson"}});
    EXPECT_EQ(c.status, 200) << body(c);
    return js(c)["commitOid"].get<std::string>();
  }
};

TEST_F(CasTest, XorbUploadIsVerifiedStoredOnceAndIdempotent) {
  auto b = build(random_bytes(100000, 1), xet::CompressionPolicy::lz4);
  std::string w = xet_token("alice/m", true, writer);
  auto r = post_xorb(w, b.xorb_hash, b.xorb);
  ASSERT_EQ(r.status, 200) << body(r);
  EXPECT_EQ(js(r)["was_inserted"], true);
  r = post_xorb(w, b.xorb_hash, b.xorb);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(js(r)["was_inserted"], false);
  EXPECT_EQ(objects(xet::ObjectKind::xorb), 1u);
}

TEST_F(CasTest, MalformedXorbsAreRefusedAndNothingIsStored) {
  auto b = build(random_bytes(100000, 2));
  auto other = build(random_bytes(100000, 3));
  std::string w = xet_token("alice/m", true, writer);
  expect_refused(post_xorb(w, other.xorb_hash, b.xorb), 400, 0, 0);  // hash of other content
  expect_refused(post_xorb(w, b.xorb_hash, b.xorb.substr(0, b.xorb.size() - 1)), 400, 0, 0);  // truncated
  expect_refused(post_xorb(w, b.xorb_hash, ""), 400, 0, 0);
  std::string lying = b.xorb;
  lying[1] = char(0xff);  // compressed_size of the first record points past the data
  expect_refused(post_xorb(w, b.xorb_hash, lying), 400, 0, 0);
  std::string scheme = b.xorb;
  scheme[4] = 7;  // unknown compression scheme
  expect_refused(post_xorb(w, b.xorb_hash, scheme), 400, 0, 0);
  std::string lz4 = b.xorb;
  lz4[4] = 1;  // claims LZ4: the raw payload is no LZ4 frame
  expect_refused(post_xorb(w, b.xorb_hash, lz4), 400, 0, 0);
  std::string unpacked = b.xorb;
  unpacked[5] = char(unpacked[5] ^ 1);  // uncompressed_size disagrees with the payload
  expect_refused(post_xorb(w, b.xorb_hash, unpacked), 400, 0, 0);
  auto bad = post_xorb(w, b.xorb_hash, std::string(100, 'x'));
  expect_refused(bad, 400, 0, 0);
  auto hash = call("POST", "/cas/v1/xorbs/default/nothex", w, b.xorb);
  expect_refused(hash, 400, 0, 0);
}

TEST_F(CasTest, TokensOfTheWrongScopeOrForgedAreRefused) {
  auto b = build(random_bytes(50000, 4));
  std::string rt = xet_token("alice/m", false, reader);
  expect_refused(post_xorb(rt, b.xorb_hash, b.xorb), 403, 0, 0);
  expect_refused(call("POST", "/cas/v1/shards", rt, shard_bytes(b)), 403, 0, 0);
  EXPECT_EQ(call("GET", "/api/models/alice/m/xet-write-token/main", reader).status, 403);
  EXPECT_EQ(call("GET", "/api/models/alice/m/xet-write-token/main").status, 401);
  std::string w = xet_token("alice/m", true, writer);
  std::string forged = w;
  forged.back() = forged.back() == '0' ? '1' : '0';
  expect_refused(post_xorb(forged, b.xorb_hash, b.xorb), 401, 0, 0);
  std::string upgraded = rt;  // a read token edited into a write token keeps its read signature
  upgraded[5] = 'w';
  expect_refused(post_xorb(upgraded, b.xorb_hash, b.xorb), 401, 0, 0);
  expect_refused(post_xorb(writer, b.xorb_hash, b.xorb), 401, 0, 0);  // a hub token is no Xet token
  expect_refused(post_xorb("", b.xorb_hash, b.xorb), 401, 0, 0);
  // Expired: a service with a negative lifetime over the same secret.
  cas::ServiceOptions xo;
  xo.dir = (dir / "xet2").string();
  xo.token_ttl_s = -5;
  auto old = cas::Service::open(xo, *signer, *catalog);
  ASSERT_TRUE(old);
  auto rec = catalog->find_repo(*repo::make_repo_id(repo::RepoType::model, "alice", "m"));
  std::string expired = (*old)->issue_token(**rec, true, "", nullptr);
  auto r = post_xorb(expired, b.xorb_hash, b.xorb);
  expect_refused(r, 401, 0, 0);
  EXPECT_NE(hdr(r, "X-Error-Message").find("expired"), std::string::npos) << hdr(r, "X-Error-Message");
}

TEST_F(CasTest, ShardsAreValidatedAgainstTheStoredXorbs) {
  auto b = build(random_bytes(150000, 5));
  std::string w = xet_token("alice/m", true, writer);
  // The xorb is not uploaded yet: refused.
  expect_refused(call("POST", "/cas/v1/shards", w, shard_bytes(b)), 400, 0, 0);
  ASSERT_EQ(post_xorb(w, b.xorb_hash, b.xorb).status, 200);
  auto refuse = [&](Built broken) {
    auto r = call("POST", "/cas/v1/shards", w, shard_bytes(broken));
    expect_refused(r, 400, 1, 0);
    EXPECT_FALSE(xet->chunks().lookup(broken.file.file_hash));
  };
  Built x = b;
  x.file.verification[0].bytes[0] ^= 1;
  refuse(x);
  x = b;
  x.file.segments[0].unpacked_bytes += 1;  // lying size
  refuse(x);
  x = b;
  x.file.segments[0].chunk_end += 1;  // past the xorb's chunks
  refuse(x);
  x = b;
  x.file.file_hash.bytes[3] ^= 1;
  refuse(x);
  x = b;
  x.cas.chunks[2].hash.bytes[0] ^= 1;  // CAS entry disagrees with the stored xorb
  refuse(x);
  x = b;
  x.cas.chunks[1].unpacked_len -= 1;
  refuse(x);
  x = b;
  x.file.verification.clear();  // verification entries are required
  refuse(x);
  x = b;
  x.file.segments[0].xorb_hash = build(random_bytes(1000, 9)).xorb_hash;  // never uploaded
  x.cas = build(random_bytes(1000, 9)).cas;
  refuse(x);
  expect_refused(call("POST", "/cas/v1/shards", w, "garbage"), 400, 1, 0);
  std::string trunc = shard_bytes(b);
  expect_refused(call("POST", "/cas/v1/shards", w, trunc.substr(0, trunc.size() - 10)), 400, 1, 0);

  // Valid, with footer (HJ) or without (XC); v1 says SyncPerformed then Exists.
  auto r = call("POST", "/cas/v1/shards", w, shard_bytes(b, true));
  ASSERT_EQ(r.status, 200) << body(r);
  EXPECT_EQ(js(r)["result"], 1);
  r = call("POST", "/cas/v2/shards", w, shard_bytes(b, false));
  ASSERT_EQ(r.status, 200) << body(r);
  EXPECT_NE(body(r).find(R"("type":"result")"), std::string::npos);
  r = call("POST", "/cas/v1/shards", w, shard_bytes(b, false));
  EXPECT_EQ(js(r)["result"], 0);
  // The file is indexed, but its sha256 is only a client claim until a commit verifies it.
  auto f = xet->chunks().lookup(b.file.file_hash);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->size, b.data.size());
  EXPECT_FALSE(xet->file_for_sha256(crypto::sha256_hex(b.data)));
}

TEST_F(CasTest, CommitMaterializesXetUploadsAndReconstructionsServeRanges) {
  auto b = build(random_bytes(150000, 6), xet::CompressionPolicy::lz4);
  std::string commit = commit_xet(b);
  // The sha256 blob exists now (plain HTTP downloads), byte-identical.
  auto blob = store.open(crypto::sha256_hex(b.data));
  ASSERT_TRUE(blob);
  EXPECT_EQ(*blob->data, b.data);
  auto head = call("HEAD", "/alice/m/resolve/main/w.bin", writer);
  EXPECT_EQ(hdr(head, "X-Xet-Hash"), b.file.file_hash.hex());

  std::string rt = xet_token("alice/m", false, reader);
  auto r = call("GET", "/cas/v2/reconstructions/" + b.file.file_hash.hex(), rt, "", {{"Range", "bytes=30000-95000"}});
  ASSERT_EQ(r.status, 200) << body(r);
  json j = js(r);
  EXPECT_EQ(j["offset_into_first_range"], 30000 - 20000);
  ASSERT_EQ(j["terms"].size(), 1u);
  EXPECT_EQ(j["terms"][0]["range"]["start"], 1);
  EXPECT_EQ(j["terms"][0]["range"]["end"], 5);
  EXPECT_EQ(j["terms"][0]["unpacked_length"], 80000);
  auto entries = j["xorbs"][b.xorb_hash.hex()];
  ASSERT_EQ(entries.size(), 1u);
  std::string url = entries[0]["url"];
  std::uint64_t s = entries[0]["ranges"][0]["bytes"]["start"], e = entries[0]["ranges"][0]["bytes"]["end"];
  std::string path = url.substr(std::string("http://hub.test").size());
  auto x = call("GET", path, "", "", {{"Range", "bytes=" + std::to_string(s) + "-" + std::to_string(e)}});
  ASSERT_EQ(x.status, 206) << body(x);
  // Served as a file slice; decode it and compare with the file's bytes.
  auto fb = std::get<http::FileBody>(x.body);
  std::string records(fb.length, '\0');
  ASSERT_EQ(::pread(fb.file->fd(), records.data(), fb.length, off_t(fb.offset)), ssize_t(fb.length));
  std::string out;
  ASSERT_TRUE(xet::decode_records(as_bytes(records), out));
  EXPECT_EQ(out.substr(10000, 65001), b.data.substr(30000, 65001));

  // Signed URLs: outside the signed range, tampered, expired.
  EXPECT_EQ(call("GET", path, "", "", {{"Range", "bytes=0-" + std::to_string(e)}}).status, s == 0 ? 206 : 403);
  EXPECT_EQ(call("GET", path, "", "", {{"Range", "bytes=" + std::to_string(s) + "-" + std::to_string(e + 1)}}).status, 403);
  std::string tampered = path;
  tampered.back() = tampered.back() == '0' ? '1' : '0';
  EXPECT_EQ(call("GET", tampered).status, 403);
  std::string r_q = std::to_string(s) + "-" + std::to_string(e);
  std::string expired = "/cas/x/" + b.xorb_hash.hex() + "?r=" + r_q + "&x=1000&s=" + signer->sign("xet-xorb:" + b.xorb_hash.hex() + ":" + r_q, 1000);
  auto ex = call("GET", expired);
  EXPECT_EQ(ex.status, 403);
  EXPECT_NE(hdr(ex, "X-Error-Message").find("expired"), std::string::npos) << hdr(ex, "X-Error-Message");
  EXPECT_EQ(call("GET", "/cas/x/" + b.xorb_hash.hex()).status, 403);  // unsigned

  // v1 shape, unknown hash, unsatisfiable range, another repository's token.
  r = call("GET", "/cas/v1/reconstructions/" + b.file.file_hash.hex(), rt);
  ASSERT_EQ(r.status, 200);
  EXPECT_TRUE(js(r).contains("fetch_info"));
  EXPECT_EQ(js(r)["fetch_info"][b.xorb_hash.hex()][0]["url_range"]["start"], 0);
  EXPECT_EQ(call("GET", "/cas/v2/reconstructions/" + std::string(64, '1'), rt).status, 404);
  EXPECT_EQ(call("GET", "/cas/v2/reconstructions/" + b.file.file_hash.hex(), rt, "", {{"Range", "bytes=150000-"}}).status, 416);
  std::string foreign = xet_token("alice/other", false, reader);
  EXPECT_EQ(call("GET", "/cas/v2/reconstructions/" + b.file.file_hash.hex(), foreign).status, 403);
  EXPECT_EQ(call("GET", "/cas/v2/reconstructions/" + b.file.file_hash.hex()).status, 401);
  (void)commit;
}

TEST_F(CasTest, LfsBasicBlobsGetAXetRepresentationOnCommit) {
  std::string data = random_bytes(300000, 7);
  std::string sha = *store.put(data);
  std::string nd = R"({"key":"header","value":{"summary":"x"}})" "\n" R"({"key":"lfsFile","value":{"path":"a.bin","algo":"sha256","oid":")" + sha +
                   R"(","size":300000}})" "\n";
  ASSERT_EQ(call("POST", "/api/models/alice/m/commit/main", writer, nd).status, 200);
  auto f = xet->file_for_sha256(sha);
  ASSERT_TRUE(f);
  auto tree = js(call("GET", "/api/models/alice/m/tree/main", writer));
  bool found = false;
  for (const auto& e : tree)
    if (e["path"] == "a.bin") found = e["xetHash"] == f->file_hash.hex();
  EXPECT_TRUE(found);
  std::string out;
  ASSERT_TRUE(xet->chunks().read(*f, 0, f->size, out));
  EXPECT_EQ(out, data);
  // An oid that was never uploaded either way is refused.
  std::string nd2 = R"({"key":"header","value":{"summary":"x"}})" "\n" R"({"key":"lfsFile","value":{"path":"b.bin","algo":"sha256","oid":")" +
                    std::string(64, 'a') + R"(","size":5}})" "\n";
  EXPECT_EQ(call("POST", "/api/models/alice/m/commit/main", writer, nd2).status, 400);
  auto st = xet->stats();
  ASSERT_TRUE(st);
  EXPECT_EQ(st->logical_bytes, 300000u);
  ASSERT_EQ(st->repos.size(), 1u);
  EXPECT_EQ(st->repos[0].repo, "alice/m");
  EXPECT_EQ(st->repos[0].stored_bytes, st->stored_bytes);
}

TEST_F(CasTest, GlobalDedupQueryAnswersAnHmacKeyedShard) {
  auto b = build(random_bytes(60000, 8));
  commit_xet(b);
  std::string rt = xet_token("alice/m", false, reader);
  auto first = b.cas.chunks[0].hash;
  for (const char* prefix : {"default", "default-merkledb"}) {
    auto r = call("GET", std::string("/cas/v1/chunks/") + prefix + "/" + first.hex(), rt);
    ASSERT_EQ(r.status, 200) << body(r);
    auto shard = xet::parse_shard(as_bytes(body(r)));
    ASSERT_TRUE(shard) << shard.error().message;
    ASSERT_TRUE(shard->footer);
    EXPECT_FALSE(shard->footer->chunk_hash_hmac_key.is_zero());
    EXPECT_NE(shard->footer->file_lookup_offset, 0u);
    ASSERT_EQ(shard->xorbs.size(), 1u);
    EXPECT_EQ(shard->xorbs[0].xorb_hash, b.xorb_hash);
    EXPECT_EQ(shard->xorbs[0].chunks[0].hash, xet::hmac(shard->footer->chunk_hash_hmac_key, first));
    EXPECT_NE(shard->xorbs[0].chunks[0].hash, first);
  }
  EXPECT_EQ(call("GET", "/cas/v1/chunks/default/" + std::string(64, '2'), rt).status, 404);
  EXPECT_EQ(call("GET", "/cas/v1/chunks/default/" + first.hex()).status, 401);
}

TEST_F(CasTest, LfsBatchOffersXetOnlyWhenAsked) {
  std::string objs = R"("objects":[{"oid":")" + std::string(64, 'c') + R"(","size":10}])";
  auto r = call("POST", "/alice/m.git/info/lfs/objects/batch", writer,
                R"({"operation":"upload","transfers":["basic","multipart","xet"],"hash_algo":"sha_256",)" + objs + "}");
  ASSERT_EQ(r.status, 200) << body(r);
  json j = js(r);
  EXPECT_EQ(j["transfer"], "xet");
  auto up = j["objects"][0]["actions"]["upload"];
  EXPECT_EQ(up["href"], "http://hub.test/api/models/alice/m/xet-write-token/main");
  EXPECT_EQ(up["header"]["X-Xet-Cas-Url"], "http://hub.test/cas");
  EXPECT_TRUE(xet->verify_token(up["header"]["X-Xet-Access-Token"].get<std::string>())->write);
  r = call("POST", "/alice/m.git/info/lfs/objects/batch", writer, R"({"operation":"upload","transfers":["basic"],)" + objs + "}");
  EXPECT_EQ(js(r)["transfer"], "basic");
}

// A shard whose file claims the sha256 of other content (uploaded by anyone with write access to
// any repository) must neither be served for that sha256 nor survive the true content's upload.
TEST_F(CasTest, FalseSha256ClaimIsNeverServedAndLosesToAnLfsUpload) {
  std::string truth = random_bytes(120000, 21);
  const std::string sha = crypto::sha256_hex(truth);
  Built evil = build(random_bytes(120000, 22));
  evil.file.sha256 = crypto::sha256(truth);  // the lie
  upload_xet(evil, "alice/other");
  EXPECT_FALSE(xet->file_for_sha256(sha));  // a claim alone links nothing
  // Nothing published into the chunk store carries the claim.
  auto os = xet::LocalObjectStore::open((dir / "xet" / "objects").string());
  ASSERT_TRUE(os);
  auto keys = (*os)->list(xet::ObjectKind::shard);
  ASSERT_TRUE(keys);
  ASSERT_FALSE(keys->empty());
  for (const auto& k : *keys) {
    auto sh = xet::parse_shard(as_bytes(*(*os)->get(xet::ObjectKind::shard, k)));
    ASSERT_TRUE(sh);
    for (const auto& f : sh->files) EXPECT_FALSE(f.sha256) << f.file_hash.hex();
  }
  // The true bytes arrive by LFS basic and are committed: the server's own hash wins.
  ASSERT_EQ(*store.put(truth), sha);
  auto c = commit_lfs(sha, truth.size());
  ASSERT_EQ(c.status, 200) << body(c);
  auto f = xet->file_for_sha256(sha);
  ASSERT_TRUE(f);
  EXPECT_NE(f->file_hash, evil.file.file_hash);
  std::string out;
  ASSERT_TRUE(xet->chunks().read(*f, 0, f->size, out));
  EXPECT_EQ(out, truth);
  auto head = call("HEAD", "/alice/m/resolve/main/w.bin", writer);
  EXPECT_EQ(hdr(head, "X-Xet-Hash"), f->file_hash.hex());
  // Reconstructions: the true file is served to readers of the commit, the liar's is not.
  std::string rt = xet_token("alice/m", false, reader);
  auto r = call("GET", "/cas/v2/reconstructions/" + f->file_hash.hex(), rt);
  ASSERT_EQ(r.status, 200) << body(r);
  EXPECT_EQ(js(r)["terms"].size(), f->segments.size());
  EXPECT_EQ(call("GET", "/cas/v2/reconstructions/" + evil.file.file_hash.hex(), rt).status, 403);
  // After a restart the verified link is all there is.
  ASSERT_NO_FATAL_FAILURE(reopen());
  f = xet->file_for_sha256(sha);
  ASSERT_TRUE(f);
  out.clear();
  ASSERT_TRUE(xet->chunks().read(*f, 0, f->size, out));
  EXPECT_EQ(out, truth);
  EXPECT_FALSE(xet->file_for_sha256(crypto::sha256_hex(evil.data)));  // never claimed, never linked
}

TEST_F(CasTest, FalseSha256ClaimDoesNotBlockTheTrueXetUpload) {
  Built good = build(random_bytes(90000, 31), xet::CompressionPolicy::lz4);
  const std::string sha = crypto::sha256_hex(good.data);
  Built evil = build(random_bytes(90000, 32));
  evil.file.sha256 = good.file.sha256;
  Built evil2 = build(random_bytes(50000, 33));
  evil2.file.sha256 = good.file.sha256;
  upload_xet(evil2, "alice/other");
  upload_xet(good);
  upload_xet(evil, "alice/other");  // newest claim: tried first at commit, and dropped
  EXPECT_FALSE(xet->file_for_sha256(sha));
  ASSERT_NO_FATAL_FAILURE(reopen());  // the candidates are durable: a commit after a restart finds them
  auto c = commit_lfs(sha, good.data.size());
  ASSERT_EQ(c.status, 200) << body(c);
  auto f = xet->file_for_sha256(sha);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->file_hash, good.file.file_hash);
  auto blob = store.open(sha);
  ASSERT_TRUE(blob);
  EXPECT_EQ(*blob->data, good.data);
  auto head = call("HEAD", "/alice/m/resolve/main/w.bin", writer);
  EXPECT_EQ(hdr(head, "X-Xet-Hash"), good.file.file_hash.hex());
  // Restart: the verified link survives, no claim became one.
  ASSERT_NO_FATAL_FAILURE(reopen());
  f = xet->file_for_sha256(sha);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->file_hash, good.file.file_hash);
  EXPECT_EQ(f->sha256, *good.file.sha256);
  // Claims about content nobody committed stay unlinked across restarts; committing an oid whose
  // only claim is false fails without linking anything.
  Built liar = build(random_bytes(40000, 34));
  std::string other = random_bytes(40000, 35);
  liar.file.sha256 = crypto::sha256(other);
  upload_xet(liar, "alice/other");
  ASSERT_NO_FATAL_FAILURE(reopen());
  EXPECT_FALSE(xet->file_for_sha256(crypto::sha256_hex(other)));
  // A commit stating another size skips the claim without rebuilding or dropping it.
  EXPECT_EQ(commit_lfs(crypto::sha256_hex(other), other.size() + 1, "x.bin").status, 500);
  auto bad = commit_lfs(crypto::sha256_hex(other), other.size(), "x.bin");
  EXPECT_NE(bad.status, 200);
  EXPECT_FALSE(xet->file_for_sha256(crypto::sha256_hex(other)));
  EXPECT_FALSE(store.open(crypto::sha256_hex(other)));
  // The dropped claim is gone: now the oid is simply unknown (400 "never uploaded").
  EXPECT_EQ(commit_lfs(crypto::sha256_hex(other), other.size(), "x.bin").status, 400);
}

}  // namespace

namespace hubgate {
namespace {

// Pull-through: remote read tokens go through the remote-file hook, never the catalog; they
// cannot upload; without a hook they are refused.
TEST_F(CasTest, RemoteTokensAskTheRemoteFileHook) {
  Built b = build(random_bytes(70000, 7));
  std::string w = xet_token("alice/m", true, writer);
  ASSERT_EQ(post_xorb(w, b.xorb_hash, b.xorb).status, 200);
  ASSERT_EQ(call("POST", "/cas/v1/shards", w, shard_bytes(b)).status, 200);  // in the store, in no commit
  const std::string commit(40, 'c');
  std::string rt = xet->issue_remote_token("models/up/model#n1", commit, nullptr);
  auto v = xet->verify_token(rt);
  ASSERT_TRUE(v);
  EXPECT_TRUE(v->remote());
  EXPECT_FALSE(v->write);
  EXPECT_EQ(v->commit, commit);
  std::string url = "/cas/v1/reconstructions/" + b.file.file_hash.hex();
  EXPECT_EQ(call("GET", url, rt).status, 403);  // no hook: refused
  std::vector<std::string> asked;
  Errc answer = Errc::permission_denied;
  bool allow = false;
  xet->set_remote_file_hook([&](const cas::XetToken& t, const xet::MerkleHash& h) -> Result<void> {
    asked.push_back(t.repo + "@" + t.commit + ":" + h.hex());
    if (allow) return {};
    return fail(answer, "no");
  });
  EXPECT_EQ(call("GET", url, rt).status, 403);
  answer = Errc::unavailable;
  EXPECT_EQ(call("GET", url, rt).status, 503);
  answer = Errc::not_found;
  EXPECT_EQ(call("GET", url, rt).status, 404);
  allow = true;
  auto r = call("GET", url, rt);
  ASSERT_EQ(r.status, 200) << body(r);
  EXPECT_EQ(js(r)["terms"][0]["unpacked_length"].get<std::uint64_t>(), 70000u);
  ASSERT_EQ(asked.size(), 4u);
  EXPECT_EQ(asked[0], "remote:models/up/model#n1@" + commit + ":" + b.file.file_hash.hex());
  // Read-only: no uploads with it.
  EXPECT_EQ(post_xorb(rt, b.xorb_hash, b.xorb).status, 403);
}

}  // namespace
}  // namespace hubgate
