// Verdict store on SQLite. Schema (version 1), in `<data>/gate.db`:
//   verdicts(key TEXT, version INT, sha256 TEXT, severity INT, unscanned INT, format TEXT,
//            rule TEXT, member TEXT, subject TEXT, message TEXT, status_json TEXT, scanned_ms INT,
//            PRIMARY KEY(key, version))
// `severity` is scan::Severity's persisted value (do not renumber). Rows of older scanner
// versions stay (history) and are simply not read by a newer scanner.
#include <sqlite3.h>

#include <functional>

#include "db/pool.hpp"
#include "gate/gate.hpp"

namespace hubgate::gate {

namespace {
constexpr const char* kSchema = R"sql(
PRAGMA journal_mode=WAL;
PRAGMA synchronous=NORMAL;
CREATE TABLE IF NOT EXISTS verdicts(key TEXT NOT NULL, version INT NOT NULL, sha256 TEXT NOT NULL,
  severity INT NOT NULL, unscanned INT NOT NULL, format TEXT NOT NULL, rule TEXT NOT NULL,
  member TEXT NOT NULL, subject TEXT NOT NULL, message TEXT NOT NULL, status_json TEXT NOT NULL,
  scanned_ms INT NOT NULL, PRIMARY KEY(key, version));
)sql";
}  // namespace

struct VerdictStore::Impl {
  sqlite3* db = nullptr;
  std::shared_ptr<db::Pool> pool;  // PostgreSQL instead of `db` (cluster mode; db migration 13)
  mutable std::mutex mu;
  ~Impl() {
    if (db) sqlite3_close(db);
  }
  Error db_error(std::string_view what) const {
    return Error(Errc::io, "verdict store: " + std::string(what) + ": " + sqlite3_errmsg(db));
  }
};

VerdictStore::VerdictStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
VerdictStore::~VerdictStore() = default;

