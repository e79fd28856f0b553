// Token storage and checks, glob matching (iterative with backtracking to the last '*'), and
// HMAC URL signatures. Verified tokens are cached in memory by hash; unknown hashes always go
// to the database so tokens created by `hubgate token create` while serving are seen at once.
#include "auth/auth.hpp"

#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <ctime>

#include "crypto/sha.hpp"
#include "db/pool.hpp"
#include "util/atomic_file.hpp"
#include "util/hex.hpp"

namespace hubgate::auth {

std::vector<std::string> split_patterns(std::string_view repos) {
  std::vector<std::string> out;
  while (!repos.empty()) {
    auto comma = repos.find(',');
    std::string_view item = repos.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) out.emplace_back(item);
    repos = comma == std::string_view::npos ? std::string_view{} : repos.substr(comma + 1);
  }
  return out;
}

namespace {
bool matches(const Token& t, std::string_view repo) {
  if (t.patterns.empty()) return true;
  for (const auto& p : t.patterns)
    if (glob_match(p, repo)) return true;
  return false;
}
}  // namespace

bool can_read(const Token* token, std::string_view repo, bool is_private) {
  if (!is_private) return true;
  return token && matches(*token, repo);
}

bool can_write(const Token* token, std::string_view repo) { return token && token->write && matches(*token, repo); }

std::string random_hex(std::size_t bytes) {
  std::string raw(bytes, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), int(bytes));
  return to_hex(raw);
}

// ---- TokenStore ---------------------------------------------------------------------------

struct TokenStore::Impl {
  sqlite3* db = nullptr;
  std::shared_ptr<db::Pool> pool;  // PostgreSQL instead of `db` (cluster mode)
  std::mutex mu;
  std::unordered_map<std::string, Token> cache;
  ~Impl() { sqlite3_close(db); }
};

TokenStore::TokenStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TokenStore::~TokenStore() = default;

Result<std::unique_ptr<TokenStore>> TokenStore::open(const std::string& path) {
  auto impl = std::make_unique<Impl>();
  if (sqlite3_open_v2(path.c_str(), &impl->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) != SQLITE_OK) {
    return fail(Errc::io, "open token database " + path + ": " + (impl->db ? sqlite3_errmsg(impl->db) : "?"));
  }
  sqlite3_busy_timeout(impl->db, 10000);
  const char* schema =
      "PRAGMA journal_mode=WAL;"
      "CREATE TABLE IF NOT EXISTS tokens(hash TEXT PRIMARY KEY, name TEXT NOT NULL, write INT NOT NULL,"
      " repos TEXT NOT NULL, created INT NOT NULL);"
      "CREATE TABLE IF NOT EXISTS s3_keys(access_key TEXT PRIMARY KEY, secret TEXT NOT NULL, name TEXT NOT NULL,"
      " write INT NOT NULL, repos TEXT NOT NULL, created INT NOT NULL);";
  if (sqlite3_exec(impl->db, schema, nullptr, nullptr, nullptr) != SQLITE_OK) {
    return fail(Errc::io, "initialise token database " + path + ": " + sqlite3_errmsg(impl->db));
  }
  ::chmod(path.c_str(), 0600);
  return std::unique_ptr<TokenStore>(new TokenStore(std::move(impl)));
}

Result<std::unique_ptr<TokenStore>> TokenStore::open_pg(std::shared_ptr<db::Pool> pool) {
  auto impl = std::make_unique<Impl>();
  impl->pool = std::move(pool);
  return std::unique_ptr<TokenStore>(new TokenStore(std::move(impl)));
}

