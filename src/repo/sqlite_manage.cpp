// Repository management on the SQLite catalog: ref creation/deletion, history, listing,
// settings, move (with the old id remembered in `moved`), delete, gated-access requests.
#include "repo/sqlite_internal.hpp"

namespace hubgate::repo::detail {

Result<void> SqliteCatalog::create_ref(std::int64_t repo, const Ref& ref, bool overwrite) {
  std::lock_guard lk(mu_);
  Stmt s(db_, overwrite ? "INSERT OR REPLACE INTO refs(repo, name, kind, commit_id, message) VALUES(?,?,?,?,?)"
                        : "INSERT INTO refs(repo, name, kind, commit_id, message) VALUES(?,?,?,?,?)");
  s.bind(1, repo).bind(2, ref.name).bind(3, std::int64_t(ref.kind)).bind(4, ref.commit).bind(5, ref.message);
  int rc = s.step();
  if (rc == SQLITE_CONSTRAINT) {
    const char* prefix = ref.kind == RefKind::branch ? "refs/heads/" : ref.kind == RefKind::tag ? "refs/tags/" : "";
    return fail(Errc::already_exists, "Reference " + std::string(prefix) + ref.name + " already exists");
  }
  if (rc != SQLITE_DONE) return db_error("create ref");
  return {};
}

Result<void> SqliteCatalog::delete_ref(std::int64_t repo, std::string_view name, RefKind kind) {
  std::lock_guard lk(mu_);
  Stmt s(db_, "DELETE FROM refs WHERE repo=? AND name=? AND kind=?");
  s.bind(1, repo).bind(2, name).bind(3, std::int64_t(kind));
  if (s.step() != SQLITE_DONE) return db_error("delete ref");
  if (sqlite3_changes(db_) == 0) return fail(Errc::not_found, "Invalid rev id: " + std::string(name));
  return {};
}

Result<CommitPage> SqliteCatalog::history(std::int64_t repo, const std::string& commit, std::int64_t offset,
                                          std::int64_t limit) {
  std::lock_guard lk(mu_);
  // The first-parent chain from `commit` (every hubgate commit has at most one parent).
  static constexpr const char* kChain =
      "WITH RECURSIVE h(id, n) AS (SELECT ?2, 0 UNION ALL SELECT c.parent, h.n + 1 FROM h JOIN commits c "
      "ON c.repo=?1 AND c.id=h.id WHERE c.parent<>'') ";
  CommitPage page;
  {
    Stmt s(db_, (std::string(kChain) + "SELECT COUNT(*) FROM h JOIN commits c ON c.repo=?1 AND c.id=h.id").c_str());
    s.bind(1, repo).bind(2, commit);
    if (s.step() != SQLITE_ROW) return db_error("count commits");
    page.total = s.i64(0);
  }
  Stmt s(db_, (std::string(kChain) +
               "SELECT c.id, c.parent, c.tree, c.title, c.description, c.author, c.time FROM h JOIN commits c "
               "ON c.repo=?1 AND c.id=h.id ORDER BY h.n LIMIT ?3 OFFSET ?4")
                  .c_str());
  s.bind(1, repo).bind(2, commit).bind(3, limit).bind(4, offset);
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) {
    page.commits.push_back(Commit{s.text(0), s.text(1), s.text(2), s.text(3), s.text(4), s.text(5), s.i64(6)});
  }
  if (rc != SQLITE_DONE) return db_error("list commits");
  return page;
}

Result<std::vector<RepoRecord>> SqliteCatalog::list_repos(std::optional<RepoType> type) {
  std::lock_guard lk(mu_);
  Stmt s(db_, (std::string("SELECT r.key, r.type, r.ns, r.name, r.private, r.created, r.gated, r.downloads, r.likes, "
                           "COALESCE(f.commit_id, ''), COALESCE(c.time, 0), ") +
               kRecentDownloads +
               " FROM repos r "
         "LEFT JOIN refs f ON f.repo=r.key AND f.kind=0 AND f.name='main' "
         "LEFT JOIN commits c ON c.repo=r.key AND c.id=f.commit_id "
               "WHERE ?1 < 0 OR r.type=?1 ORDER BY r.type, r.ns, r.name")
                  .c_str());
  s.bind(1, type ? std::int64_t(*type) : std::int64_t(-1));
  std::vector<RepoRecord> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) {
    RepoRecord r;
    r.key = s.i64(0);
    r.id = RepoId{RepoType(s.i64(1)), s.text(2), s.text(3)};
    r.is_private = s.i64(4) != 0;
    r.created = s.i64(5);
    r.gated = s.text(6);
    r.downloads_all_time = s.i64(7);
    r.likes = s.i64(8);
    r.sha = s.text(9);
    r.last_modified = s.i64(10);
    r.downloads = s.i64(11);
    out.push_back(std::move(r));
  }
  if (rc != SQLITE_DONE) return db_error("list repositories");
  return out;
}

Result<void> SqliteCatalog::update_repo(std::int64_t repo, std::optional<bool> is_private,
                                        std::optional<std::string> gated) {
  std::lock_guard lk(mu_);
  if (gated && !gated->empty() && *gated != "auto" && *gated != "manual")
    return fail(Errc::invalid_argument, "gated must be false, 'auto' or 'manual'");
  Stmt s(db_, "UPDATE repos SET private=COALESCE(?2, private), gated=COALESCE(?3, gated) WHERE key=?1");
  s.bind(1, repo);
  if (is_private) s.bind(2, std::int64_t(*is_private));
  if (gated) s.bind(3, *gated);
  if (s.step() != SQLITE_DONE) return db_error("update repository");
  if (sqlite3_changes(db_) == 0) return fail(Errc::not_found, "no such repository");
  return {};
}

