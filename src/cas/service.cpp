// cas::Service: opening the chunk store, Xet access tokens, finalizing committed LFS objects,
// and the accounting database.
//
// Tokens are stateless: "xet1.<r|w>.<repo key>.<commit|->.<exp>.<hex(repo id)>.<sig>", where sig
// is the Signer's HMAC-SHA256 over "xet-token:" + everything before it (and the expiry). The
// prefix keeps them apart from the LFS upload URL payloads signed with the same secret.
//
// finalize_lfs_object runs once per sha256 at a time (single flight): ingesting an LFS-basic
// blob streams it through a chunk-store FileWriter (8 MiB reads) and checks that the sha256 the
// writer computed is the blob's name; materializing a Xet upload reconstructs it in 16 MiB
// windows into <dir>/tmp while hashing, and adopts the file into the blob store only when its
// sha256 equals the committed oid.
#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <ctime>

#include "cas/internal.hpp"
#include "crypto/sha.hpp"
#include "util/atomic_file.hpp"
#include "util/hex.hpp"
#include "util/parse.hpp"

namespace hubgate::cas {

namespace {

constexpr const char* kSchema = R"(
PRAGMA journal_mode=WAL;
CREATE TABLE IF NOT EXISTS repo_files(repo TEXT NOT NULL, file_hash TEXT NOT NULL, size INTEGER NOT NULL,
                                      PRIMARY KEY(repo, file_hash));
CREATE TABLE IF NOT EXISTS repo_bytes(repo TEXT PRIMARY KEY, stored INTEGER NOT NULL DEFAULT 0,
                                      received INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS sha256_candidates(sha256 TEXT NOT NULL, file_hash TEXT NOT NULL, seq INTEGER NOT NULL,
                                             PRIMARY KEY(sha256, file_hash));
)";

Result<sqlite3*> open_db(const std::string& path, bool read_only) {
  sqlite3* db = nullptr;
  int flags = read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  if (sqlite3_open_v2(path.c_str(), &db, flags | SQLITE_OPEN_FULLMUTEX, nullptr) != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return fail(Errc::io, "xet stats db " + path + ": " + msg);
  }
  sqlite3_busy_timeout(db, 5000);
  if (!read_only) {
    char* err = nullptr;
    if (sqlite3_exec(db, kSchema, nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : "unknown error";
      sqlite3_free(err);
      sqlite3_close(db);
      return fail(Errc::io, "xet stats db " + path + ": " + msg);
    }
  }
  return db;
}

Result<void> exec_bound(sqlite3* db, const char* sql, const std::vector<std::string>& texts, const std::vector<std::int64_t>& ints) {
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) != SQLITE_OK) return fail(Errc::io, std::string("xet stats db: ") + sqlite3_errmsg(db));
  int i = 1;
  for (const auto& t : texts) sqlite3_bind_text(st, i++, t.data(), int(t.size()), SQLITE_TRANSIENT);
  for (auto v : ints) sqlite3_bind_int64(st, i++, v);
  int rc = sqlite3_step(st);
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) return fail(Errc::io, std::string("xet stats db: ") + sqlite3_errmsg(db));
  return {};
}