Result<std::unique_ptr<VerdictStore>> VerdictStore::open(const std::string& path) {
  auto impl = std::make_unique<Impl>();
  int rc = sqlite3_open_v2(path.c_str(), &impl->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = impl->db ? sqlite3_errmsg(impl->db) : "out of memory";
    return fail(Errc::io, "verdict store: open " + path + ": " + msg);
  }
  sqlite3_busy_timeout(impl->db, 5000);
  char* err = nullptr;
  if (sqlite3_exec(impl->db, kSchema, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    return fail(Errc::io, "verdict store: schema of " + path + ": " + msg);
  }
  return std::unique_ptr<VerdictStore>(new VerdictStore(std::move(impl)));
}

Result<std::unique_ptr<VerdictStore>> VerdictStore::open_pg(std::shared_ptr<db::Pool> pool) {
  auto impl = std::make_unique<Impl>();
  impl->pool = std::move(pool);
  return std::unique_ptr<VerdictStore>(new VerdictStore(std::move(impl)));
}

namespace {

// The columns of kColumns as text (both stores read through it).
Verdict verdict_from_text(const std::function<std::string(int)>& text, int scanner_version) {
  Verdict v;
  v.sha256 = text(0);
  v.scanner_version = scanner_version;
  auto sev = std::stoll(text(1));
  v.severity = sev <= 0 ? scan::Severity::safe : sev == 1 ? scan::Severity::suspicious : scan::Severity::dangerous;
  v.unscanned = text(2) != "0";
  v.format = text(3);
  v.rule = text(4);
  v.member = text(5);
  v.subject = text(6);
  v.message = text(7);
  v.status_json = text(8);
  v.scanned_ms = std::stoll(text(9));
  return v;
}

constexpr const char* kColumns = "sha256, severity, unscanned, format, rule, member, subject, message, status_json, scanned_ms";

Result<std::optional<Verdict>> pg_get(db::Pool& pool, std::string_view key, int scanner_version) {
  HG_TRY(auto c, pool.acquire());
  auto rows = c->query(std::string("SELECT ") + kColumns + " FROM verdicts WHERE key=$1 AND version=$2",
                       {std::string(key), std::to_string(scanner_version)});
  if (!rows) return fail(db::sql_error(rows.error()).context("verdict store: get"));
  if (rows->empty()) return std::optional<Verdict>{};
  const auto& r = rows->front();
  return std::optional<Verdict>(
      verdict_from_text([&](int i) { return r.at(std::size_t(i)).value_or(""); }, scanner_version));
}

// Free-text fields are cut (they echo hostile input); status_json is kept whole (valid JSON).
std::string cut(const std::string& s) { return s.substr(0, 64 * 1024); }

Result<void> pg_put(db::Pool& pool, std::string_view key, const Verdict& v) {
  HG_TRY(auto c, pool.acquire());
  auto r = c->query(std::string("INSERT INTO verdicts (key, version, ") + kColumns +
                        ") VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12) ON CONFLICT (key, version) DO UPDATE SET "
                        "sha256=EXCLUDED.sha256, severity=EXCLUDED.severity, unscanned=EXCLUDED.unscanned, "
                        "format=EXCLUDED.format, rule=EXCLUDED.rule, member=EXCLUDED.member, subject=EXCLUDED.subject, "
                        "message=EXCLUDED.message, status_json=EXCLUDED.status_json, scanned_ms=EXCLUDED.scanned_ms",
                    {std::string(key), std::to_string(v.scanner_version), v.sha256,
                     std::to_string(static_cast<int>(v.severity)), v.unscanned ? "1" : "0", cut(v.format), cut(v.rule),
                     cut(v.member), cut(v.subject), cut(v.message), v.status_json, std::to_string(v.scanned_ms)});
  if (!r) return fail(db::sql_error(r.error()).context("verdict store: put"));
  return {};
}

}  // namespace

Result<std::optional<Verdict>> VerdictStore::get(std::string_view key, int scanner_version) const {
  if (impl_->pool) return pg_get(*impl_->pool, key, scanner_version);
  std::lock_guard lock(impl_->mu);
  sqlite3_stmt* st = nullptr;
  const char* sql =
      "SELECT sha256, severity, unscanned, format, rule, member, subject, message, status_json, scanned_ms "
      "FROM verdicts WHERE key = ? AND version = ?";
  if (sqlite3_prepare_v2(impl_->db, sql, -1, &st, nullptr) != SQLITE_OK) return fail(impl_->db_error("prepare"));
  sqlite3_bind_text(st, 1, key.data(), int(key.size()), SQLITE_TRANSIENT);
  sqlite3_bind_int(st, 2, scanner_version);
  auto text = [&](int i) {
    const auto* p = sqlite3_column_text(st, i);
    return p ? std::string(reinterpret_cast<const char*>(p), std::size_t(sqlite3_column_bytes(st, i))) : std::string();
  };
  std::optional<Verdict> out;
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) out = verdict_from_text(text, scanner_version);
  sqlite3_finalize(st);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return fail(impl_->db_error("get"));
  return out;
}

Result<void> VerdictStore::put(std::string_view key, const Verdict& v) {
  if (impl_->pool) return pg_put(*impl_->pool, key, v);
  std::lock_guard lock(impl_->mu);
  sqlite3_stmt* st = nullptr;
  const char* sql =
      "INSERT OR REPLACE INTO verdicts(key, version, sha256, severity, unscanned, format, rule, member, subject, "
      "message, status_json, scanned_ms) VALUES(?,?,?,?,?,?,?,?,?,?,?,?)";
  if (sqlite3_prepare_v2(impl_->db, sql, -1, &st, nullptr) != SQLITE_OK) return fail(impl_->db_error("prepare"));
  sqlite3_bind_text(st, 1, key.data(), int(key.size()), SQLITE_TRANSIENT);
  sqlite3_bind_int(st, 2, v.scanner_version);
  sqlite3_bind_text(st, 3, v.sha256.data(), int(v.sha256.size()), SQLITE_TRANSIENT);
  sqlite3_bind_int(st, 4, static_cast<int>(v.severity));
  sqlite3_bind_int(st, 5, v.unscanned ? 1 : 0);
  const std::string* texts[] = {&v.format, &v.rule, &v.member, &v.subject, &v.message, &v.status_json};
  for (int i = 0; i < 6; ++i) {
    std::string t = i == 5 ? *texts[i] : cut(*texts[i]);
    sqlite3_bind_text(st, 6 + i, t.data(), int(t.size()), SQLITE_TRANSIENT);
  }
  sqlite3_bind_int64(st, 12, v.scanned_ms);
  int rc = sqlite3_step(st);
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) return fail(impl_->db_error("put"));
  return {};
}

}  // namespace hubgate::gate
