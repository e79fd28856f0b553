// The audit log on SQLite (schema in audit.hpp). Appends are single INSERTs on one connection
// guarded by a mutex; queries run on the same connection. The repository filter is a glob, so
// the connection registers `hg_glob(pattern, s)` (util/glob.hpp) and the whole filter runs in
// SQL, which keeps `limit` exact. A busy timeout lets a reader process (`hubgate audit`) and the
// server share the file.
#include "audit/audit.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <mutex>
#include <nlohmann/json.hpp>

#include "audit/pg_log.hpp"
#include "util/glob.hpp"
#include "util/parse.hpp"

namespace hubgate::audit {

namespace {

constexpr std::size_t kMaxField = 64 * 1024;
constexpr std::size_t kMaxLimit = 1000000;

constexpr const char* kSchema = R"sql(
PRAGMA journal_mode=WAL;
PRAGMA synchronous=NORMAL;
CREATE TABLE IF NOT EXISTS audit(id INTEGER PRIMARY KEY AUTOINCREMENT, time_ms INT NOT NULL,
  repo TEXT NOT NULL, revision TEXT NOT NULL, path TEXT NOT NULL, sha256 TEXT NOT NULL,
  client TEXT NOT NULL, remote TEXT NOT NULL, kind TEXT NOT NULL, decision TEXT NOT NULL,
  reason TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS audit_repo_time ON audit(repo, time_ms);
CREATE INDEX IF NOT EXISTS audit_time ON audit(time_ms);
)sql";

void glob_fn(sqlite3_context* ctx, int, sqlite3_value** argv) {
  auto text = [](sqlite3_value* v) {
    const auto* p = sqlite3_value_text(v);
    return p ? std::string_view(reinterpret_cast<const char*>(p), std::size_t(sqlite3_value_bytes(v)))
             : std::string_view();
  };
  sqlite3_result_int(ctx, glob_match(text(argv[0]), text(argv[1])) ? 1 : 0);
}

std::string cut(std::string s) {
  if (s.size() > kMaxField) s.resize(kMaxField);
  return s;
}

// Days since 1970-01-01 for a civil date (proleptic Gregorian; Howard Hinnant's algorithm).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

std::optional<unsigned> digits(std::string_view s, std::size_t pos, std::size_t n) {
  if (pos + n > s.size()) return std::nullopt;
  auto v = parse_u64(s.substr(pos, n));
  if (!v) return std::nullopt;
  return static_cast<unsigned>(*v);
}

}  // namespace

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::scan: return "scan";
    case Kind::block: return "block";
    case Kind::exception: return "exception";
    case Kind::warn: return "warn";
    case Kind::signature: return "signature";
    case Kind::repo: return "repo";
  }
  return "scan";
}