Result<Stats> query_stats(sqlite3* db, std::uint64_t stored_bytes) {
  Stats s;
  s.stored_bytes = stored_bytes;
  sqlite3_stmt* st = nullptr;
  const char* overall = "SELECT COUNT(*), COALESCE(SUM(size),0) FROM (SELECT DISTINCT file_hash, size FROM repo_files)";
  if (sqlite3_prepare_v2(db, overall, -1, &st, nullptr) != SQLITE_OK) return fail(Errc::io, std::string("xet stats db: ") + sqlite3_errmsg(db));
  if (sqlite3_step(st) == SQLITE_ROW) {
    s.files = std::uint64_t(sqlite3_column_int64(st, 0));
    s.logical_bytes = std::uint64_t(sqlite3_column_int64(st, 1));
  }
  sqlite3_finalize(st);
  const char* per_repo =
      "SELECT r.repo, COALESCE(f.n,0), COALESCE(f.bytes,0), r.stored, r.received FROM "
      "(SELECT repo, stored, received FROM repo_bytes UNION SELECT repo, 0, 0 FROM repo_files WHERE repo NOT IN (SELECT repo FROM repo_bytes)) r "
      "LEFT JOIN (SELECT repo, COUNT(*) n, SUM(size) bytes FROM repo_files GROUP BY repo) f ON f.repo = r.repo ORDER BY r.repo";
  if (sqlite3_prepare_v2(db, per_repo, -1, &st, nullptr) != SQLITE_OK) return fail(Errc::io, std::string("xet stats db: ") + sqlite3_errmsg(db));
  while (sqlite3_step(st) == SQLITE_ROW) {
    RepoStats r;
    auto p = sqlite3_column_text(st, 0);
    r.repo = p ? reinterpret_cast<const char*>(p) : "";
    r.files = std::uint64_t(sqlite3_column_int64(st, 1));
    r.logical_bytes = std::uint64_t(sqlite3_column_int64(st, 2));
    r.stored_bytes = std::uint64_t(sqlite3_column_int64(st, 3));
    r.xorb_bytes_received = std::uint64_t(sqlite3_column_int64(st, 4));
    s.repos.push_back(std::move(r));
  }
  sqlite3_finalize(st);
  return s;
}

std::string hex_encode(std::string_view s) { return to_hex(s); }

std::array<std::uint8_t, 32> raw_sha(std::string_view hex) {
  std::array<std::uint8_t, 32> out{};
  auto v = from_hex(hex);
  if (v && v->size() == 32) std::memcpy(out.data(), v->data(), 32);
  return out;
}

std::vector<std::string_view> split_dots(std::string_view s) {
  std::vector<std::string_view> out;
  while (true) {
    auto d = s.find('.');
    out.push_back(s.substr(0, d));
    if (d == std::string_view::npos) break;
    s.remove_prefix(d + 1);
  }
  return out;
}

}  // namespace

Service::Impl::~Impl() {
  if (db) sqlite3_close(db);
}

Result<void> Service::Impl::add_repo_file(const std::string& repo, const xet::MerkleHash& file, std::uint64_t size) {
  std::lock_guard lock(db_mu);
  return exec_bound(db, "INSERT OR IGNORE INTO repo_files(repo, file_hash, size) VALUES(?1, ?2, ?3)", {repo, file.hex()},
                    {std::int64_t(size)});
}

Result<void> Service::rename_repo(const std::string& from, const std::string& to) {
  std::lock_guard lock(impl_->db_mu);
  HG_TRY_VOID(exec_bound(impl_->db, "UPDATE OR REPLACE repo_files SET repo = ?2 WHERE repo = ?1", {from, to}, {}));
  return exec_bound(impl_->db, "UPDATE OR REPLACE repo_bytes SET repo = ?2 WHERE repo = ?1", {from, to}, {});
}

Result<void> Service::forget_repo(const std::string& repo) {
  std::lock_guard lock(impl_->db_mu);
  HG_TRY_VOID(exec_bound(impl_->db, "DELETE FROM repo_files WHERE repo = ?1", {repo}, {}));
  return exec_bound(impl_->db, "DELETE FROM repo_bytes WHERE repo = ?1", {repo}, {});
}

Result<void> Service::Impl::add_sha256_candidate(const std::string& sha256, const xet::MerkleHash& file) {
  std::lock_guard lock(db_mu);
  // Newest claim gets the highest seq (a repeated claim moves to the front).
  HG_TRY_VOID(exec_bound(db,
                         "INSERT INTO sha256_candidates(sha256, file_hash, seq) VALUES(?1, ?2, "
                         "(SELECT COALESCE(MAX(seq), 0) + 1 FROM sha256_candidates)) "
                         "ON CONFLICT(sha256, file_hash) DO UPDATE SET seq = excluded.seq",
                         {sha256, file.hex()}, {}));
  // Keep only the newest kMaxCandidates claims per sha256 (bounds the work of a commit).
  return exec_bound(db,
                    "DELETE FROM sha256_candidates WHERE sha256 = ?1 AND seq NOT IN "
                    "(SELECT seq FROM sha256_candidates WHERE sha256 = ?1 ORDER BY seq DESC LIMIT ?2)",
                    {sha256}, {std::int64_t(kMaxCandidates)});
}

