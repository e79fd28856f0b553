// Fuzzes the CAS upload and read paths through hub::Hub + cas::Service in-process.
// Input: [target][mode][payload]. target % 4: 0 shard upload, 1 xorb upload, 2 reconstruction
// Range header, 3 signed xorb URL query. mode even: payload is a list of (u16 offset, u8 xor)
// edits applied to a valid document (the valid shard / xorb / range / query), so mutations reach
// deep validation; mode odd: payload is the raw document.
// Invariants: nothing crashes; an accepted shard's files reconstruct to their full size; a refused
// upload stores nothing.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <random>

#include "cas/cas.hpp"
#include "crypto/sha.hpp"
#include "hub/hub.hpp"
#include "xet/object_store.hpp"

using namespace hubgate;

namespace {

struct World {
  std::filesystem::path dir;
  std::unique_ptr<repo::Catalog> catalog;
  store::MemoryStore store;
  std::unique_ptr<auth::TokenStore> tokens;
  std::unique_ptr<auth::Signer> signer;
  std::unique_ptr<cas::Service> xet;
  std::unique_ptr<hub::Hub> hub;
  std::string write_token, read_token, xorb, shard, xorb_query;
  xet::MerkleHash xorb_hash, file_hash;

  http::Response call(std::string method, std::string target, const std::string& token, std::string body,
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
    r.body.data = std::move(body);
    return hub->handle(r);
  }

  World() {
    dir = std::filesystem::temp_directory_path() / ("hubgate-fuzz-cas-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    catalog = std::move(*repo::open_sqlite_catalog(":memory:"));
    tokens = std::move(*auth::TokenStore::open((dir / "auth.db").string()));
    signer = std::make_unique<auth::Signer>("fuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzz");
    cas::ServiceOptions xo;
    xo.dir = (dir / "xet").string();
    xet = std::move(*cas::Service::open(xo, *signer, *catalog));
    hub::HubOptions o;
    o.public_url = "http://hub.test";
    o.xet = xet.get();
    hub = std::make_unique<hub::Hub>(o, *catalog, store, *tokens, *signer);
    std::string hub_tok = *tokens->create("alice", true, "");
    call("POST", "/api/repos/create", hub_tok, R"({"name":"m","organization":"alice"})");
    auto rec = *catalog->find_repo(*repo::make_repo_id(repo::RepoType::model, "alice", "m"));
    write_token = xet->issue_token(*rec, true, "", nullptr);
    // A valid xorb (stored) and a valid shard for a file made of chunks 1..3 of it.
    std::mt19937_64 rng(7);
    std::string data(60000, '\0');
    for (auto& c : data) c = char(rng() % 7);  // compressible: LZ4 records
    xet::XorbBuilder xb(xet::CompressionPolicy::lz4);
    std::vector<xet::MerkleHash> hs;
    std::vector<xet::HashAndSize> leaves;
    for (std::size_t off = 0; off < data.size(); off += 15000) {
      auto ch = as_bytes(std::string_view(data).substr(off, 15000));
      hs.push_back(xet::chunk_hash(ch));
      (void)xb.add(ch, hs.back());
    }
    xorb_hash = xb.hash();
    xorb.assign(reinterpret_cast<const char*>(xb.body().data()), xb.body().size());
    call("POST", "/cas/v1/xorbs/default/" + xorb_hash.hex(), write_token, xorb);
    xet::FileInfo fi;
    for (int i = 1; i < 4; ++i) leaves.push_back({hs[std::size_t(i)], 15000});
    fi.file_hash = xet::file_hash(leaves);
    file_hash = fi.file_hash;
    fi.segments.push_back({xorb_hash, 45000, 1, 4});
    fi.verification.push_back(xet::verification_hash(std::span(hs).subspan(1, 3)));
    fi.sha256 = crypto::sha256(std::string_view(data).substr(15000, 45000));
    xet::Shard sh;
    sh.files.push_back(fi);
    xet::CasInfo ci;
    ci.xorb_hash = xorb_hash;
    for (const auto& c : xb.chunks()) ci.chunks.push_back({c.hash, c.unpacked_start, c.unpacked_size, 0});
    ci.unpacked_total = 60000;
    sh.xorbs.push_back(ci);
    shard = xet::serialize_shard(sh);
    std::string r = "0-" + std::to_string(xorb.size() - 1);
    xorb_query = "r=" + r + "&x=99999999999&s=" + signer->sign("xet-xorb:" + xorb_hash.hex() + ":" + r, 99999999999);
  }
  ~World() { std::filesystem::remove_all(dir); }
};

World& world() {
  static World w;
  return w;
}

std::size_t count(World& w, xet::ObjectKind k) {
  auto os = xet::LocalObjectStore::open((w.dir / "xet" / "objects").string());
  return (*os)->list(k)->size();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2 || size > 200000) return 0;
  World& w = world();
  int target = data[0] % 4;
  bool raw = data[1] & 1;
  std::string doc;
  if (raw) {
    doc.assign(reinterpret_cast<const char*>(data + 2), size - 2);
  } else {
    doc = target == 0 ? w.shard : target == 1 ? w.xorb : target == 2 ? std::string("bytes=100-40000") : w.xorb_query;
    for (std::size_t i = 2; i + 2 < size; i += 3) {
      std::size_t off = (std::size_t(data[i]) | std::size_t(data[i + 1]) << 8);
      if (doc.empty()) break;
      doc[off % doc.size()] = char(doc[off % doc.size()] ^ data[i + 2]);
    }
  }
  if (target == 0) {
    std::size_t xorbs = count(w, xet::ObjectKind::xorb), shards = count(w, xet::ObjectKind::shard);
    auto r = w.call("POST", "/cas/v1/shards", w.write_token, doc);
    if (r.status == 200) {
      auto parsed = xet::parse_shard(as_bytes(doc));
      if (!parsed) std::abort();  // accepted something unparseable
      for (const auto& f : parsed->files) {
        auto rec = w.xet->chunks().lookup(f.file_hash);
        if (!rec) std::abort();
        std::string out;
        if (!w.xet->chunks().read(*rec, 0, rec->size, out) || out.size() != rec->size) std::abort();
      }
    } else if (count(w, xet::ObjectKind::shard) != shards || count(w, xet::ObjectKind::xorb) != xorbs) {
      std::abort();  // a refused shard stored something
    }
  } else if (target == 1) {
    std::size_t xorbs = count(w, xet::ObjectKind::xorb);
    auto r = w.call("POST", "/cas/v1/xorbs/default/" + w.xorb_hash.hex(), w.write_token, doc);
    if (r.status != 200 && count(w, xet::ObjectKind::xorb) != xorbs) std::abort();
    if (r.status == 200 && doc != w.xorb) {
      auto dx = xet::decode_xorb(as_bytes(doc));  // accepted: must decode to the same hash
      if (!dx || dx->hash != w.xorb_hash) std::abort();
    }
  } else if (target == 2) {
    // Range parsing on a file the token may not read (no commit): must answer, never crash.
    (void)w.call("GET", "/cas/v2/reconstructions/" + w.file_hash.hex(), w.write_token, "", {{"Range", doc}});
  } else {
    auto r = w.call("GET", "/cas/x/" + w.xorb_hash.hex() + "?" + doc, "", "");
    if (r.status == 200 || r.status == 206) {
      auto fb = std::get_if<http::FileBody>(&r.body);
      if (!fb || fb->offset + fb->length > w.xorb.size() + 4096) std::abort();
    }
  }
  return 0;
}
