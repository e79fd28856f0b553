// Private to src/repo/: the SQLite catalog class, shared by sqlite_catalog.cpp (core: repositories,
// refs, commits, snapshots), sqlite_manage.cpp (ref management, history, listing, settings, move,
// delete, access requests) and sqlite_discussions.cpp. Schema: see sqlite_catalog.cpp.
#pragma once

#include <sqlite3.h>

#include <cstdlib>
#include <mutex>

#include "repo/catalog_common.hpp"

namespace hubgate::repo::detail {

class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) { rc_ = sqlite3_prepare_v2(db, sql, -1, &s_, nullptr); }
  ~Stmt() { sqlite3_finalize(s_); }
  bool ok() const { return rc_ == SQLITE_OK; }
  Stmt& bind(int i, std::string_view v) {
    sqlite3_bind_text(s_, i, v.data(), int(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& bind(int i, std::int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  // SQLITE_ROW, SQLITE_DONE or an error code.
  int step() { return sqlite3_step(s_); }
  void reset() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  std::string text(int i) {
    auto p = sqlite3_column_text(s_, i);
    return p ? std::string(reinterpret_cast<const char*>(p), std::size_t(sqlite3_column_bytes(s_, i))) : std::string();
  }
  std::int64_t i64(int i) { return sqlite3_column_int64(s_, i); }

 private:
  sqlite3_stmt* s_ = nullptr;
  int rc_;
};

// A repository's downloads of the last 30 days (the select-list expression; `r` = repos).
inline constexpr const char* kRecentDownloads =
    "(SELECT COALESCE(SUM(d.n), 0) FROM download_days d WHERE d.repo=r.key AND "
    "d.day > CAST(strftime('%s','now') AS INTEGER) / 86400 - 30)";

class SqliteCatalog final : public Catalog {
 public:
  explicit SqliteCatalog(sqlite3* db) : db_(db) {}
  ~SqliteCatalog() override { sqlite3_close(db_); }

  Result<RepoRecord> create_repo(const RepoId& id, bool is_private, std::int64_t now) override {
    std::lock_guard lk(mu_);
    Stmt s(db_, "INSERT INTO repos(type, ns, name, private, created) VALUES(?,?,?,?,?)");
    s.bind(1, std::int64_t(id.type)).bind(2, id.ns).bind(3, id.name).bind(4, std::int64_t(is_private)).bind(5, now);
    int rc = s.step();
    if (rc == SQLITE_CONSTRAINT) return fail(Errc::already_exists, "repository " + id.qualified() + " already exists");
    if (rc != SQLITE_DONE) return db_error("create repository");
    std::int64_t key = sqlite3_last_insert_rowid(db_);
    Stmt m(db_, "DELETE FROM moved WHERE type=? AND ns=? AND name=?");  // the name is taken again
    m.bind(1, std::int64_t(id.type)).bind(2, id.ns).bind(3, id.name);
    if (m.step() != SQLITE_DONE) return db_error("forget moved name");
    RepoRecord out;
    out.key = key;
    out.id = id;
    out.is_private = is_private;
    out.created = now;
    return out;
  }

  Result<std::optional<RepoRecord>> find_repo(const RepoId& id) override {
    std::lock_guard lk(mu_);
    Stmt s(db_, (std::string("SELECT key, private, created, gated, downloads, likes, ") + kRecentDownloads +
                 " FROM repos r WHERE type=? AND ns=? AND name=?").c_str());
    s.bind(1, std::int64_t(id.type)).bind(2, id.ns).bind(3, id.name);
    int rc = s.step();
    if (rc == SQLITE_DONE) return std::optional<RepoRecord>{};
    if (rc != SQLITE_ROW) return db_error("find repository");
    RepoRecord out;
    out.key = s.i64(0);
    out.id = id;
    out.is_private = s.i64(1) != 0;
    out.created = s.i64(2);
    out.gated = s.text(3);
    out.downloads_all_time = s.i64(4);
    out.likes = s.i64(5);
    out.downloads = s.i64(6);
    return std::optional<RepoRecord>(std::move(out));
  }

  Result<std::vector<Ref>> list_refs(std::int64_t repo) override {
    std::lock_guard lk(mu_);
    Stmt s(db_, "SELECT name, kind, commit_id, message FROM refs WHERE repo=? ORDER BY kind, name");
    s.bind(1, repo);
    std::vector<Ref> out;
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) out.push_back(Ref{s.text(0), RefKind(s.i64(1)), s.text(2), s.text(3)});
    if (rc != SQLITE_DONE) return db_error("list refs");
    return out;
  }

  Result<std::optional<std::string>> resolve(std::int64_t repo, std::string_view rev) override {
    std::lock_guard lk(mu_);
    return resolve_locked(repo, rev);
  }

  Result<std::shared_ptr<const Snapshot>> snapshot(std::int64_t repo, const std::string& commit) override {
    std::lock_guard lk(mu_);
    return snapshot_locked(repo, commit);
  }

  Result<void> set_ref(std::int64_t repo, const Ref& ref) override {
    std::lock_guard lk(mu_);
    Stmt s(db_, "INSERT OR REPLACE INTO refs(repo, name, kind, commit_id) VALUES(?,?,?,?)");
    s.bind(1, repo).bind(2, ref.name).bind(3, std::int64_t(ref.kind)).bind(4, ref.commit);
    if (s.step() != SQLITE_DONE) return db_error("set ref");
    return {};
  }

  Result<CommitResult> commit(std::int64_t repo, const NewCommit& c) override {
    std::lock_guard lk(mu_);
    return transaction([&] { return commit_locked(repo, c); });
  }

 private:
  bool exec(const char* sql) { return sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) == SQLITE_OK; }
  std::unexpected<Error> db_error(std::string_view what) {
    return fail(Errc::io, "database: " + std::string(what) + ": " + sqlite3_errmsg(db_));
  }

  Result<std::optional<std::string>> ref_locked(std::int64_t repo, std::string_view name, int kind) {
    Stmt s(db_, kind < 0 ? "SELECT commit_id FROM refs WHERE repo=? AND name=? ORDER BY kind LIMIT 1"
                         : "SELECT commit_id FROM refs WHERE repo=? AND name=? AND kind=?");
    s.bind(1, repo).bind(2, name);
    if (kind >= 0) s.bind(3, std::int64_t(kind));
    int rc = s.step();
    if (rc == SQLITE_ROW) return std::optional<std::string>(s.text(0));
    if (rc != SQLITE_DONE) return db_error("read ref");
    return std::optional<std::string>{};
  }

  Result<std::optional<std::string>> resolve_locked(std::int64_t repo, std::string_view rev) {
    return resolve_rev(
        rev, [&](std::string_view name, int kind) { return ref_locked(repo, name, kind); },
        [&](const std::string& lo, const std::string& hi) -> Result<std::vector<std::string>> {
          Stmt s(db_, "SELECT id FROM commits WHERE repo=? AND id>=? AND id<? LIMIT 2");
          s.bind(1, repo).bind(2, lo).bind(3, hi);
          std::vector<std::string> ids;
          int rc;
          while ((rc = s.step()) == SQLITE_ROW) ids.push_back(s.text(0));
          if (rc != SQLITE_DONE) return db_error("resolve commit prefix");
          return ids;
        });
  }

  Result<std::shared_ptr<const Snapshot>> snapshot_locked(std::int64_t repo, const std::string& commit) {
    if (auto hit = cache_.find(repo, commit)) return hit;
    auto snap = std::make_shared<Snapshot>();
    {
      Stmt s(db_, "SELECT parent, tree, title, description, author, time FROM commits WHERE repo=? AND id=?");
      s.bind(1, repo).bind(2, commit);
      int rc = s.step();
      if (rc == SQLITE_DONE) return fail(Errc::not_found, "no commit " + commit);
      if (rc != SQLITE_ROW) return db_error("read commit");
      snap->commit = Commit{commit, s.text(0), s.text(1), s.text(2), s.text(3), s.text(4), s.i64(5)};
    }
    {
      Stmt s(db_,
             "SELECT path, size, blob_sha1, sha256, lfs, pointer_size, last_commit FROM files "
             "WHERE repo=? AND commit_id=? ORDER BY path");
      s.bind(1, repo).bind(2, commit);
      int rc;
      while ((rc = s.step()) == SQLITE_ROW) {
        FileEntry f;
        f.path = s.text(0);
        f.size = std::uint64_t(s.i64(1));
        f.blob_sha1 = s.text(2);
        f.sha256 = s.text(3);
        f.lfs = s.i64(4) != 0;
        f.pointer_size = std::uint64_t(s.i64(5));
        f.last_commit = s.text(6);
        snap->files.push_back(std::move(f));
      }
      if (rc != SQLITE_DONE) return db_error("read files");
    }
    {
      Stmt s(db_, "SELECT path, oid FROM dirs WHERE repo=? AND commit_id=?");
      s.bind(1, repo).bind(2, commit);
      int rc;
      while ((rc = s.step()) == SQLITE_ROW) snap->dirs[s.text(0)] = s.text(1);
      if (rc != SQLITE_DONE) return db_error("read dirs");
    }
    // std::string ORDER BY in SQLite is memcmp order for UTF-8 text (BINARY collation), which
    // matches std::string's operator<.
    cache_.put(repo, commit, snap);
    return std::shared_ptr<const Snapshot>(snap);
  }

  Result<CommitResult> commit_locked(std::int64_t repo, const NewCommit& c) {
    std::optional<std::string> head;
    RefKind target_kind = RefKind::branch;
    {
      Stmt s(db_, "SELECT commit_id, kind FROM refs WHERE repo=? AND name=? ORDER BY kind LIMIT 1");
      s.bind(1, repo).bind(2, c.branch);
      int rc = s.step();
      if (rc == SQLITE_ROW) {
        head = s.text(0);
        target_kind = RefKind(s.i64(1));
      } else if (rc != SQLITE_DONE) {
        return db_error("read ref");
      }
    }
    if (target_kind == RefKind::tag) return fail(Errc::invalid_argument, "cannot commit to tag '" + c.branch + "'");
    if (!head) {
      HG_TRY(auto main_head, ref_locked(repo, "main", int(RefKind::branch)));
      head = main_head;
    }
    if (c.expected_parent && (!head || *head != *c.expected_parent)) {
      return fail(Errc::conflict, "parent commit " + *c.expected_parent + " is not the head of '" + c.branch +
                                      "' (" + (head ? *head : std::string("none")) + ")");
    }
    std::shared_ptr<const Snapshot> parent;
    if (head && !c.root) {
      HG_TRY(auto p, snapshot_locked(repo, *head));
      parent = p;
    }
    HG_TRY(auto snap, build_commit(parent.get(), c.ops, c.meta));
    const auto& cm = snap.commit;
    {
      Stmt s(db_, "INSERT OR IGNORE INTO commits VALUES(?,?,?,?,?,?,?,?)");
      s.bind(1, repo).bind(2, cm.id).bind(3, cm.parent).bind(4, cm.tree).bind(5, cm.title).bind(6, cm.description);
      s.bind(7, cm.author).bind(8, cm.time);
      if (s.step() != SQLITE_DONE) return db_error("insert commit");
    }
    {
      Stmt s(db_, "INSERT OR REPLACE INTO files VALUES(?,?,?,?,?,?,?,?,?)");
      for (const auto& f : snap.files) {
        s.reset();
        s.bind(1, repo).bind(2, cm.id).bind(3, f.path).bind(4, std::int64_t(f.size)).bind(5, f.blob_sha1);
        s.bind(6, f.sha256).bind(7, std::int64_t(f.lfs)).bind(8, std::int64_t(f.pointer_size)).bind(9, f.last_commit);
        if (s.step() != SQLITE_DONE) return db_error("insert file");
      }
    }
    {
      Stmt s(db_, "INSERT OR REPLACE INTO dirs VALUES(?,?,?,?)");
      for (const auto& [path, oid] : snap.dirs) {
        s.reset();
        s.bind(1, repo).bind(2, cm.id).bind(3, path).bind(4, oid);
        if (s.step() != SQLITE_DONE) return db_error("insert dir");
      }
    }
    CommitResult out{cm.id, 0};
    Ref ref{c.branch, target_kind, cm.id, ""};
    if (c.create_pr) {
      HG_TRY(out.pr_number, next_discussion_num(repo));
      ref = Ref{"refs/pr/" + std::to_string(out.pr_number), RefKind::pr, cm.id, ""};
      Discussion d = pr_discussion(out.pr_number, c, cm, head);
      HG_TRY_VOID(insert_discussion(repo, d));
      HG_TRY_VOID(insert_event(repo, d.num, comment_event(repo, d.num, cm, c.pr_author, cm.description)));
    }
    if (c.create_pr || target_kind == RefKind::pr) {
      int num = c.create_pr ? out.pr_number : std::atoi(c.branch.c_str() + 8);  // "refs/pr/N"
      HG_TRY_VOID(insert_event(repo, num, commit_event(repo, num, cm, c.pr_author)));
    }
    Stmt s(db_, "INSERT OR REPLACE INTO refs(repo, name, kind, commit_id) VALUES(?,?,?,?)");
    s.bind(1, repo).bind(2, ref.name).bind(3, std::int64_t(ref.kind)).bind(4, ref.commit);
    if (s.step() != SQLITE_DONE) return db_error("move ref");
    cache_.put(repo, cm.id, std::make_shared<const Snapshot>(std::move(snap)));
    return out;
  }

  // sqlite_discussions.cpp
  Result<int> next_discussion_num(std::int64_t repo);
  Result<void> insert_discussion(std::int64_t repo, const Discussion& d);
  Result<void> insert_event(std::int64_t repo, int num, const DiscussionEvent& ev);

 public:
  // sqlite_manage.cpp
  Result<void> create_ref(std::int64_t repo, const Ref& ref, bool overwrite) override;
  Result<void> delete_ref(std::int64_t repo, std::string_view name, RefKind kind) override;
  Result<CommitPage> history(std::int64_t repo, const std::string& commit, std::int64_t offset,
                             std::int64_t limit) override;
  Result<std::vector<RepoRecord>> list_repos(std::optional<RepoType> type) override;
  Result<void> update_repo(std::int64_t repo, std::optional<bool> is_private,
                           std::optional<std::string> gated) override;
  Result<void> move_repo(std::int64_t repo, const RepoId& to) override;
  Result<std::optional<RepoId>> find_moved(const RepoId& old) override;
  Result<void> delete_repo(std::int64_t repo) override;
  Result<void> put_access(std::int64_t repo, const AccessRequest& a) override;
  Result<std::optional<AccessRequest>> find_access(std::int64_t repo, std::string_view user) override;
  Result<std::vector<AccessRequest>> list_access(std::int64_t repo, std::string_view status) override;
  // sqlite_stats.cpp
  Result<void> count_download(std::int64_t repo, std::int64_t day) override;
  Result<bool> set_like(std::int64_t repo, const std::string& user, bool like, std::int64_t now) override;
  Result<std::vector<Like>> list_likers(std::int64_t repo) override;
  Result<std::vector<LikedRepo>> list_liked(const std::string& user) override;
  Result<std::vector<std::string>> repo_blobs(std::int64_t repo) override;
  Result<bool> blob_referenced(const std::string& sha256) override;
  // sqlite_discussions.cpp
  Result<Discussion> create_discussion(std::int64_t repo, Discussion d, const DiscussionEvent& first,
                                       const std::string& pr_head) override;
  Result<std::vector<Discussion>> list_discussions(std::int64_t repo) override;
  Result<std::optional<Discussion>> find_discussion(std::int64_t repo, int num) override;
  Result<std::vector<DiscussionEvent>> list_events(std::int64_t repo, int num) override;
  Result<void> update_discussion(std::int64_t repo, const Discussion& d, const DiscussionEvent& ev) override;
  Result<void> replace_event(std::int64_t repo, int num, const DiscussionEvent& ev) override;

 private:
  // Runs `f` inside BEGIN IMMEDIATE ... COMMIT (ROLLBACK when it fails); caller holds mu_.
  template <class F>
  auto transaction(F&& f) -> decltype(f()) {
    if (!exec("BEGIN IMMEDIATE")) return db_error("begin");
    auto r = f();
    if (r) {
      if (!exec("COMMIT")) {
        exec("ROLLBACK");
        return db_error("commit");
      }
    } else {
      exec("ROLLBACK");
    }
    return r;
  }

  sqlite3* db_;
  std::mutex mu_;
  SnapshotCache cache_;
};


}  // namespace hubgate::repo::detail