Result<std::vector<xet::MerkleHash>> Service::Impl::sha256_candidates(const std::string& sha256) const {
  std::lock_guard lock(db_mu);
  sqlite3_stmt* st = nullptr;
  const char* sql = "SELECT file_hash FROM sha256_candidates WHERE sha256 = ?1 ORDER BY seq DESC";
  if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) != SQLITE_OK) return fail(Errc::io, std::string("xet stats db: ") + sqlite3_errmsg(db));
  sqlite3_bind_text(st, 1, sha256.data(), int(sha256.size()), SQLITE_TRANSIENT);
  std::vector<xet::MerkleHash> out;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    auto p = sqlite3_column_text(st, 0);
    auto h = xet::MerkleHash::from_hex(p ? reinterpret_cast<const char*>(p) : "");
    if (h) out.push_back(*h);
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) return fail(Errc::io, std::string("xet stats db: ") + sqlite3_errmsg(db));
  return out;
}

Result<void> Service::Impl::drop_sha256_candidates(const std::string& sha256, const xet::MerkleHash* file) {
  std::lock_guard lock(db_mu);
  if (file) return exec_bound(db, "DELETE FROM sha256_candidates WHERE sha256 = ?1 AND file_hash = ?2", {sha256, file->hex()}, {});
  return exec_bound(db, "DELETE FROM sha256_candidates WHERE sha256 = ?1", {sha256}, {});
}

Result<void> Service::Impl::add_repo_bytes(const std::string& repo, std::uint64_t stored, std::uint64_t received) {
  if (stored == 0 && received == 0) return {};
  std::lock_guard lock(db_mu);
  return exec_bound(db,
                    "INSERT INTO repo_bytes(repo, stored, received) VALUES(?1, ?2, ?3) ON CONFLICT(repo) DO UPDATE SET "
                    "stored = stored + excluded.stored, received = received + excluded.received",
                    {repo}, {std::int64_t(stored), std::int64_t(received)});
}

Result<std::optional<xet::CasInfo>> Service::Impl::xorb_truth(const xet::MerkleHash& xorb) const {
  if (auto ci = chunks->xorb_info(xorb)) return ci;
  HG_TRY(auto size, objects->size(xet::ObjectKind::xorb, xorb));
  if (!size) return std::optional<xet::CasInfo>{};
  // Stored by POST xorb with our footer: its chunk hashes and unpacked ends.
  if (*size < 96) return fail(Errc::corrupt, "stored xorb " + xorb.hex() + " is too short");
  HG_TRY(auto tail, objects->get_range(xet::ObjectKind::xorb, xorb, *size - 4, 4));
  std::uint32_t info_len;
  std::memcpy(&info_len, tail.data(), 4);
  if (info_len < 92 || info_len > *size - 4) return fail(Errc::corrupt, "stored xorb " + xorb.hex() + " has no footer");
  HG_TRY(auto info, objects->get_range(xet::ObjectKind::xorb, xorb, *size - 4 - info_len, info_len));
  HG_TRY(auto f, xet::parse_xorb_footer(as_bytes(info)));
  if (f.hash != xorb) return fail(Errc::corrupt, "stored xorb " + xorb.hex() + " footer names another hash");
  xet::CasInfo ci;
  ci.xorb_hash = xorb;
  std::uint32_t prev = 0;
  for (std::size_t i = 0; i < f.chunk_hashes.size() && i < f.unpacked_ends.size(); ++i) {
    ci.chunks.push_back({f.chunk_hashes[i], prev, f.unpacked_ends[i] - prev, 0});
    prev = f.unpacked_ends[i];
  }
  ci.unpacked_total = prev;
  return std::optional<xet::CasInfo>(std::move(ci));
}