std::optional<Kind> kind_from_name(std::string_view s) {
  for (Kind k : {Kind::scan, Kind::block, Kind::exception, Kind::warn, Kind::signature, Kind::repo}) {
    if (s == kind_name(k)) return k;
  }
  return std::nullopt;
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string format_time(std::int64_t time_ms) {
  std::time_t secs = static_cast<std::time_t>(time_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(time_ms % 1000));
  return buf;
}

Result<std::int64_t> parse_time(std::string_view s, std::int64_t now) {
  auto bad = [&] {
    return fail(Errc::invalid_argument, "time '" + std::string(s.substr(0, 64)) +
                                            "': expected unix seconds, YYYY-MM-DD[THH:MM:SS[.mmm]Z] or a duration "
                                            "like 30s, 15m, 2h, 7d");
  };
  if (s.empty() || s.size() > 40) return bad();
  if (auto v = parse_u64(s)) {
    if (*v > 100000000000ull) return bad();  // beyond year 5138: not seconds
    return static_cast<std::int64_t>(*v) * 1000;
  }
  char unit = s.back();
  if (unit == 's' || unit == 'm' || unit == 'h' || unit == 'd') {
    auto n = parse_u64(s.substr(0, s.size() - 1));
    if (!n || *n > 100000000ull) return bad();
    std::int64_t mult = unit == 's' ? 1000 : unit == 'm' ? 60000 : unit == 'h' ? 3600000 : 86400000;
    return now - static_cast<std::int64_t>(*n) * mult;
  }
  auto y = digits(s, 0, 4);
  auto mo = digits(s, 5, 2);
  auto d = digits(s, 8, 2);
  if (!y || !mo || !d || s[4] != '-' || s[7] != '-' || *mo < 1 || *mo > 12 || *d < 1 || *d > 31) return bad();
  std::int64_t ms = days_from_civil(*y, *mo, *d) * 86400000;
  if (s.size() == 10) return ms;
  if (s[10] != 'T' && s[10] != ' ') return bad();
  auto hh = digits(s, 11, 2);
  auto mi = digits(s, 14, 2);
  auto ss = digits(s, 17, 2);
  if (!hh || !mi || !ss || s[13] != ':' || s[16] != ':' || *hh > 23 || *mi > 59 || *ss > 60) return bad();
  ms += (*hh * 3600 + *mi * 60 + *ss) * 1000ll;
  std::size_t pos = 19;
  if (pos < s.size() && s[pos] == '.') {
    std::size_t start = ++pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
    if (pos == start) return bad();
    std::string frac(s.substr(start, std::min<std::size_t>(3, pos - start)));
    while (frac.size() < 3) frac += '0';
    ms += *parse_u64(frac);
  }
  if (pos != s.size() - 1 || s[pos] != 'Z') return bad();
  return ms;
}

namespace detail {

Record record_from_text(const std::function<std::string(int)>& text) {
  Record r;
  r.id = std::stoll(text(0));
  r.time_ms = std::stoll(text(1));
  r.repo = text(2);
  r.revision = text(3);
  r.path = text(4);
  r.sha256 = text(5);
  r.client = text(6);
  r.remote = text(7);
  r.kind = kind_from_name(text(8)).value_or(Kind::scan);
  r.decision = text(9);
  r.reason = text(10);
  return r;
}

}  // namespace detail

struct Log::Impl {
  sqlite3* db = nullptr;
  std::shared_ptr<db::Pool> pool;  // PostgreSQL instead of `db` (cluster mode)
  mutable std::mutex mu;
  ~Impl() {
    if (db) sqlite3_close(db);
  }
  Error db_error(std::string_view what) const {
    return Error(Errc::io, "audit log: " + std::string(what) + ": " + sqlite3_errmsg(db));
  }
};

Log::Log(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Log::~Log() = default;

Result<std::unique_ptr<Log>> Log::open(const std::string& path) {
  auto impl = std::make_unique<Impl>();
  int rc = sqlite3_open_v2(path.c_str(), &impl->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = impl->db ? sqlite3_errmsg(impl->db) : "out of memory";
    return fail(Errc::io, "audit log: open " + path + ": " + msg);
  }
  sqlite3_busy_timeout(impl->db, 5000);
  char* err = nullptr;
  if (sqlite3_exec(impl->db, kSchema, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    return fail(Errc::io, "audit log: schema of " + path + ": " + msg);
  }
  if (sqlite3_create_function(impl->db, "hg_glob", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC, nullptr, glob_fn, nullptr,
                              nullptr) != SQLITE_OK) {
    return fail(impl->db_error("register hg_glob"));
  }
  return std::unique_ptr<Log>(new Log(std::move(impl)));
}

Result<std::unique_ptr<Log>> Log::open_pg(std::shared_ptr<db::Pool> pool) {
  auto impl = std::make_unique<Impl>();
  impl->pool = std::move(pool);
  return std::unique_ptr<Log>(new Log(std::move(impl)));
}

Result<std::int64_t> Log::append(Record r) {
  if (r.time_ms == 0) r.time_ms = now_ms();
  if (impl_->pool) {
    for (auto* f : {&r.repo, &r.revision, &r.path, &r.sha256, &r.client, &r.remote, &r.decision, &r.reason})
      *f = cut(std::move(*f));
    return detail::pg_append(*impl_->pool, r);
  }
  std::lock_guard lock(impl_->mu);
  sqlite3_stmt* st = nullptr;
  const char* sql =
      "INSERT INTO audit(time_ms, repo, revision, path, sha256, client, remote, kind, decision, reason) "
      "VALUES(?,?,?,?,?,?,?,?,?,?)";
  if (sqlite3_prepare_v2(impl_->db, sql, -1, &st, nullptr) != SQLITE_OK) return fail(impl_->db_error("prepare"));
  std::string fields[] = {cut(r.repo), cut(r.revision), cut(r.path),  cut(r.sha256),    cut(r.client),
                          cut(r.remote), kind_name(r.kind), cut(r.decision), cut(r.reason)};
  sqlite3_bind_int64(st, 1, r.time_ms);
  for (int i = 0; i < 9; ++i) sqlite3_bind_text(st, i + 2, fields[i].data(), int(fields[i].size()), SQLITE_TRANSIENT);
  int rc = sqlite3_step(st);
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) return fail(impl_->db_error("append"));
  return sqlite3_last_insert_rowid(impl_->db);
}

Result<std::vector<Record>> Log::query(const Filter& f) const {
  if (impl_->pool) return detail::pg_query(*impl_->pool, f, std::min(f.limit, kMaxLimit));
  std::lock_guard lock(impl_->mu);
  std::string sql =
      "SELECT id, time_ms, repo, revision, path, sha256, client, remote, kind, decision, reason FROM audit WHERE "
      "(?1 = '' OR hg_glob(?1, repo)) AND time_ms >= ?2 AND (?3 = 0 OR time_ms < ?3) AND (?4 = '' OR kind = ?4) "
      "AND (?5 = '' OR sha256 = ?5) AND (?6 = '' OR path = ?6) ORDER BY id ";
  sql += f.tail ? "DESC" : "ASC";
  sql += " LIMIT ?7";
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(impl_->db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) return fail(impl_->db_error("prepare"));
  std::string kind = f.kind ? kind_name(*f.kind) : "";
  sqlite3_bind_text(st, 1, f.repo.data(), int(f.repo.size()), SQLITE_TRANSIENT);
  sqlite3_bind_int64(st, 2, f.since_ms);
  sqlite3_bind_int64(st, 3, f.until_ms);
  sqlite3_bind_text(st, 4, kind.data(), int(kind.size()), SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 5, f.sha256.data(), int(f.sha256.size()), SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 6, f.path.data(), int(f.path.size()), SQLITE_TRANSIENT);
  sqlite3_bind_int64(st, 7, static_cast<std::int64_t>(std::min(f.limit, kMaxLimit)));
  auto text = [&](int i) {
    const auto* p = sqlite3_column_text(st, i);
    return p ? std::string(reinterpret_cast<const char*>(p), std::size_t(sqlite3_column_bytes(st, i))) : std::string();
  };
  std::vector<Record> out;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) out.push_back(detail::record_from_text(text));
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) return fail(impl_->db_error("query"));
  if (f.tail) std::reverse(out.begin(), out.end());
  return out;
}

