// Repository management on the PostgreSQL catalog: ref creation/deletion, history, listing,
// settings, move (with the old id remembered in `moved`), delete, gated-access requests.
#include "repo/pg_internal.hpp"

namespace hubgate::repo::detail {

namespace {

AccessRequest access_row(const Row& r) {
  return AccessRequest{pg_text(r, 0), pg_text(r, 1), pg_i64(r, 2), pg_text(r, 3), pg_text(r, 4)};
}

// The first-parent chain from $2 (every hubgate commit has at most one parent).
constexpr const char* kChain =
    "WITH RECURSIVE h(id, n) AS (SELECT $2::text COLLATE \"C\", 0 UNION ALL SELECT c.parent, h.n + 1 FROM h "
    "JOIN commits c ON c.repo=$1 AND c.id=h.id WHERE c.parent<>'') ";

}  // namespace

Result<void> PgCatalog::create_ref(std::int64_t repo, const Ref& ref, bool overwrite) {
  auto rows = run(std::string("INSERT INTO refs (repo, name, kind, commit_id, message) VALUES ($1,$2,$3,$4,$5) ") +
                      (overwrite ? "ON CONFLICT (repo, kind, name) DO UPDATE SET commit_id=EXCLUDED.commit_id, "
                                   "message=EXCLUDED.message RETURNING 1"
                                 : "ON CONFLICT DO NOTHING RETURNING 1"),
                  {num(repo), ref.name, num(std::int64_t(ref.kind)), ref.commit, ref.message});
  if (!rows) return fail(rows.error());
  if (rows->empty()) {
    const char* prefix = ref.kind == RefKind::branch ? "refs/heads/" : ref.kind == RefKind::tag ? "refs/tags/" : "";
    return fail(Errc::already_exists, "Reference " + std::string(prefix) + ref.name + " already exists");
  }
  return {};
}

Result<void> PgCatalog::delete_ref(std::int64_t repo, std::string_view name, RefKind kind) {
  HG_TRY(auto rows, run("DELETE FROM refs WHERE repo=$1 AND name=$2 AND kind=$3 RETURNING 1",
                        {num(repo), std::string(name), num(std::int64_t(kind))}));
  if (rows.empty()) return fail(Errc::not_found, "Invalid rev id: " + std::string(name));
  return {};
}

Result<CommitPage> PgCatalog::history(std::int64_t repo, const std::string& commit, std::int64_t offset,
                                      std::int64_t limit) {
  HG_TRY(auto c, pool_->acquire());
  CommitPage page;
  HG_TRY(auto total, pg_query(*c, std::string(kChain) + "SELECT COUNT(*) FROM h JOIN commits c ON c.repo=$1 AND c.id=h.id",
                              {num(repo), commit}));
  page.total = pg_i64(total.at(0), 0);
  HG_TRY(auto rows, pg_query(*c,
                             std::string(kChain) +
                                 "SELECT c.id, c.parent, c.tree, c.title, c.description, c.author, c.time FROM h "
                                 "JOIN commits c ON c.repo=$1 AND c.id=h.id ORDER BY h.n LIMIT $3 OFFSET $4",
                             {num(repo), commit, num(limit), num(offset)}));
  for (const auto& r : rows)
    page.commits.push_back(
        Commit{pg_text(r, 0), pg_text(r, 1), pg_text(r, 2), pg_text(r, 3), pg_text(r, 4), pg_text(r, 5), pg_i64(r, 6)});
  return page;
}

Result<std::vector<RepoRecord>> PgCatalog::list_repos(std::optional<RepoType> type) {
  HG_TRY(auto rows, run(std::string("SELECT r.key, r.type, r.ns, r.name, r.private, r.created, r.gated, r.downloads, r.likes, "
                        "COALESCE(f.commit_id, ''), COALESCE(c.time, 0), ") + kPgRecentDownloads + " FROM repos r "
                        "LEFT JOIN refs f ON f.repo=r.key AND f.kind=0 AND f.name='main' "
                        "LEFT JOIN commits c ON c.repo=r.key AND c.id=f.commit_id "
                        "WHERE $1::int < 0 OR r.type=$1::int ORDER BY r.type, r.ns, r.name",
                        {num(type ? std::int64_t(*type) : -1)}));
  std::vector<RepoRecord> out;
  for (const auto& r : rows) {
    RepoRecord rec;
    rec.key = pg_i64(r, 0);
    rec.id = RepoId{RepoType(pg_i64(r, 1)), pg_text(r, 2), pg_text(r, 3)};
    rec.is_private = pg_i64(r, 4) != 0;
    rec.created = pg_i64(r, 5);
    rec.gated = pg_text(r, 6);
    rec.downloads_all_time = pg_i64(r, 7);
    rec.likes = pg_i64(r, 8);
    rec.sha = pg_text(r, 9);
    rec.last_modified = pg_i64(r, 10);
    rec.downloads = pg_i64(r, 11);
    out.push_back(std::move(rec));
  }
  return out;
}

Result<void> PgCatalog::update_repo(std::int64_t repo, std::optional<bool> is_private,
                                    std::optional<std::string> gated) {
  if (gated && !gated->empty() && *gated != "auto" && *gated != "manual")
    return fail(Errc::invalid_argument, "gated must be false, 'auto' or 'manual'");
  std::string sql = "UPDATE repos SET key=key";
  std::vector<std::string> params{num(repo)};
  if (is_private) {
    params.push_back(num(*is_private));
    sql += ", private=$" + std::to_string(params.size());
  }
  if (gated) {
    params.push_back(*gated);
    sql += ", gated=$" + std::to_string(params.size());
  }
  HG_TRY(auto rows, run(sql + " WHERE key=$1 RETURNING 1", params));
  if (rows.empty()) return fail(Errc::not_found, "no such repository");
  return {};
}

Result<void> PgCatalog::move_repo(std::int64_t repo, const RepoId& to) {
  return pool_->transaction([&](Connection& c) -> Result<void> {
    HG_TRY(auto from, pg_query(c, "SELECT type, ns, name FROM repos WHERE key=$1 FOR UPDATE", {num(repo)}));
    if (from.empty()) return fail(Errc::not_found, "no such repository");
    HG_TRY(auto taken, pg_query(c, "SELECT 1 FROM repos WHERE type=$1 AND ns=$2 AND name=$3",
                                {num(std::int64_t(to.type)), to.ns, to.name}));
    auto exists = [&] {
      return fail(Errc::already_exists,
                  std::string("A ") + type_name(to.type) + " repository called " + to.full() + " already exists");
    };
    if (!taken.empty()) return exists();
    auto renamed = pg_query(c, "UPDATE repos SET type=$2, ns=$3, name=$4 WHERE key=$1",
                            {num(repo), num(std::int64_t(to.type)), to.ns, to.name});
    if (!renamed) return renamed.error().code == Errc::conflict ? exists() : fail(renamed.error());
    // The new name is a repository now; the old one redirects to it.
    HG_TRY_VOID(pg_query(c, "DELETE FROM moved WHERE type=$1 AND ns=$2 AND name=$3",
                         {num(std::int64_t(to.type)), to.ns, to.name}));
    HG_TRY_VOID(pg_query(c,
                         "INSERT INTO moved (type, ns, name, repo) VALUES ($1,$2,$3,$4) "
                         "ON CONFLICT (type, ns, name) DO UPDATE SET repo=EXCLUDED.repo",
                         {pg_text(from[0], 0), pg_text(from[0], 1), pg_text(from[0], 2), num(repo)}));
    return {};
  });
}

Result<std::optional<RepoId>> PgCatalog::find_moved(const RepoId& old) {
  HG_TRY(auto rows, run("SELECT r.type, r.ns, r.name FROM moved m JOIN repos r ON r.key=m.repo "
                        "WHERE m.type=$1 AND m.ns=$2 AND m.name=$3",
                        {num(std::int64_t(old.type)), old.ns, old.name}));
  if (rows.empty()) return std::optional<RepoId>{};
  return std::optional<RepoId>(RepoId{RepoType(pg_i64(rows[0], 0)), pg_text(rows[0], 1), pg_text(rows[0], 2)});
}

Result<void> PgCatalog::delete_repo(std::int64_t repo) {
  HG_TRY_VOID(pool_->transaction([&](Connection& c) -> Result<void> {
    for (const char* sql : {"DELETE FROM repos WHERE key=$1", "DELETE FROM refs WHERE repo=$1",
                            "DELETE FROM commits WHERE repo=$1", "DELETE FROM files WHERE repo=$1",
                            "DELETE FROM dirs WHERE repo=$1", "DELETE FROM moved WHERE repo=$1",
                            "DELETE FROM access_requests WHERE repo=$1", "DELETE FROM discussions WHERE repo=$1",
                            "DELETE FROM discussion_events WHERE repo=$1", "DELETE FROM likes WHERE repo=$1",
                            "DELETE FROM download_days WHERE repo=$1"})
      HG_TRY_VOID(pg_query(c, sql, {num(repo)}));
    return {};
  }));
  cache_.forget_repo(repo);
  return {};
}

Result<void> PgCatalog::put_access(std::int64_t repo, const AccessRequest& a) {
  HG_TRY_VOID(run("INSERT INTO access_requests (repo, user_name, status, time, reason, fields) "
                  "VALUES ($1,$2,$3,$4,$5,$6) ON CONFLICT (repo, user_name) DO UPDATE SET status=EXCLUDED.status, "
                  "time=EXCLUDED.time, reason=EXCLUDED.reason, fields=EXCLUDED.fields",
                  {num(repo), a.user, a.status, num(a.time), a.reason, a.fields}));
  return {};
}

Result<std::optional<AccessRequest>> PgCatalog::find_access(std::int64_t repo, std::string_view user) {
  HG_TRY(auto rows, run("SELECT user_name, status, time, reason, fields FROM access_requests "
                        "WHERE repo=$1 AND user_name=$2",
                        {num(repo), std::string(user)}));
  if (rows.empty()) return std::optional<AccessRequest>{};
  return std::optional<AccessRequest>(access_row(rows[0]));
}

Result<std::vector<AccessRequest>> PgCatalog::list_access(std::int64_t repo, std::string_view status) {
  HG_TRY(auto rows, run("SELECT user_name, status, time, reason, fields FROM access_requests "
                        "WHERE repo=$1 AND status=$2 ORDER BY time, user_name",
                        {num(repo), std::string(status)}));
  std::vector<AccessRequest> out;
  for (const auto& r : rows) out.push_back(access_row(r));
  return out;
}

}  // namespace hubgate::repo::detail