std::string Service::Impl::xorb_url(const std::string& base, const xet::MerkleHash& xorb, std::uint64_t first,
                                    std::uint64_t last) const {
  std::int64_t exp = std::int64_t(std::time(nullptr)) + opts.url_ttl_s;
  std::string range = std::to_string(first) + "-" + std::to_string(last);
  return (opts.cdn_url.empty() ? base : opts.cdn_url) + "/cas/x/" + xorb.hex() + "?r=" + range + "&x=" + std::to_string(exp) +
         "&s=" + signer.sign("xet-xorb:" + xorb.hex() + ":" + range, exp);
}

Service::Service(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Service::~Service() = default;

Result<std::unique_ptr<Service>> Service::open(ServiceOptions opts, const auth::Signer& signer, repo::Catalog& catalog) {
  if (opts.dir.empty()) return fail(Errc::invalid_argument, "cas: no directory given");
  HG_TRY_VOID(make_dirs(opts.dir + "/tmp"));
  std::shared_ptr<xet::ObjectStore> objects = opts.objects;
  if (!objects) {
    HG_TRY(auto objs, xet::LocalObjectStore::open(opts.dir + "/objects"));
    objects = std::shared_ptr<xet::ObjectStore>(std::move(objs));
  }
  HG_TRY(auto chunks, xet::ChunkStore::open(objects));
  HG_TRY(sqlite3 * db, open_db(opts.dir + "/stats.db", false));
  auto impl = std::unique_ptr<Impl>(new Impl{opts, signer, catalog, objects, std::move(chunks), {}, 0, {}, {}, {}, db, {}, {}, {}});
  auto key = from_hex(auth::random_hex(32));
  if (key && key->size() == 32) std::memcpy(impl->dedup_key.bytes.data(), key->data(), 32);
  impl->dedup_key_expiry = std::int64_t(std::time(nullptr)) + opts.dedup_key_ttl_s;
  return std::unique_ptr<Service>(new Service(std::move(impl)));
}

xet::ChunkStore& Service::chunks() { return *impl_->chunks; }

std::string Service::issue_token(const repo::RepoRecord& repo, bool write, const std::string& commit, std::int64_t* exp_out) const {
  std::int64_t exp = std::int64_t(std::time(nullptr)) + impl_->opts.token_ttl_s;
  if (exp_out) *exp_out = exp;
  std::string body = std::string("xet1.") + (write ? "w" : "r") + "." + std::to_string(repo.key) + "." +
                     (commit.empty() ? std::string("-") : commit) + "." + std::to_string(exp) + "." + hex_encode(repo.id.qualified());
  return body + "." + impl_->signer.sign("xet-token:" + body, exp);
}

Result<XetToken> Service::verify_token(std::string_view token) const { return impl_->verify_token(token); }

std::string Service::issue_remote_token(const std::string& remote_repo, const std::string& commit, std::int64_t* exp_out) const {
  std::int64_t exp = std::int64_t(std::time(nullptr)) + impl_->opts.token_ttl_s;
  if (exp_out) *exp_out = exp;
  std::string body = std::string("xet1.r.0.") + (commit.empty() ? std::string("-") : commit) + "." + std::to_string(exp) + "." +
                     hex_encode("remote:" + remote_repo);
  return body + "." + impl_->signer.sign("xet-token:" + body, exp);
}

void Service::set_remote_file_hook(RemoteFileHook hook) { impl_->remote_file = std::move(hook); }

Result<void> Service::record_cached_file(const std::string& repo, const xet::MerkleHash& file, std::uint64_t size, std::uint64_t stored_bytes,
                                         std::uint64_t xorb_bytes_pulled) {
  HG_TRY_VOID(impl_->add_repo_file("cached:" + repo, file, size));
  return impl_->add_repo_bytes("cached:" + repo, stored_bytes, xorb_bytes_pulled);
}

Result<XetToken> Service::Impl::verify_token(std::string_view token) const {
  auto parts = split_dots(token);
  if (parts.size() != 7 || parts[0] != "xet1" || (parts[1] != "r" && parts[1] != "w"))
    return fail(Errc::unauthenticated, "not a hubgate Xet access token (get one from xet-read-token / xet-write-token)");
  auto key = parse_u64(parts[2]);
  auto exp = parse_u64(parts[4]);
  auto repo = from_hex(parts[5]);
  if (!key || !exp || !repo || (parts[3] != "-" && !is_lower_hex(parts[3], 40)))
    return fail(Errc::unauthenticated, "malformed Xet access token");
  std::string body(token.substr(0, token.size() - parts[6].size() - 1));
  auto ok = signer.verify("xet-token:" + body, std::int64_t(*exp), parts[6], std::int64_t(std::time(nullptr)));
  if (!ok) return fail(Errc::unauthenticated, "Xet access token rejected: " + ok.error().message);
  XetToken t;
  t.write = parts[1] == "w";
  t.repo_key = std::int64_t(*key);
  t.repo.assign(repo->begin(), repo->end());
  if (parts[3] != "-") t.commit = std::string(parts[3]);
  t.exp = std::int64_t(*exp);
  return t;
}

std::optional<xet::FileRecord> Service::file_for_sha256(std::string_view sha256_hex) const {
  if (!is_lower_hex(sha256_hex, 64)) return std::nullopt;
  return impl_->chunks->lookup_sha256(raw_sha(sha256_hex));
}

namespace {

// Streams a file (or in-memory blob) into a chunk-store writer.
Result<xet::FileRecord> ingest_blob(xet::ChunkStore& cs, const store::Blob& blob, xet::IngestStats& st) {
  xet::FileWriter w = cs.ingest();
  if (blob.data) {
    HG_TRY_VOID(w.write(as_bytes(*blob.data)));
    return w.finish(&st);
  }
  int fd = ::open(blob.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(os_error("open", blob.path, errno));
  std::vector<std::uint8_t> buf(8 << 20);
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      ::close(fd);
      return fail(os_error("read", blob.path, e));
    }
    if (n == 0) break;
    if (auto r = w.write(ByteView(buf.data(), std::size_t(n))); !r) {
      ::close(fd);
      return fail(r.error());
    }
  }
  ::close(fd);
  return w.finish(&st);
}

}  // namespace

