// SQLite implementation of repo::Catalog.
//
// Schema (version 2, PRAGMA user_version; version 1 databases are migrated when opened):
//   repos(key INTEGER PRIMARY KEY AUTOINCREMENT, type INT, ns TEXT, name TEXT, private INT, created INT,
//         gated TEXT ('' | 'auto' | 'manual'), downloads INT, likes INT, UNIQUE(type, ns, name))
//   refs(repo INT, name TEXT, kind INT, commit_id TEXT, message TEXT (tag annotation),
//        PRIMARY KEY(repo, kind, name))
//     (a branch and a tag may share a name; version 1 had PRIMARY KEY(repo, name))
//   commits(repo INT, id TEXT, parent TEXT, tree TEXT, title TEXT, description TEXT,
//           author TEXT, time INT, PRIMARY KEY(repo, id))
//   files(repo INT, commit_id TEXT, path TEXT, size INT, blob_sha1 TEXT, sha256 TEXT, lfs INT,
//         pointer_size INT, last_commit TEXT, PRIMARY KEY(repo, commit_id, path))
//   dirs(repo INT, commit_id TEXT, path TEXT, oid TEXT, PRIMARY KEY(repo, commit_id, path))
//   moved(type INT, ns TEXT, name TEXT, repo INT, PRIMARY KEY(type, ns, name))  old ids -> repos.key
//   access_requests(repo INT, user TEXT, status TEXT, time INT, reason TEXT, fields TEXT,
//         PRIMARY KEY(repo, user))
//   discussions(repo INT, num INT, title TEXT, status TEXT, is_pr INT, author TEXT, created INT,
//         base TEXT, start_commit TEXT, merge_commit TEXT, PRIMARY KEY(repo, num))
//   discussion_events(seq INTEGER PRIMARY KEY, repo INT, num INT, id TEXT, type TEXT, author TEXT,
//         time INT, data TEXT (JSON object), UNIQUE(repo, id))
//   likes(repo INT, user TEXT, time INT, PRIMARY KEY(repo, user)), index likes_user(user, time)
//   download_days(repo INT, day INT (unix day), n INT, PRIMARY KEY(repo, day))
//     (repos.downloads is the all-time count, repos.likes the number of likes rows)
//   index files_sha256(sha256): which commits name a blob
// (likes, download_days and files_sha256 are created by IF NOT EXISTS on open, so version 2
// databases from before them gain them without a version step.)
// Every commit stores its full snapshot (simple, and reads are one indexed range scan).
#include "repo/sqlite_internal.hpp"

