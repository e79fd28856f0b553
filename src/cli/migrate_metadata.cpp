// SQLite databases of a data directory -> the PostgreSQL schema of cluster mode. Each table is
// read whole with sqlite3 (values as text) and written in one transaction with
// INSERT … ON CONFLICT DO NOTHING, so a second run (or a run after an interruption) adds only
// what is missing. The catalog is opened with repo::open_sqlite_catalog first, which brings an
// old meta.db to the current SQLite schema.
#include <sqlite3.h>

#include <filesystem>
#include <map>

#include "cli/migrate.hpp"
#include "repo/catalog.hpp"

namespace hubgate::cli {

namespace {

using Rows = std::vector<std::vector<std::string>>;

struct Sqlite {
  sqlite3* db = nullptr;
  ~Sqlite() { sqlite3_close(db); }
};

Result<Rows> read_rows(const std::string& path, const std::string& sql) {
  Sqlite s;
  if (sqlite3_open_v2(path.c_str(), &s.db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK)
    return fail(Errc::io, "open " + path + ": " + (s.db ? sqlite3_errmsg(s.db) : "?"));
  sqlite3_busy_timeout(s.db, 10000);
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(s.db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK)
    return fail(Errc::io, path + ": " + sqlite3_errmsg(s.db));
  Rows out;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    std::vector<std::string> row;
    for (int i = 0; i < sqlite3_column_count(st); ++i) {
      const auto* p = sqlite3_column_text(st, i);
      row.emplace_back(p ? std::string(reinterpret_cast<const char*>(p), std::size_t(sqlite3_column_bytes(st, i)))
                         : std::string());
    }
    out.push_back(std::move(row));
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) return fail(Errc::io, path + ": " + sqlite3_errmsg(s.db));
  return out;
}

// Rows of a table whose first column is the SQLite repository key, rewritten to PostgreSQL's.
Rows rekeyed(Rows rows, const std::map<std::string, std::string>& keys, std::size_t column = 0) {
  Rows out;
  for (auto& r : rows) {
    auto it = keys.find(r.at(column));
    if (it == keys.end()) continue;  // a row of a repository that no longer exists
    r[column] = it->second;
    out.push_back(std::move(r));
  }
  return out;
}

Result<std::map<std::string, std::string>> copy_repos(db::Connection& c, const std::string& meta) {
  HG_TRY(auto repos, read_rows(meta, "SELECT key, type, ns, name, private, created, gated, downloads, likes FROM repos"));
  std::map<std::string, std::string> keys;  // SQLite key -> PostgreSQL key
  for (const auto& r : repos) {
    HG_TRY(auto got, c.query("INSERT INTO repos (type, ns, name, private, created, gated, downloads, likes) "
                             "VALUES ($1,$2,$3,$4,$5,$6,$7,$8) ON CONFLICT (type, ns, name) DO UPDATE SET type=EXCLUDED.type "
                             "RETURNING key",
                             {r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8]}));
    keys[r[0]] = got.at(0).at(0).value_or("");
  }
  return keys;
}

Result<std::uint64_t> copy_catalog(db::Connection& c, const std::string& meta) {
  HG_TRY(auto keys, copy_repos(c, meta));
  struct Table {
    const char* select;
    const char* insert;
    std::size_t width;
  };
  const Table tables[] = {
      {"SELECT repo, name, kind, commit_id, message FROM refs", "INSERT INTO refs (repo, name, kind, commit_id, message)", 5},
      {"SELECT repo, id, parent, tree, title, description, author, time FROM commits", "INSERT INTO commits", 8},
      {"SELECT repo, commit_id, path, size, blob_sha1, sha256, lfs, pointer_size, last_commit FROM files",
       "INSERT INTO files", 9},
      {"SELECT repo, commit_id, path, oid FROM dirs", "INSERT INTO dirs", 4},
      {"SELECT repo, user, status, time, reason, fields FROM access_requests",
       "INSERT INTO access_requests (repo, user_name, status, time, reason, fields)", 6},
      {"SELECT repo, num, title, status, is_pr, author, created, base, start_commit, merge_commit FROM discussions",
       "INSERT INTO discussions", 10},
      {"SELECT repo, num, id, type, author, time, data FROM discussion_events ORDER BY seq",
       "INSERT INTO discussion_events (repo, num, id, type, author, time, data)", 7},
  };
  for (const auto& t : tables) {
    HG_TRY(auto rows, read_rows(meta, t.select));
    HG_TRY_VOID(db::insert_rows(c, t.insert, t.width, rekeyed(std::move(rows), keys)));
  }
  HG_TRY(auto moved, read_rows(meta, "SELECT type, ns, name, repo FROM moved"));
  HG_TRY_VOID(db::insert_rows(c, "INSERT INTO moved (type, ns, name, repo)", 4, rekeyed(std::move(moved), keys, 3)));
  return keys.size();
}

}  // namespace