Result<std::uint64_t> Service::finalize_lfs_object(const std::string& repo, const std::string& sha, store::BlobStore& store,
                                                   std::optional<std::uint64_t> size) {
  if (!is_lower_hex(sha, 64)) return fail(Errc::invalid_argument, "LFS oid must be 64 lowercase hex digits");
  Impl& m = *impl_;
  {  // single flight per object
    std::unique_lock lock(m.flight_mu);
    m.flight_cv.wait(lock, [&] { return m.in_flight.count(sha) == 0; });
    m.in_flight.insert(sha);
  }
  struct Release {
    Impl& m;
    const std::string& sha;
    ~Release() {
      {
        std::lock_guard lock(m.flight_mu);
        m.in_flight.erase(sha);
      }
      m.flight_cv.notify_all();
    }
  } release{m, sha};

  HG_TRY(auto have, store.stat(sha));
  auto rec = m.chunks->lookup_sha256(raw_sha(sha));  // verified links only
  if (have && *have == 0) return std::uint64_t{0};   // empty: no Xet representation
  // Rebuilds `file` into <dir>/tmp while hashing; adopts it into the blob store when its bytes
  // hash to `sha`. Ok(false) when they do not (nothing adopted).
  auto materialize = [&](const xet::FileRecord& file) -> Result<bool> {
    const std::string tmp = m.opts.dir + "/tmp/" + sha;
    HG_TRY(auto out, AtomicFile::create(tmp));
    crypto::Sha256 h;
    std::string buf;
    constexpr std::uint64_t kWindow = 16ull << 20;
    for (std::uint64_t off = 0; off < file.size; off += kWindow) {
      buf.clear();
      HG_TRY_VOID(m.chunks->read(file, off, std::min(kWindow, file.size - off), buf));
      h.update(buf);
      HG_TRY_VOID(out.write(buf));
    }
    auto d = h.final();
    if (to_hex(ByteView(d.data(), 32)) != sha) return false;  // `out` is discarded unpublished
    HG_TRY_VOID(out.commit());
    HG_TRY_VOID(store.adopt(tmp, sha, file.size, store::Verify::no));
    ++m.counters.materialized_files;
    return true;
  };
  if (have && !rec) {
    // LFS basic/multipart upload: give it a Xet representation. The writer computes the
    // sha256 itself and publishes the verified link (shard metadata) with the file.
    HG_TRY(auto blob, store.open(sha));
    xet::IngestStats st;
    HG_TRY(auto r, ingest_blob(*m.chunks, blob, st));
    if (to_hex(ByteView(r.sha256.data(), 32)) != sha)
      return fail(Errc::corrupt, "stored blob " + sha + " does not hash to its name (got " + to_hex(ByteView(r.sha256.data(), 32)) + ")");
    ++m.counters.ingested_files;
    HG_TRY_VOID(m.add_repo_bytes(repo, st.stored_bytes, 0));
    HG_TRY_VOID(m.drop_sha256_candidates(sha, nullptr));
    rec = std::move(r);
  } else if (!have && rec) {
    // Verified Xet file without a blob (e.g. evicted hot copy): materialize it.
    HG_TRY(bool ok, materialize(*rec));
    if (!ok) return fail(Errc::corrupt, "Xet file " + rec->file_hash.hex() + " does not reconstruct to sha256 " + sha);
  } else if (!have && !rec) {
    // Xet upload: only client claims link the oid to a file. Rebuild them, newest first; the
    // first whose bytes hash to the oid becomes the verified link, false ones are dropped.
    HG_TRY(auto cands, m.sha256_candidates(sha));
    if (cands.empty()) return fail(Errc::not_found, "LFS object " + sha + " was never uploaded");
    std::string why;
    for (const auto& fh : cands) {
      auto file = m.chunks->lookup(fh);
      if (!why.empty()) why += "; ";
      if (!file || file->size == 0) {
        why += fh.hex() + " (unknown)";
        HG_TRY_VOID(m.drop_sha256_candidates(sha, &fh));
        continue;
      }
      if (size && file->size != *size) {  // cannot be this commit's object; may be another's
        why += fh.hex() + " (" + std::to_string(file->size) + " bytes)";
        continue;
      }
      auto ok = materialize(*file);
      if (!ok) {  // an I/O error proves nothing about the claim: keep it for a retry
        why += fh.hex() + " (" + ok.error().message + ")";
        continue;
      }
      if (*ok) {
        HG_TRY_VOID(m.chunks->link_sha256(fh, raw_sha(sha)));
        HG_TRY_VOID(m.drop_sha256_candidates(sha, nullptr));
        rec = m.chunks->lookup(fh);
        break;
      }
      why += fh.hex() + " (other content)";
      HG_TRY_VOID(m.drop_sha256_candidates(sha, &fh));
    }
    if (!rec) return fail(Errc::corrupt, "no uploaded Xet file reconstructs to the committed oid " + sha + " (claimed by " + why + ")");
  }
  // The committed bytes are final here (both representations exist). A security gate hooks here.
  HG_TRY_VOID(m.add_repo_file(repo, rec->file_hash, rec->size));
  return rec->size;
}