namespace hubgate::repo {

namespace {

constexpr const char* kSchema = R"sql(
PRAGMA journal_mode=WAL;
PRAGMA synchronous=FULL;
PRAGMA foreign_keys=OFF;
CREATE TABLE IF NOT EXISTS repos(key INTEGER PRIMARY KEY, type INT NOT NULL, ns TEXT NOT NULL,
  name TEXT NOT NULL, private INT NOT NULL, created INT NOT NULL, UNIQUE(type, ns, name));
CREATE TABLE IF NOT EXISTS refs(repo INT NOT NULL, name TEXT NOT NULL, kind INT NOT NULL,
  commit_id TEXT NOT NULL, PRIMARY KEY(repo, name));
CREATE TABLE IF NOT EXISTS commits(repo INT NOT NULL, id TEXT NOT NULL, parent TEXT NOT NULL,
  tree TEXT NOT NULL, title TEXT NOT NULL, description TEXT NOT NULL, author TEXT NOT NULL,
  time INT NOT NULL, PRIMARY KEY(repo, id));
CREATE TABLE IF NOT EXISTS files(repo INT NOT NULL, commit_id TEXT NOT NULL, path TEXT NOT NULL,
  size INT NOT NULL, blob_sha1 TEXT NOT NULL, sha256 TEXT NOT NULL, lfs INT NOT NULL,
  pointer_size INT NOT NULL, last_commit TEXT NOT NULL, PRIMARY KEY(repo, commit_id, path));
CREATE TABLE IF NOT EXISTS dirs(repo INT NOT NULL, commit_id TEXT NOT NULL, path TEXT NOT NULL,
  oid TEXT NOT NULL, PRIMARY KEY(repo, commit_id, path));
CREATE TABLE IF NOT EXISTS moved(type INT NOT NULL, ns TEXT NOT NULL, name TEXT NOT NULL, repo INT NOT NULL,
  PRIMARY KEY(type, ns, name));
CREATE TABLE IF NOT EXISTS access_requests(repo INT NOT NULL, user TEXT NOT NULL, status TEXT NOT NULL,
  time INT NOT NULL, reason TEXT NOT NULL, fields TEXT NOT NULL, PRIMARY KEY(repo, user));
CREATE TABLE IF NOT EXISTS discussions(repo INT NOT NULL, num INT NOT NULL, title TEXT NOT NULL,
  status TEXT NOT NULL, is_pr INT NOT NULL, author TEXT NOT NULL, created INT NOT NULL, base TEXT NOT NULL,
  start_commit TEXT NOT NULL, merge_commit TEXT NOT NULL, PRIMARY KEY(repo, num));
CREATE TABLE IF NOT EXISTS discussion_events(seq INTEGER PRIMARY KEY, repo INT NOT NULL, num INT NOT NULL,
  id TEXT NOT NULL, type TEXT NOT NULL, author TEXT NOT NULL, time INT NOT NULL, data TEXT NOT NULL,
  UNIQUE(repo, id));
CREATE INDEX IF NOT EXISTS discussion_events_num ON discussion_events(repo, num, seq);
CREATE TABLE IF NOT EXISTS likes(repo INT NOT NULL, user TEXT NOT NULL, time INT NOT NULL,
  PRIMARY KEY(repo, user));
CREATE INDEX IF NOT EXISTS likes_user ON likes(user, time);
CREATE TABLE IF NOT EXISTS download_days(repo INT NOT NULL, day INT NOT NULL, n INT NOT NULL,
  PRIMARY KEY(repo, day));
CREATE INDEX IF NOT EXISTS files_sha256 ON files(sha256);
)sql";

// Version 1 -> 2: repository settings columns and keys never reused (AUTOINCREMENT: a deleted
// repository's key can never name a later one); refs keyed by (repo, kind, name).
constexpr const char* kMigrate2 = R"sql(
BEGIN IMMEDIATE;
CREATE TABLE repos2(key INTEGER PRIMARY KEY AUTOINCREMENT, type INT NOT NULL, ns TEXT NOT NULL,
  name TEXT NOT NULL, private INT NOT NULL, created INT NOT NULL, gated TEXT NOT NULL DEFAULT '',
  downloads INT NOT NULL DEFAULT 0, likes INT NOT NULL DEFAULT 0, UNIQUE(type, ns, name));
INSERT INTO repos2(key, type, ns, name, private, created) SELECT key, type, ns, name, private, created FROM repos;
DROP TABLE repos;
ALTER TABLE repos2 RENAME TO repos;
CREATE TABLE refs2(repo INT NOT NULL, name TEXT NOT NULL, kind INT NOT NULL, commit_id TEXT NOT NULL,
  message TEXT NOT NULL DEFAULT '', PRIMARY KEY(repo, kind, name));
INSERT INTO refs2(repo, name, kind, commit_id) SELECT repo, name, kind, commit_id FROM refs;
DROP TABLE refs;
ALTER TABLE refs2 RENAME TO refs;
PRAGMA user_version=2;
COMMIT;
)sql";

}  // namespace

using detail::SqliteCatalog;

Result<std::unique_ptr<Catalog>> open_sqlite_catalog(const std::string& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return fail(Errc::io, "open database " + path + ": " + msg);
  }
  sqlite3_busy_timeout(db, 10000);
  char* err = nullptr;
  if (sqlite3_exec(db, kSchema, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "?";
    sqlite3_free(err);
    sqlite3_close(db);
    return fail(Errc::io, "initialise database " + path + ": " + msg);
  }
  sqlite3_stmt* v = nullptr;
  int version = 0;
  if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &v, nullptr) == SQLITE_OK && sqlite3_step(v) == SQLITE_ROW)
    version = sqlite3_column_int(v, 0);
  sqlite3_finalize(v);
  if (version < 2 && sqlite3_exec(db, kMigrate2, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "?";
    sqlite3_free(err);
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    sqlite3_close(db);
    return fail(Errc::io, "migrate database " + path + " to version 2: " + msg);
  }
  return std::unique_ptr<Catalog>(new SqliteCatalog(db));
}

}  // namespace hubgate::repo
