// Download counts, likes and content references on the PostgreSQL catalog (schema: db
// migration 14; the same rules as sqlite_stats.cpp).
#include "repo/pg_internal.hpp"

namespace hubgate::repo::detail {

Result<void> PgCatalog::count_download(std::int64_t repo, std::int64_t day) {
  return pool_->transaction([&](Connection& c) -> Result<void> {
    HG_TRY(auto rows, pg_query(c, "UPDATE repos SET downloads=downloads+1 WHERE key=$1 RETURNING 1", {num(repo)}));
    if (rows.empty()) return fail(Errc::not_found, "no such repository");
    HG_TRY_VOID(pg_query(c,
                         "INSERT INTO download_days (repo, day, n) VALUES ($1, $2, 1) "
                         "ON CONFLICT (repo, day) DO UPDATE SET n=download_days.n+1",
                         {num(repo), num(day)}));
    return {};
  });
}

Result<bool> PgCatalog::set_like(std::int64_t repo, const std::string& user, bool like, std::int64_t now) {
  return pool_->transaction([&](Connection& c) -> Result<bool> {
    HG_TRY(auto rows,
           like ? pg_query(c,
                           "INSERT INTO likes (repo, user_name, time) VALUES ($1, $2, $3) "
                           "ON CONFLICT DO NOTHING RETURNING 1",
                           {num(repo), user, num(now)})
                : pg_query(c, "DELETE FROM likes WHERE repo=$1 AND user_name=$2 RETURNING 1", {num(repo), user}));
    if (rows.empty()) return false;
    HG_TRY_VOID(pg_query(c, "UPDATE repos SET likes=(SELECT COUNT(*) FROM likes WHERE repo=$1) WHERE key=$1",
                         {num(repo)}));
    return true;
  });
}

Result<std::vector<Like>> PgCatalog::list_likers(std::int64_t repo) {
  HG_TRY(auto rows, run("SELECT user_name, time FROM likes WHERE repo=$1 ORDER BY time, user_name", {num(repo)}));
  std::vector<Like> out;
  for (const auto& r : rows) out.push_back(Like{pg_text(r, 0), pg_i64(r, 1)});
  return out;
}

Result<std::vector<LikedRepo>> PgCatalog::list_liked(const std::string& user) {
  HG_TRY(auto rows, run("SELECT r.key, r.type, r.ns, r.name, r.private, l.time FROM likes l JOIN repos r ON r.key=l.repo "
                        "WHERE l.user_name=$1 ORDER BY l.time DESC, r.ns, r.name",
                        {user}));
  std::vector<LikedRepo> out;
  for (const auto& r : rows) {
    LikedRepo l;
    l.repo.key = pg_i64(r, 0);
    l.repo.id = RepoId{RepoType(pg_i64(r, 1)), pg_text(r, 2), pg_text(r, 3)};
    l.repo.is_private = pg_i64(r, 4) != 0;
    l.time = pg_i64(r, 5);
    out.push_back(std::move(l));
  }
  return out;
}

Result<std::vector<std::string>> PgCatalog::repo_blobs(std::int64_t repo) {
  HG_TRY(auto rows, run("SELECT DISTINCT sha256 FROM files WHERE repo=$1 AND sha256<>''", {num(repo)}));
  std::vector<std::string> out;
  for (const auto& r : rows) out.push_back(pg_text(r, 0));
  return out;
}

Result<bool> PgCatalog::blob_referenced(const std::string& sha256) {
  HG_TRY(auto rows, run("SELECT 1 FROM files WHERE sha256=$1 LIMIT 1", {sha256}));
  return !rows.empty();
}

}  // namespace hubgate::repo::detail