Result<Stats> Service::stats() const {
  HG_TRY(auto stored, impl_->chunks->stored_bytes());
  std::lock_guard lock(impl_->db_mu);
  return query_stats(impl_->db, stored);
}

Result<Stats> read_stats(const std::string& xet_dir) {
  HG_TRY(auto objs, xet::LocalObjectStore::open(xet_dir + "/objects"));
  std::uint64_t stored = 0;
  for (auto k : {xet::ObjectKind::xorb, xet::ObjectKind::shard}) {
    HG_TRY(auto keys, objs->list(k));
    for (const auto& key : keys) {
      HG_TRY(auto sz, objs->size(k, key));
      stored += sz.value_or(0);
    }
  }
  HG_TRY(sqlite3 * db, open_db(xet_dir + "/stats.db", false));
  auto s = query_stats(db, stored);
  sqlite3_close(db);
  return s;
}

std::string Service::metrics_text() const {
  const Counters& c = impl_->counters;
  std::string t;
  auto line = [&](const std::string& name, const std::string& labels, std::uint64_t v) {
    t += name + (labels.empty() ? "" : "{" + labels + "}") + " " + std::to_string(v) + "\n";
  };
  t += "# TYPE hubgate_xet_reconstructions_total counter\n";
  line("hubgate_xet_reconstructions_total", "version=\"v1\"", c.reconstructions_v1);
  line("hubgate_xet_reconstructions_total", "version=\"v2\"", c.reconstructions_v2);
  line("hubgate_xet_reconstructions_denied_total", "", c.reconstruction_denied);
  line("hubgate_xet_xorb_range_requests_total", "", c.xorb_range_requests);
  line("hubgate_xet_xorb_range_bytes_total", "", c.xorb_range_bytes);
  line("hubgate_xet_xorb_url_rejected_total", "", c.xorb_url_rejected);
  line("hubgate_xet_xorbs_received_total", "", c.xorbs_received);
  line("hubgate_xet_xorb_bytes_received_total", "", c.xorb_bytes_received);
  line("hubgate_xet_xorbs_inserted_total", "", c.xorbs_inserted);
  line("hubgate_xet_xorbs_rejected_total", "", c.xorbs_rejected);
  line("hubgate_xet_shards_accepted_total", "", c.shards_accepted);
  line("hubgate_xet_shards_rejected_total", "", c.shards_rejected);
  line("hubgate_xet_dedup_queries_total", "result=\"hit\"", c.dedup_hits);
  line("hubgate_xet_dedup_queries_total", "result=\"miss\"", c.dedup_misses);
  line("hubgate_xet_ingested_files_total", "", c.ingested_files);
  line("hubgate_xet_materialized_files_total", "", c.materialized_files);
  auto s = stats();
  if (s) {
    line("hubgate_xet_files", "", s->files);
    line("hubgate_xet_logical_bytes", "", s->logical_bytes);
    line("hubgate_xet_stored_bytes", "", s->stored_bytes);
    char ratio[64];
    std::snprintf(ratio, sizeof ratio, "%.4f", s->stored_bytes ? double(s->logical_bytes) / double(s->stored_bytes) : 0.0);
    t += std::string("hubgate_xet_dedup_ratio ") + ratio + "\n";
    for (const auto& r : s->repos) {
      std::string l = "repo=\"" + r.repo + "\"";  // repository ids contain no quotes or backslashes
      line("hubgate_xet_repo_files", l, r.files);
      line("hubgate_xet_repo_logical_bytes", l, r.logical_bytes);
      line("hubgate_xet_repo_stored_bytes", l, r.stored_bytes);
      line("hubgate_xet_repo_xorb_bytes_received", l, r.xorb_bytes_received);
      std::snprintf(ratio, sizeof ratio, "%.4f", r.stored_bytes ? double(r.logical_bytes) / double(r.stored_bytes) : 0.0);
      t += "hubgate_xet_repo_dedup_ratio{" + l + "} " + ratio + "\n";
    }
  }
  return t;
}

http::Response cas_error(int status, std::string msg) {
  std::string safe = msg;
  for (auto& ch : safe)
    if (static_cast<unsigned char>(ch) < 0x20 || static_cast<unsigned char>(ch) >= 0x7f) ch = ' ';
  if (safe.size() > 1000) safe.resize(1000);
  auto r = http::json_response(status, json({{"error", msg}}).dump(-1, ' ', false, json::error_handler_t::replace));
  r.headers.set("X-Error-Message", safe);
  return r;
}

http::Response cas_json(int status, const json& j) {
  return http::json_response(status, j.dump(-1, ' ', false, json::error_handler_t::replace));
}

}  // namespace hubgate::cas
