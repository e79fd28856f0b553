// CAS HTTP API, write side: xorb and shard uploads.
//
// A xorb is decoded completely (record headers, LZ4/BG4 payloads with the exact decoded size,
// limits), its chunk hashes and merkle root recomputed and compared with the URL; only then is it
// stored — records as received, plus a footer we write (chunk hashes and boundaries, so byte
// ranges and shard validation never need to walk records again). A shard is parsed strictly
// (verification entries required) and checked against the *stored* xorbs: every referenced xorb
// exists, chunk ranges are in bounds, segment sizes add up, every verification hash and every
// file hash recomputes, and the CAS entries it declares match the stored xorbs chunk by chunk.
// The shard that gets published is the server's: the verified file entries plus CAS entries
// built from the stored xorbs (never the client's claims).
#include <ctime>
#include <map>
#include <optional>

#include "cas/internal.hpp"
#include "util/hex.hpp"
#include "util/mapped_file.hpp"

namespace hubgate::cas {

http::Response Service::Impl::xorb_post(http::Request& req, const std::string& hash_s) {
  auto tok = authorize(req, true);
  if (!tok) return tok.error();
  auto reject = [&](int status, std::string msg) {
    ++counters.xorbs_rejected;
    return cas_error(status, "xorb " + hash_s.substr(0, 64) + ": " + std::move(msg));
  };
  auto hash = xet::MerkleHash::from_hex(hash_s);
  if (!hash) return reject(400, "malformed xorb hash in the URL");
  if (req.body.size > opts.max_xorb_upload) return reject(413, "body of " + std::to_string(req.body.size) + " bytes exceeds the limit");
  // A large body was spooled by the server: validate it in place (mapped; the spool file is
  // this process's own and nobody truncates it) and store it plus our footer without building
  // a copy — one 64 MiB xorb would otherwise cost a read, a join and their page faults.
  std::optional<MappedFile> mapped;
  ByteView body;
  if (req.body.in_file()) {
    auto m = MappedFile::open(req.body.file);
    if (!m) return cas_error(500, "xorb " + hash_s + ": cannot read the received body: " + m.error().message);
    mapped.emplace(std::move(*m));
    body = mapped->bytes();
  } else {
    body = as_bytes(req.body.data);
  }
  ++counters.xorbs_received;
  counters.xorb_bytes_received += body.size();
  auto dx = xet::decode_xorb(body, /*keep_data=*/false);
  if (!dx) return reject(400, "invalid xorb: " + dx.error().message);
  if (dx->chunks.empty()) return reject(400, "invalid xorb: no chunks");
  if (dx->hash != *hash) return reject(400, "content hashes to " + dx->hash.hex() + ", not to the hash in the URL");
  const std::string footer = xet::xorb_footer(dx->hash, dx->chunks);
  const ByteView parts[] = {body.first(dx->body_size), as_bytes(footer)};
  auto put = objects->put_parts(xet::ObjectKind::xorb, *hash, parts);
  if (!put) return cas_error(500, "xorb " + hash_s + ": cannot store: " + put.error().message);
  if (*put) ++counters.xorbs_inserted;
  if (auto r = add_repo_bytes(tok->repo, *put ? dx->body_size + footer.size() : 0, body.size()); !r)
    return cas_error(500, r.error().message);
  return cas_json(200, {{"was_inserted", *put}});
}

http::Response Service::Impl::shard_post(http::Request& req, int version) {
  auto tok = authorize(req, true);
  if (!tok) return tok.error();
  auto reject = [&](std::string msg) {
    ++counters.shards_rejected;
    return cas_error(400, "shard rejected: " + std::move(msg));
  };
  if (req.body.size > opts.max_shard_upload) {
    ++counters.shards_rejected;
    return cas_error(413, "shard of " + std::to_string(req.body.size) + " bytes exceeds the limit");
  }
  auto body = req.body.read_all(opts.max_shard_upload);
  if (!body) return reject(body.error().message);
  xet::ShardParseOptions po;
  po.require_verification = true;
  auto shard = xet::parse_shard(as_bytes(*body), po);
  if (!shard) return reject(shard.error().message);

  std::map<xet::MerkleHash, xet::CasInfo> truth;  // stored xorbs named by this shard
  std::map<xet::MerkleHash, bool> indexed;         // already in the chunk store's index
  auto truth_of = [&](const xet::MerkleHash& x) -> Result<const xet::CasInfo*> {
    if (auto it = truth.find(x); it != truth.end()) return &it->second;
    bool idx = chunks->xorb_info(x).has_value();
    HG_TRY(auto ci, xorb_truth(x));
    if (!ci) return fail(Errc::not_found, "xorb " + x.hex() + " is not stored (upload it before the shard)");
    indexed[x] = idx;
    return &truth.emplace(x, std::move(*ci)).first->second;
  };
  for (const auto& c : shard->xorbs) {
    auto t = truth_of(c.xorb_hash);
    if (!t) return reject(t.error().message);
    const auto& tc = (*t)->chunks;
    if (c.chunks.size() != tc.size())
      return reject("CAS entry of xorb " + c.xorb_hash.hex() + " lists " + std::to_string(c.chunks.size()) + " chunks, the xorb has " +
                    std::to_string(tc.size()));
    for (std::size_t i = 0; i < tc.size(); ++i) {
      if (c.chunks[i].hash != tc[i].hash || c.chunks[i].unpacked_len != tc[i].unpacked_len ||
          c.chunks[i].unpacked_offset != tc[i].unpacked_offset)
        return reject("CAS entry of xorb " + c.xorb_hash.hex() + " disagrees with the stored xorb at chunk " + std::to_string(i));
    }
  }
  bool any_new = false;
  for (const auto& f : shard->files) {
    std::vector<xet::HashAndSize> leaves;
    if (f.verification.size() != f.segments.size()) return reject("file " + f.file_hash.hex() + " lacks verification entries");
    for (std::size_t i = 0; i < f.segments.size(); ++i) {
      const auto& s = f.segments[i];
      auto t = truth_of(s.xorb_hash);
      if (!t) return reject("file " + f.file_hash.hex() + ": " + t.error().message);
      const auto& tc = (*t)->chunks;
      if (s.chunk_start >= s.chunk_end || s.chunk_end > tc.size())
        return reject("file " + f.file_hash.hex() + ": chunk range [" + std::to_string(s.chunk_start) + ", " + std::to_string(s.chunk_end) +
                      ") is out of bounds for xorb " + s.xorb_hash.hex() + " (" + std::to_string(tc.size()) + " chunks)");
      std::uint64_t sum = 0;
      std::vector<xet::MerkleHash> hs;
      for (std::uint32_t k = s.chunk_start; k < s.chunk_end; ++k) {
        sum += tc[k].unpacked_len;
        hs.push_back(tc[k].hash);
        leaves.push_back({tc[k].hash, tc[k].unpacked_len});
      }
      if (sum != s.unpacked_bytes)
        return reject("file " + f.file_hash.hex() + ": segment " + std::to_string(i) + " claims " + std::to_string(s.unpacked_bytes) +
                      " bytes, its chunks hold " + std::to_string(sum));
      if (xet::verification_hash(hs) != f.verification[i])
        return reject("file " + f.file_hash.hex() + ": verification hash of segment " + std::to_string(i) + " does not match");
    }
    if (xet::file_hash(leaves) != f.file_hash)
      return reject("file hash " + f.file_hash.hex() + " does not match its segments (they hash to " + xet::file_hash(leaves).hex() + ")");
    if (!chunks->lookup(f.file_hash)) any_new = true;
  }
  // Publish the server's view: verified files + CAS entries of stored xorbs not yet indexed.
  // The files' sha256 metadata is a client claim: it is kept aside as a candidate (verified at
  // commit, finalize_lfs_object) and never published into the chunk store.
  xet::Shard pub;
  pub.files = shard->files;
  std::vector<std::pair<std::string, xet::MerkleHash>> claims;
  for (auto& f : pub.files) {
    if (!f.sha256) continue;
    if (auto known = chunks->lookup_sha256(*f.sha256); !known || known->file_hash != f.file_hash)
      claims.emplace_back(to_hex(ByteView(f.sha256->data(), 32)), f.file_hash);
    f.sha256.reset();
  }
  for (auto& [x, ci] : truth) {
    if (indexed[x]) continue;
    // Mark the chunks clients query for global dedup (first of each xorb, every h % 1024 == 0).
    for (std::size_t i = 0; i < ci.chunks.size(); ++i)
      if (i == 0 || ci.chunks[i].hash.mod(1024) == 0) ci.chunks[i].flags = xet::kChunkFlagGlobalDedup;
    pub.xorbs.push_back(ci);
  }
  std::uint64_t shard_bytes = xet::serialize_shard(pub).size();
  auto added = chunks->add_shard(pub);
  if (!added) return cas_error(500, "shard: cannot store: " + added.error().message);
  if (*added) {
    if (auto r = add_repo_bytes(tok->repo, shard_bytes, 0); !r) return cas_error(500, r.error().message);
  }
  for (const auto& [sha, file] : claims)
    if (auto r = add_sha256_candidate(sha, file); !r) return cas_error(500, "shard: " + r.error().message);
  ++counters.shards_accepted;
  if (version == 1) return cas_json(200, {{"result", any_new ? 1 : 0}});
  // v2: NDJSON progress frames; validation already finished synchronously.
  std::string frames = json({{"type", "validating"}, {"verified", shard->files.size()}, {"total", shard->files.size()}}).dump() + "\n" +
                       json({{"type", "committing"}, {"stage", "syncing"}}).dump() + "\n" +
                       json({{"type", "result"}, {"result", any_new ? 1 : 0}}).dump() + "\n";
  http::Response res;
  res.headers.set("Content-Type", "application/x-ndjson");
  res.body = std::move(frames);
  return res;
}

}  // namespace hubgate::cas
