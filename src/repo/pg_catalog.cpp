// PostgreSQL implementation of repo::Catalog (cluster mode: every node shares the database).
//
// Tables (db migration 10): repos (key from an identity column, never reused), refs, commits,
// files, dirs, moved, access_requests, discussions, discussion_events — the columns of the
// SQLite catalog (sqlite_catalog.cpp). Statements bind every value as a parameter.
//
// Commits: one transaction on one connection. The target ref's row is read with
// SELECT … FOR UPDATE, so a second node committing to the same branch waits for the first and
// then sees the new head: with `expected_parent` it gets Errc::conflict (the Hub's 412), without
// it it builds on the new head — nothing is lost. A branch that does not exist yet is created by
// INSERT: two nodes creating it at once meet the primary key, and the loser's unique violation
// is Errc::conflict as well. Pull-request numbers are allocated under a lock on the repository
// row. The database unreachable is Errc::unavailable (503); other SQL failures Errc::io.
#include "repo/pg_internal.hpp"

namespace hubgate::repo {

namespace detail {

namespace {

// key, private, created, gated, downloads (all time), likes, downloads of the last 30 days
RepoRecord repo_record(const Row& r, std::size_t first) {
  RepoRecord out;
  out.key = pg_i64(r, first);
  out.is_private = pg_i64(r, first + 1) != 0;
  out.created = pg_i64(r, first + 2);
  out.gated = pg_text(r, first + 3);
  out.downloads_all_time = pg_i64(r, first + 4);
  out.likes = pg_i64(r, first + 5);
  out.downloads = pg_i64(r, first + 6);
  return out;
}

Commit commit_row(const Row& r) {  // id, parent, tree, title, description, author, time
  return Commit{pg_text(r, 0), pg_text(r, 1), pg_text(r, 2), pg_text(r, 3), pg_text(r, 4), pg_text(r, 5), pg_i64(r, 6)};
}

}  // namespace

Result<std::vector<Row>> PgCatalog::run(const std::string& sql, const std::vector<std::string>& params) {
  HG_TRY(auto c, pool_->acquire());
  return pg_query(*c, sql, params);
}

Result<RepoRecord> PgCatalog::create_repo(const RepoId& id, bool is_private, std::int64_t now) {
  auto made = pool_->transaction([&](Connection& c) -> Result<std::int64_t> {
    HG_TRY(auto rows, pg_query(c,
                               "INSERT INTO repos (type, ns, name, private, created) VALUES ($1,$2,$3,$4,$5) "
                               "ON CONFLICT DO NOTHING RETURNING key",
                               {num(std::int64_t(id.type)), id.ns, id.name, num(is_private), num(now)}));
    if (rows.empty()) return fail(Errc::already_exists, "repository " + id.qualified() + " already exists");
    // The name is taken again: it no longer redirects.
    HG_TRY_VOID(pg_query(c, "DELETE FROM moved WHERE type=$1 AND ns=$2 AND name=$3",
                         {num(std::int64_t(id.type)), id.ns, id.name}));
    return pg_i64(rows[0], 0);
  });
  if (!made) return fail(made.error());
  RepoRecord out;
  out.key = *made;
  out.id = id;
  out.is_private = is_private;
  out.created = now;
  return out;
}

Result<std::optional<RepoRecord>> PgCatalog::find_repo(const RepoId& id) {
  HG_TRY(auto rows, run(std::string("SELECT r.key, r.private, r.created, r.gated, r.downloads, r.likes, ") +
                            kPgRecentDownloads + " FROM repos r WHERE r.type=$1 AND r.ns=$2 AND r.name=$3",
                        {num(std::int64_t(id.type)), id.ns, id.name}));
  if (rows.empty()) return std::optional<RepoRecord>{};
  RepoRecord out = repo_record(rows[0], 0);
  out.id = id;
  return std::optional<RepoRecord>(std::move(out));
}

Result<std::vector<Ref>> PgCatalog::list_refs(std::int64_t repo) {
  HG_TRY(auto rows, run("SELECT name, kind, commit_id, message FROM refs WHERE repo=$1 ORDER BY kind, name", {num(repo)}));
  std::vector<Ref> out;
  for (const auto& r : rows) out.push_back(Ref{pg_text(r, 0), RefKind(pg_i64(r, 1)), pg_text(r, 2), pg_text(r, 3)});
  return out;
}

Result<std::optional<std::string>> PgCatalog::ref_on(Connection& c, std::int64_t repo, std::string_view name, int kind) {
  auto rows = kind < 0 ? pg_query(c, "SELECT commit_id FROM refs WHERE repo=$1 AND name=$2 ORDER BY kind LIMIT 1",
                                  {num(repo), std::string(name)})
                       : pg_query(c, "SELECT commit_id FROM refs WHERE repo=$1 AND name=$2 AND kind=$3",
                                  {num(repo), std::string(name), num(kind)});
  if (!rows) return fail(rows.error());
  if (rows->empty()) return std::optional<std::string>{};
  return std::optional<std::string>(pg_text((*rows)[0], 0));
}

Result<std::optional<std::string>> PgCatalog::resolve(std::int64_t repo, std::string_view rev) {
  HG_TRY(auto c, pool_->acquire());
  return resolve_rev(
      rev, [&](std::string_view name, int kind) { return ref_on(*c, repo, name, kind); },
      [&](const std::string& lo, const std::string& hi) -> Result<std::vector<std::string>> {
        HG_TRY(auto rows, pg_query(*c, "SELECT id FROM commits WHERE repo=$1 AND id>=$2 AND id<$3 LIMIT 2",
                                   {num(repo), lo, hi}));
        std::vector<std::string> ids;
        for (const auto& r : rows) ids.push_back(pg_text(r, 0));
        return ids;
      });
}

Result<std::shared_ptr<const Snapshot>> PgCatalog::snapshot(std::int64_t repo, const std::string& commit) {
  if (auto hit = cache_.find(repo, commit)) return hit;
  HG_TRY(auto c, pool_->acquire());
  return snapshot_on(*c, repo, commit);
}

Result<std::shared_ptr<const Snapshot>> PgCatalog::snapshot_on(Connection& c, std::int64_t repo,
                                                               const std::string& commit) {
  if (auto hit = cache_.find(repo, commit)) return hit;
  auto snap = std::make_shared<Snapshot>();
  HG_TRY(auto cm, pg_query(c, "SELECT id, parent, tree, title, description, author, time FROM commits "
                              "WHERE repo=$1 AND id=$2",
                           {num(repo), commit}));
  if (cm.empty()) return fail(Errc::not_found, "no commit " + commit);
  snap->commit = commit_row(cm[0]);
  HG_TRY(auto files, pg_query(c, "SELECT path, size, blob_sha1, sha256, lfs, pointer_size, last_commit FROM files "
                                 "WHERE repo=$1 AND commit_id=$2 ORDER BY path",
                              {num(repo), commit}));
  for (const auto& r : files) {
    FileEntry f;
    f.path = pg_text(r, 0);
    f.size = std::uint64_t(pg_i64(r, 1));
    f.blob_sha1 = pg_text(r, 2);
    f.sha256 = pg_text(r, 3);
    f.lfs = pg_i64(r, 4) != 0;
    f.pointer_size = std::uint64_t(pg_i64(r, 5));
    f.last_commit = pg_text(r, 6);
    snap->files.push_back(std::move(f));
  }
  HG_TRY(auto dirs, pg_query(c, "SELECT path, oid FROM dirs WHERE repo=$1 AND commit_id=$2", {num(repo), commit}));
  for (const auto& r : dirs) snap->dirs[pg_text(r, 0)] = pg_text(r, 1);
  cache_.put(repo, commit, snap);
  return std::shared_ptr<const Snapshot>(snap);
}

Result<void> PgCatalog::set_ref(std::int64_t repo, const Ref& ref) {
  HG_TRY_VOID(run("INSERT INTO refs (repo, name, kind, commit_id) VALUES ($1,$2,$3,$4) "
                  "ON CONFLICT (repo, kind, name) DO UPDATE SET commit_id=EXCLUDED.commit_id, message=''",
                  {num(repo), ref.name, num(std::int64_t(ref.kind)), ref.commit}));
  return {};
}

Result<CommitResult> PgCatalog::commit(std::int64_t repo, const NewCommit& c) {
  // A branch's first commit inserts its ref: two of them at once collide on the unique key with
  // no row to lock beforehand. Without a parent check the loser is simply run again on top of
  // the winner (with one, the conflict is the answer).
  for (int attempt = 0;; ++attempt) {
    std::shared_ptr<const Snapshot> made;
    auto out = pool_->transaction([&](Connection& conn) { return commit_on(conn, repo, c, made); });
    if (!out && out.error().code == Errc::conflict && !c.expected_parent && attempt < 8) continue;
    if (!out) return fail(out.error());
    cache_.put(repo, out->commit, std::move(made));  // only once the transaction committed
    return out;
  }
}

Result<void> PgCatalog::store_snapshot(Connection& c, std::int64_t repo, const Snapshot& snap) {
  const auto& cm = snap.commit;
  HG_TRY_VOID(pg_query(c,
                       "INSERT INTO commits VALUES ($1,$2,$3,$4,$5,$6,$7,$8) ON CONFLICT DO NOTHING",
                       {num(repo), cm.id, cm.parent, cm.tree, cm.title, cm.description, cm.author, num(cm.time)}));
  std::vector<std::vector<std::string>> files;
  for (const auto& f : snap.files)
    files.push_back({num(repo), cm.id, f.path, num(std::int64_t(f.size)), f.blob_sha1, f.sha256, num(f.lfs),
                     num(std::int64_t(f.pointer_size)), f.last_commit});
  HG_TRY_VOID(db::insert_rows(c, "INSERT INTO files", 9, files));
  std::vector<std::vector<std::string>> dirs;
  for (const auto& [path, oid] : snap.dirs) dirs.push_back({num(repo), cm.id, path, oid});
  return db::insert_rows(c, "INSERT INTO dirs", 4, dirs);
}

Result<CommitResult> PgCatalog::commit_on(Connection& c, std::int64_t repo, const NewCommit& nc,
                                          std::shared_ptr<const Snapshot>& made) {
  // The target ref, locked until the transaction ends (the parent check below cannot go stale).
  HG_TRY(auto target, pg_query(c, "SELECT commit_id, kind FROM refs WHERE repo=$1 AND name=$2 ORDER BY kind LIMIT 1 "
                                  "FOR UPDATE",
                               {num(repo), nc.branch}));
  std::optional<std::string> head;
  RefKind target_kind = RefKind::branch;
  bool exists = !target.empty();
  if (exists) {
    head = pg_text(target[0], 0);
    target_kind = RefKind(pg_i64(target[0], 1));
  }
  if (target_kind == RefKind::tag) return fail(Errc::invalid_argument, "cannot commit to tag '" + nc.branch + "'");
  if (!head) {
    HG_TRY(auto main_head, ref_on(c, repo, "main", int(RefKind::branch)));
    head = main_head;
  }
  if (nc.expected_parent && (!head || *head != *nc.expected_parent)) {
    return fail(Errc::conflict, "parent commit " + *nc.expected_parent + " is not the head of '" + nc.branch + "' (" +
                                    (head ? *head : std::string("none")) + ")");
  }
  std::shared_ptr<const Snapshot> parent;
  if (head && !nc.root) {
    HG_TRY(auto p, snapshot_on(c, repo, *head));
    parent = p;
  }
  HG_TRY(auto snap, build_commit(parent.get(), nc.ops, nc.meta));
  const auto& cm = snap.commit;
  HG_TRY_VOID(store_snapshot(c, repo, snap));
  CommitResult out{cm.id, 0};
  if (nc.create_pr) {
    HG_TRY_VOID(lock_repo(c, repo));
    HG_TRY(out.pr_number, next_discussion_num(c, repo));
    Discussion d = pr_discussion(out.pr_number, nc, cm, head);
    HG_TRY_VOID(insert_discussion(c, repo, d));
    HG_TRY_VOID(insert_event(c, repo, d.num, comment_event(repo, d.num, cm, nc.pr_author, cm.description)));
    HG_TRY_VOID(insert_event(c, repo, d.num, commit_event(repo, d.num, cm, nc.pr_author)));
    HG_TRY_VOID(pg_query(c, "INSERT INTO refs (repo, name, kind, commit_id) VALUES ($1,$2,$3,$4)",
                         {num(repo), "refs/pr/" + std::to_string(out.pr_number), num(std::int64_t(RefKind::pr)), cm.id}));
  } else {
    if (target_kind == RefKind::pr) {
      int n = std::atoi(nc.branch.c_str() + 8);  // "refs/pr/N"
      HG_TRY_VOID(insert_event(c, repo, n, commit_event(repo, n, cm, nc.pr_author)));
    }
    if (exists) {
      HG_TRY_VOID(pg_query(c, "UPDATE refs SET commit_id=$4 WHERE repo=$1 AND name=$2 AND kind=$3",
                           {num(repo), nc.branch, num(std::int64_t(target_kind)), cm.id}));
    } else {  // a new branch: a concurrent creator makes this a unique violation (conflict)
      HG_TRY_VOID(pg_query(c, "INSERT INTO refs (repo, name, kind, commit_id) VALUES ($1,$2,$3,$4)",
                           {num(repo), nc.branch, num(std::int64_t(RefKind::branch)), cm.id}));
    }
  }
  made = std::make_shared<const Snapshot>(std::move(snap));
  return out;
}

}  // namespace detail

Result<std::unique_ptr<Catalog>> open_pg_catalog(std::shared_ptr<db::Pool> pool) {
  return std::unique_ptr<Catalog>(new detail::PgCatalog(std::move(pool)));
}

}  // namespace hubgate::repo