Result<std::string> TokenStore::create(std::string_view name, bool write, std::string_view repos) {
  if (name.empty() || name.size() > 100) return fail(Errc::invalid_argument, "token name must be 1..100 characters");
  // "hf_" prefix: @huggingface/hub refuses any token not starting with "hf_" before sending it.
  std::string token = "hf_hg_" + random_hex(20);
  std::string hash = crypto::sha256_hex(token);
  if (impl_->pool) {
    auto c = impl_->pool->acquire();
    if (!c) return fail(c.error());
    auto r = (*c)->query("INSERT INTO tokens (hash, name, write, repos, created) VALUES ($1,$2,$3,$4,$5)",
                         {hash, std::string(name), write ? "1" : "0", std::string(repos),
                          std::to_string(std::int64_t(std::time(nullptr)))});
    if (!r) return fail(db::sql_error(r.error()).context("store token"));
    return token;
  }
  std::lock_guard lk(impl_->mu);
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(impl_->db, "INSERT INTO tokens VALUES(?,?,?,?,?)", -1, &s, nullptr);
  sqlite3_bind_text(s, 1, hash.data(), int(hash.size()), SQLITE_TRANSIENT);
  sqlite3_bind_text(s, 2, name.data(), int(name.size()), SQLITE_TRANSIENT);
  sqlite3_bind_int(s, 3, write ? 1 : 0);
  sqlite3_bind_text(s, 4, repos.data(), int(repos.size()), SQLITE_TRANSIENT);
  sqlite3_bind_int64(s, 5, std::int64_t(std::time(nullptr)));
  int rc = sqlite3_step(s);
  sqlite3_finalize(s);
  if (rc != SQLITE_DONE) return fail(Errc::io, std::string("store token: ") + sqlite3_errmsg(impl_->db));
  return token;
}

Result<std::optional<Token>> TokenStore::verify(std::string_view token) {
  if (token.size() > 200) return std::optional<Token>{};
  std::string hash = crypto::sha256_hex(token);
  std::lock_guard lk(impl_->mu);
  if (auto it = impl_->cache.find(hash); it != impl_->cache.end()) return std::optional<Token>(it->second);
  if (impl_->pool) {
    auto c = impl_->pool->acquire();
    if (!c) return fail(c.error());
    auto rows = (*c)->query("SELECT name, write, repos FROM tokens WHERE hash=$1", {hash});
    if (!rows) return fail(db::sql_error(rows.error()).context("read token"));
    if (rows->empty()) return std::optional<Token>{};
    Token t;
    t.name = (*rows)[0][0].value_or("");
    t.write = (*rows)[0][1].value_or("0") != "0";
    t.patterns = split_patterns((*rows)[0][2].value_or(""));
    impl_->cache.emplace(hash, t);
    return std::optional<Token>(std::move(t));
  }
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(impl_->db, "SELECT name, write, repos FROM tokens WHERE hash=?", -1, &s, nullptr);
  sqlite3_bind_text(s, 1, hash.data(), int(hash.size()), SQLITE_TRANSIENT);
  int rc = sqlite3_step(s);
  std::optional<Token> out;
  if (rc == SQLITE_ROW) {
    Token t;
    t.name = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
    t.write = sqlite3_column_int(s, 1) != 0;
    t.patterns = split_patterns(reinterpret_cast<const char*>(sqlite3_column_text(s, 2)));
    out = t;
    impl_->cache.emplace(hash, std::move(t));
  }
  sqlite3_finalize(s);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return fail(Errc::io, std::string("read token: ") + sqlite3_errmsg(impl_->db));
  return out;
}

Result<TokenStore::S3Key> TokenStore::create_s3_key(std::string_view name, bool write, std::string_view repos) {
  if (name.empty() || name.size() > 100) return fail(Errc::invalid_argument, "token name must be 1..100 characters");
  S3Key k;
  k.access_key = "HGAK" + random_hex(8);
  for (auto& ch : k.access_key)
    if (ch >= 'a' && ch <= 'f') ch = char(ch - 'a' + 'A');
  k.secret = random_hex(20);
  k.token = Token{std::string(name), write, split_patterns(repos)};
  if (impl_->pool) {
    auto c = impl_->pool->acquire();
    if (!c) return fail(c.error());
    auto r = (*c)->query("INSERT INTO s3_keys (access_key, secret, name, write, repos, created) VALUES ($1,$2,$3,$4,$5,$6)",
                         {k.access_key, k.secret, std::string(name), write ? "1" : "0", std::string(repos),
                          std::to_string(std::int64_t(std::time(nullptr)))});
    if (!r) return fail(db::sql_error(r.error()).context("store S3 key"));
    return k;
  }
  std::lock_guard lk(impl_->mu);
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(impl_->db, "INSERT INTO s3_keys VALUES(?,?,?,?,?,?)", -1, &s, nullptr);
  sqlite3_bind_text(s, 1, k.access_key.data(), int(k.access_key.size()), SQLITE_TRANSIENT);
  sqlite3_bind_text(s, 2, k.secret.data(), int(k.secret.size()), SQLITE_TRANSIENT);
  sqlite3_bind_text(s, 3, name.data(), int(name.size()), SQLITE_TRANSIENT);
  sqlite3_bind_int(s, 4, write ? 1 : 0);
  sqlite3_bind_text(s, 5, repos.data(), int(repos.size()), SQLITE_TRANSIENT);
  sqlite3_bind_int64(s, 6, std::int64_t(std::time(nullptr)));
  int rc = sqlite3_step(s);
  sqlite3_finalize(s);
  if (rc != SQLITE_DONE) return fail(Errc::io, std::string("store S3 key: ") + sqlite3_errmsg(impl_->db));
  return k;
}

