// Download counts, likes and content references on the SQLite catalog (schema: sqlite_catalog.cpp).
#include "repo/sqlite_internal.hpp"

namespace hubgate::repo::detail {

Result<void> SqliteCatalog::count_download(std::int64_t repo, std::int64_t day) {
  std::lock_guard lk(mu_);
  return transaction([&]() -> Result<void> {
    Stmt s(db_, "UPDATE repos SET downloads=downloads+1 WHERE key=?");
    s.bind(1, repo);
    if (s.step() != SQLITE_DONE) return db_error("count download");
    if (sqlite3_changes(db_) == 0) return fail(Errc::not_found, "no such repository");
    Stmt d(db_, "INSERT INTO download_days(repo, day, n) VALUES(?,?,1) ON CONFLICT(repo, day) DO UPDATE SET n=n+1");
    d.bind(1, repo).bind(2, day);
    if (d.step() != SQLITE_DONE) return db_error("count download of the day");
    return {};
  });
}

Result<bool> SqliteCatalog::set_like(std::int64_t repo, const std::string& user, bool like, std::int64_t now) {
  std::lock_guard lk(mu_);
  return transaction([&]() -> Result<bool> {
    Stmt s(db_, like ? "INSERT OR IGNORE INTO likes(repo, user, time) VALUES(?,?,?)"
                     : "DELETE FROM likes WHERE repo=? AND user=?");
    s.bind(1, repo).bind(2, user);
    if (like) s.bind(3, now);
    if (s.step() != SQLITE_DONE) return db_error("store like");
    if (sqlite3_changes(db_) == 0) return false;
    Stmt n(db_, "UPDATE repos SET likes=(SELECT COUNT(*) FROM likes WHERE repo=?1) WHERE key=?1");
    n.bind(1, repo);
    if (n.step() != SQLITE_DONE) return db_error("count likes");
    return true;
  });
}

Result<std::vector<Like>> SqliteCatalog::list_likers(std::int64_t repo) {
  std::lock_guard lk(mu_);
  Stmt s(db_, "SELECT user, time FROM likes WHERE repo=? ORDER BY time, user");
  s.bind(1, repo);
  std::vector<Like> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back(Like{s.text(0), s.i64(1)});
  if (rc != SQLITE_DONE) return db_error("list likers");
  return out;
}

Result<std::vector<LikedRepo>> SqliteCatalog::list_liked(const std::string& user) {
  std::lock_guard lk(mu_);
  Stmt s(db_,
         "SELECT r.key, r.type, r.ns, r.name, r.private, l.time FROM likes l JOIN repos r ON r.key=l.repo "
         "WHERE l.user=? ORDER BY l.time DESC, r.ns, r.name");
  s.bind(1, user);
  std::vector<LikedRepo> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) {
    LikedRepo l;
    l.repo.key = s.i64(0);
    l.repo.id = RepoId{RepoType(s.i64(1)), s.text(2), s.text(3)};
    l.repo.is_private = s.i64(4) != 0;
    l.time = s.i64(5);
    out.push_back(std::move(l));
  }
  if (rc != SQLITE_DONE) return db_error("list liked repositories");
  return out;
}

Result<std::vector<std::string>> SqliteCatalog::repo_blobs(std::int64_t repo) {
  std::lock_guard lk(mu_);
  Stmt s(db_, "SELECT DISTINCT sha256 FROM files WHERE repo=? AND sha256<>''");
  s.bind(1, repo);
  std::vector<std::string> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back(s.text(0));
  if (rc != SQLITE_DONE) return db_error("list a repository's blobs");
  return out;
}

Result<bool> SqliteCatalog::blob_referenced(const std::string& sha256) {
  std::lock_guard lk(mu_);
  Stmt s(db_, "SELECT 1 FROM files WHERE sha256=? LIMIT 1");
  s.bind(1, sha256);
  int rc = s.step();
  if (rc == SQLITE_ROW) return true;
  if (rc != SQLITE_DONE) return db_error("look up a blob's references");
  return false;
}

}  // namespace hubgate::repo::detail