Result<MetadataCounts> migrate_metadata(const std::string& data_dir, db::Pool& pool, const Progress& progress) {
  namespace fs = std::filesystem;
  MetadataCounts n;
  const std::string meta = data_dir + "/meta.db", auth = data_dir + "/auth.db", audit = data_dir + "/audit.db",
                    gate = data_dir + "/gate.db";
  if (fs::exists(meta)) {
    HG_TRY_VOID(repo::open_sqlite_catalog(meta));  // an old meta.db is brought to the current schema
    HG_TRY(n.repos, pool.transaction([&](db::Connection& c) { return copy_catalog(c, meta); }));
    HG_TRY(auto commits, read_rows(meta, "SELECT COUNT(*) FROM commits"));
    n.commits = std::stoull(commits.at(0).at(0));
    progress("catalog: " + std::to_string(n.repos) + " repositories, " + std::to_string(n.commits) + " commits");
  }
  if (fs::exists(auth)) {
    HG_TRY(auto rows, read_rows(auth, "SELECT hash, name, write, repos, created FROM tokens"));
    n.tokens = rows.size();
    HG_TRY_VOID(pool.transaction([&](db::Connection& c) {
      return db::insert_rows(c, "INSERT INTO tokens (hash, name, write, repos, created)", 5, rows);
    }));
    progress("tokens: " + std::to_string(n.tokens));
  }
  if (fs::exists(gate)) {
    HG_TRY(auto rows, read_rows(gate, "SELECT key, version, sha256, severity, unscanned, format, rule, member, subject, "
                                      "message, status_json, scanned_ms FROM verdicts"));
    n.verdicts = rows.size();
    HG_TRY_VOID(pool.transaction([&](db::Connection& c) {
      return db::insert_rows(c,
                             "INSERT INTO verdicts (key, version, sha256, severity, unscanned, format, rule, member, "
                             "subject, message, status_json, scanned_ms)",
                             12, rows);
    }));
    progress("gate verdicts: " + std::to_string(n.verdicts));
  }
  if (fs::exists(audit)) {
    HG_TRY(auto rows, read_rows(audit, "SELECT time_ms, repo, revision, path, sha256, client, remote, kind, decision, "
                                       "reason FROM audit ORDER BY id"));
    n.audit = rows.size();
    // Records have no key of their own: one already there with the same content is not added again.
    HG_TRY_VOID(pool.transaction([&](db::Connection& c) -> Result<void> {
      for (const auto& r : rows) {
        auto done = c.query(
            "INSERT INTO audit (time_ms, repo, revision, path, sha256, client, remote, kind, decision, reason) "
            "SELECT $1::bigint, $2, $3, $4, $5, $6, $7, $8, $9, $10 WHERE NOT EXISTS (SELECT 1 FROM audit WHERE "
            "time_ms=$1::bigint AND repo=$2 AND revision=$3 AND path=$4 AND sha256=$5 AND client=$6 AND remote=$7 "
            "AND kind=$8 AND decision=$9 AND reason=$10)",
            r);
        if (!done) return fail(db::sql_error(done.error()));
      }
      return {};
    }));
    progress("audit records: " + std::to_string(n.audit));
  }
  return n;
}

}  // namespace hubgate::cli