Result<std::optional<TokenStore::S3Key>> TokenStore::find_s3_key(std::string_view access_key) {
  if (access_key.size() > 128) return std::optional<S3Key>{};
  if (impl_->pool) {
    auto c = impl_->pool->acquire();
    if (!c) return fail(c.error());
    auto rows = (*c)->query("SELECT secret, name, write, repos FROM s3_keys WHERE access_key=$1", {std::string(access_key)});
    if (!rows) return fail(db::sql_error(rows.error()).context("read S3 key"));
    if (rows->empty()) return std::optional<S3Key>{};
    S3Key k;
    k.access_key = access_key;
    k.secret = (*rows)[0][0].value_or("");
    k.token.name = (*rows)[0][1].value_or("");
    k.token.write = (*rows)[0][2].value_or("0") != "0";
    k.token.patterns = split_patterns((*rows)[0][3].value_or(""));
    return std::optional<S3Key>(std::move(k));
  }
  std::lock_guard lk(impl_->mu);
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(impl_->db, "SELECT secret, name, write, repos FROM s3_keys WHERE access_key=?", -1, &s, nullptr);
  sqlite3_bind_text(s, 1, access_key.data(), int(access_key.size()), SQLITE_TRANSIENT);
  int rc = sqlite3_step(s);
  std::optional<S3Key> out;
  if (rc == SQLITE_ROW) {
    S3Key k;
    k.access_key = access_key;
    k.secret = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
    k.token.name = reinterpret_cast<const char*>(sqlite3_column_text(s, 1));
    k.token.write = sqlite3_column_int(s, 2) != 0;
    k.token.patterns = split_patterns(reinterpret_cast<const char*>(sqlite3_column_text(s, 3)));
    out = std::move(k);
  }
  sqlite3_finalize(s);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return fail(Errc::io, std::string("read S3 key: ") + sqlite3_errmsg(impl_->db));
  return out;
}

// ---- Signer -------------------------------------------------------------------------------

Result<Signer> Signer::load_or_create(const std::string& path) {
  if (auto s = read_file(path); s && s->size() >= 32) return Signer(*s);
  std::string secret = random_hex(32);
  HG_TRY_VOID(write_file_atomic(path, secret));
  ::chmod(path.c_str(), 0600);
  HG_TRY(auto back, read_file(path));
  return Signer(back);
}

std::string Signer::sign(std::string_view payload, std::int64_t expires) const {
  std::string msg = std::string(payload) + "|" + std::to_string(expires);
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret_.data(), int(secret_.size()), reinterpret_cast<const unsigned char*>(msg.data()),
       msg.size(), out, &len);
  return to_hex(std::string_view(reinterpret_cast<const char*>(out), len));
}

Result<void> Signer::verify(std::string_view payload, std::int64_t expires, std::string_view sig, std::int64_t now) const {
  std::string want = sign(payload, expires);
  if (sig.size() != want.size() || CRYPTO_memcmp(sig.data(), want.data(), want.size()) != 0) {
    return fail(Errc::permission_denied, "invalid signature");
  }
  if (now >= expires) return fail(Errc::permission_denied, "signed URL expired");
  return {};
}

}  // namespace hubgate::auth