Result<void> SqliteCatalog::move_repo(std::int64_t repo, const RepoId& to) {
  std::lock_guard lk(mu_);
  return transaction([&]() -> Result<void> {
    RepoId from;
    {
      Stmt s(db_, "SELECT type, ns, name FROM repos WHERE key=?");
      s.bind(1, repo);
      if (s.step() != SQLITE_ROW) return fail(Errc::not_found, "no such repository");
      from = RepoId{RepoType(s.i64(0)), s.text(1), s.text(2)};
    }
    {
      Stmt s(db_, "UPDATE repos SET type=?2, ns=?3, name=?4 WHERE key=?1");
      s.bind(1, repo).bind(2, std::int64_t(to.type)).bind(3, to.ns).bind(4, to.name);
      int rc = s.step();
      if (rc == SQLITE_CONSTRAINT)
        return fail(Errc::already_exists,
                    std::string("A ") + type_name(to.type) + " repository called " + to.full() + " already exists");
      if (rc != SQLITE_DONE) return db_error("rename repository");
    }
    {
      Stmt s(db_, "DELETE FROM moved WHERE type=? AND ns=? AND name=?");  // the new name is a repository now
      s.bind(1, std::int64_t(to.type)).bind(2, to.ns).bind(3, to.name);
      if (s.step() != SQLITE_DONE) return db_error("forget moved name");
    }
    Stmt s(db_, "INSERT OR REPLACE INTO moved(type, ns, name, repo) VALUES(?,?,?,?)");
    s.bind(1, std::int64_t(from.type)).bind(2, from.ns).bind(3, from.name).bind(4, repo);
    if (s.step() != SQLITE_DONE) return db_error("remember moved name");
    return {};
  });
}

Result<std::optional<RepoId>> SqliteCatalog::find_moved(const RepoId& old) {
  std::lock_guard lk(mu_);
  Stmt s(db_,
         "SELECT r.type, r.ns, r.name FROM moved m JOIN repos r ON r.key=m.repo "
         "WHERE m.type=? AND m.ns=? AND m.name=?");
  s.bind(1, std::int64_t(old.type)).bind(2, old.ns).bind(3, old.name);
  int rc = s.step();
  if (rc == SQLITE_DONE) return std::optional<RepoId>{};
  if (rc != SQLITE_ROW) return db_error("find moved repository");
  return std::optional<RepoId>(RepoId{RepoType(s.i64(0)), s.text(1), s.text(2)});
}

Result<void> SqliteCatalog::delete_repo(std::int64_t repo) {
  std::lock_guard lk(mu_);
  auto r = transaction([&]() -> Result<void> {
    for (const char* sql : {"DELETE FROM repos WHERE key=?", "DELETE FROM refs WHERE repo=?",
                            "DELETE FROM commits WHERE repo=?", "DELETE FROM files WHERE repo=?",
                            "DELETE FROM dirs WHERE repo=?", "DELETE FROM moved WHERE repo=?",
                            "DELETE FROM access_requests WHERE repo=?", "DELETE FROM discussions WHERE repo=?",
                            "DELETE FROM discussion_events WHERE repo=?", "DELETE FROM likes WHERE repo=?",
                            "DELETE FROM download_days WHERE repo=?"}) {
      Stmt s(db_, sql);
      s.bind(1, repo);
      if (s.step() != SQLITE_DONE) return db_error("delete repository");
    }
    return {};
  });
  if (!r) return r;
  cache_.forget_repo(repo);  // cached snapshots of the repository go too
  return {};
}

Result<void> SqliteCatalog::put_access(std::int64_t repo, const AccessRequest& a) {
  std::lock_guard lk(mu_);
  Stmt s(db_, "INSERT OR REPLACE INTO access_requests(repo, user, status, time, reason, fields) VALUES(?,?,?,?,?,?)");
  s.bind(1, repo).bind(2, a.user).bind(3, a.status).bind(4, a.time).bind(5, a.reason).bind(6, a.fields);
  if (s.step() != SQLITE_DONE) return db_error("store access request");
  return {};
}

Result<std::optional<AccessRequest>> SqliteCatalog::find_access(std::int64_t repo, std::string_view user) {
  std::lock_guard lk(mu_);
  Stmt s(db_, "SELECT user, status, time, reason, fields FROM access_requests WHERE repo=? AND user=?");
  s.bind(1, repo).bind(2, user);
  int rc = s.step();
  if (rc == SQLITE_DONE) return std::optional<AccessRequest>{};
  if (rc != SQLITE_ROW) return db_error("read access request");
  return std::optional<AccessRequest>(AccessRequest{s.text(0), s.text(1), s.i64(2), s.text(3), s.text(4)});
}

Result<std::vector<AccessRequest>> SqliteCatalog::list_access(std::int64_t repo, std::string_view status) {
  std::lock_guard lk(mu_);
  Stmt s(db_,
         "SELECT user, status, time, reason, fields FROM access_requests WHERE repo=? AND status=? "
         "ORDER BY time, user");
  s.bind(1, repo).bind(2, status);
  std::vector<AccessRequest> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back(AccessRequest{s.text(0), s.text(1), s.i64(2), s.text(3), s.text(4)});
  if (rc != SQLITE_DONE) return db_error("list access requests");
  return out;
}

}  // namespace hubgate::repo::detail
