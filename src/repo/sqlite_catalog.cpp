// SQLite implementation of repo::Catalog.
//
// Schema (version 1):
//   repos(key INTEGER PRIMARY KEY, type INT, ns TEXT, name TEXT, private INT, created INT,
//         UNIQUE(type, ns, name))
//   refs(repo INT, name TEXT, kind INT, commit_id TEXT, PRIMARY KEY(repo, name))
//   commits(repo INT, id TEXT, parent TEXT, tree TEXT, title TEXT, description TEXT,
//           author TEXT, time INT, PRIMARY KEY(repo, id))
//   files(repo INT, commit_id TEXT, path TEXT, size INT, blob_sha1 TEXT, sha256 TEXT, lfs INT,
//         pointer_size INT, last_commit TEXT, PRIMARY KEY(repo, commit_id, path))
//   dirs(repo INT, commit_id TEXT, path TEXT, oid TEXT, PRIMARY KEY(repo, commit_id, path))
// Every commit stores its full snapshot (simple, and reads are one indexed range scan).
#include <sqlite3.h>

#include <list>
#include <mutex>
#include <unordered_map>

#include "repo/catalog.hpp"

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
)sql";

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
    return RepoRecord{sqlite3_last_insert_rowid(db_), id, is_private, now};
  }

  Result<std::optional<RepoRecord>> find_repo(const RepoId& id) override {
    std::lock_guard lk(mu_);
    Stmt s(db_, "SELECT key, private, created FROM repos WHERE type=? AND ns=? AND name=?");
    s.bind(1, std::int64_t(id.type)).bind(2, id.ns).bind(3, id.name);
    int rc = s.step();
    if (rc == SQLITE_DONE) return std::optional<RepoRecord>{};
    if (rc != SQLITE_ROW) return db_error("find repository");
    return std::optional<RepoRecord>(RepoRecord{s.i64(0), id, s.i64(1) != 0, s.i64(2)});
  }

  Result<std::vector<Ref>> list_refs(std::int64_t repo) override {
    std::lock_guard lk(mu_);
    Stmt s(db_, "SELECT name, kind, commit_id FROM refs WHERE repo=? ORDER BY kind, name");
    s.bind(1, repo);
    std::vector<Ref> out;
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) out.push_back(Ref{s.text(0), RefKind(s.i64(1)), s.text(2)});
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
    if (!exec("BEGIN IMMEDIATE")) return db_error("begin");
    auto r = commit_locked(repo, c);
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
    if (rev.empty()) return std::optional<std::string>{};
    if (rev == "HEAD") return ref_locked(repo, "main", int(RefKind::branch));
    if (rev.starts_with("refs/heads/")) return ref_locked(repo, rev.substr(11), int(RefKind::branch));
    if (rev.starts_with("refs/tags/")) return ref_locked(repo, rev.substr(10), int(RefKind::tag));
    HG_TRY(auto named, ref_locked(repo, rev, -1));
    if (named) return named;
    if (is_commit_prefix(rev)) {
      std::string lo(rev), hi(rev);
      hi.push_back('g');  // every id with this prefix sorts in [lo, lo+"g")
      Stmt s(db_, "SELECT id FROM commits WHERE repo=? AND id>=? AND id<? LIMIT 2");
      s.bind(1, repo).bind(2, lo).bind(3, hi);
      std::vector<std::string> ids;
      int rc;
      while ((rc = s.step()) == SQLITE_ROW) ids.push_back(s.text(0));
      if (rc != SQLITE_DONE) return db_error("resolve commit prefix");
      if (ids.size() == 1) return std::optional<std::string>(ids[0]);
    }
    return std::optional<std::string>{};
  }

  Result<std::shared_ptr<const Snapshot>> snapshot_locked(std::int64_t repo, const std::string& commit) {
    std::string key = std::to_string(repo) + ":" + commit;
    if (auto it = cache_.find(key); it != cache_.end()) return it->second;
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
    remember(key, snap);
    return std::shared_ptr<const Snapshot>(snap);
  }

  void remember(const std::string& key, std::shared_ptr<const Snapshot> s) {
    if (cache_.size() >= 128) {
      cache_.erase(order_.front());
      order_.pop_front();
    }
    cache_[key] = std::move(s);
    order_.push_back(key);
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
    if (head) {
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
    Ref ref{c.branch, target_kind, cm.id};
    if (c.create_pr) {
      Stmt s(db_, "SELECT COUNT(*) FROM refs WHERE repo=? AND kind=?");
      s.bind(1, repo).bind(2, std::int64_t(RefKind::pr));
      if (s.step() != SQLITE_ROW) return db_error("count PRs");
      out.pr_number = int(s.i64(0)) + 1;
      ref = Ref{"refs/pr/" + std::to_string(out.pr_number), RefKind::pr, cm.id};
    }
    Stmt s(db_, "INSERT OR REPLACE INTO refs(repo, name, kind, commit_id) VALUES(?,?,?,?)");
    s.bind(1, repo).bind(2, ref.name).bind(3, std::int64_t(ref.kind)).bind(4, ref.commit);
    if (s.step() != SQLITE_DONE) return db_error("move ref");
    remember(std::to_string(repo) + ":" + cm.id, std::make_shared<const Snapshot>(std::move(snap)));
    return out;
  }

  sqlite3* db_;
  std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<const Snapshot>> cache_;
  std::list<std::string> order_;
};

}  // namespace

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
  return std::unique_ptr<Catalog>(new SqliteCatalog(db));
}

}  // namespace hubgate::repo