std::string to_json(const std::vector<Record>& records) {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& r : records) {
    arr.push_back({{"id", r.id},
                   {"time", format_time(r.time_ms)},
                   {"timeMs", r.time_ms},
                   {"repo", r.repo},
                   {"revision", r.revision},
                   {"path", r.path},
                   {"sha256", r.sha256},
                   {"client", r.client},
                   {"remote", r.remote},
                   {"kind", kind_name(r.kind)},
                   {"decision", r.decision},
                   {"reason", r.reason}});
  }
  return arr.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string to_text(const std::vector<Record>& records) {
  // Tabs and line breaks inside fields would forge columns or records: shown as spaces.
  auto clean = [](std::string s) {
    for (char& ch : s) {
      if (ch == '\t' || ch == '\n' || ch == '\r') ch = ' ';
    }
    return s;
  };
  std::string out;
  for (const auto& r : records) {
    out += format_time(r.time_ms) + "\t" + kind_name(r.kind) + "\t" + clean(r.decision) + "\t" + clean(r.repo) + "\t" +
           clean(r.revision) + "\t" + clean(r.path) + "\t" + clean(r.sha256) + "\t" + clean(r.client) + "\t" +
           clean(r.remote) + "\t" + clean(r.reason) + "\n";
  }
  return out;
}

}  // namespace hubgate::audit
