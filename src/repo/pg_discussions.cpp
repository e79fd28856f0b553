// Discussions and pull requests on the PostgreSQL catalog. Numbers are shared by discussions and
// pull requests (one above the highest discussion number or pull-request ref) and allocated
// while the repository's row is locked, so two nodes never hand out the same number.
#include "repo/pg_internal.hpp"

namespace hubgate::repo::detail {

namespace {

constexpr const char* kColumns = "num, title, status, is_pr, author, created, base, start_commit, merge_commit";

Discussion discussion_row(const Row& r) {
  Discussion d;
  d.num = int(pg_i64(r, 0));
  d.title = pg_text(r, 1);
  d.status = pg_text(r, 2);
  d.is_pr = pg_i64(r, 3) != 0;
  d.author = pg_text(r, 4);
  d.created = pg_i64(r, 5);
  d.base = pg_text(r, 6);
  d.start_commit = pg_text(r, 7);
  d.merge_commit = pg_text(r, 8);
  return d;
}

}  // namespace

Result<void> PgCatalog::lock_repo(Connection& c, std::int64_t repo) {
  HG_TRY_VOID(pg_query(c, "SELECT 1 FROM repos WHERE key=$1 FOR UPDATE", {num(repo)}));
  return {};
}

Result<int> PgCatalog::next_discussion_num(Connection& c, std::int64_t repo) {
  HG_TRY(auto rows, pg_query(c,
                             "SELECT GREATEST(COALESCE((SELECT MAX(num) FROM discussions WHERE repo=$1), 0), "
                             "COALESCE((SELECT MAX(CAST(substr(name, 9) AS INTEGER)) FROM refs "
                             "WHERE repo=$1 AND kind=2), 0))",
                             {num(repo)}));
  return int(pg_i64(rows.at(0), 0)) + 1;
}

Result<void> PgCatalog::insert_discussion(Connection& c, std::int64_t repo, const Discussion& d) {
  HG_TRY_VOID(pg_query(c, "INSERT INTO discussions VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)",
                       {num(repo), num(d.num), d.title, d.status, num(d.is_pr), d.author, num(d.created), d.base,
                        d.start_commit, d.merge_commit}));
  return {};
}

Result<void> PgCatalog::insert_event(Connection& c, std::int64_t repo, int n, const DiscussionEvent& ev) {
  HG_TRY_VOID(pg_query(c,
                       "INSERT INTO discussion_events (repo, num, id, type, author, time, data) "
                       "VALUES ($1,$2,$3,$4,$5,$6,$7) ON CONFLICT (repo, id) DO NOTHING",
                       {num(repo), num(n), ev.id, ev.type, ev.author, num(ev.time), ev.data}));
  return {};
}

Result<Discussion> PgCatalog::create_discussion(std::int64_t repo, Discussion d, const DiscussionEvent& first,
                                                const std::string& pr_head) {
  return pool_->transaction([&](Connection& c) -> Result<Discussion> {
    HG_TRY_VOID(lock_repo(c, repo));
    HG_TRY(d.num, next_discussion_num(c, repo));
    HG_TRY_VOID(insert_discussion(c, repo, d));
    HG_TRY_VOID(insert_event(c, repo, d.num, first));
    if (d.is_pr)
      HG_TRY_VOID(pg_query(c,
                           "INSERT INTO refs (repo, name, kind, commit_id) VALUES ($1,$2,$3,$4) "
                           "ON CONFLICT (repo, kind, name) DO UPDATE SET commit_id=EXCLUDED.commit_id",
                           {num(repo), "refs/pr/" + std::to_string(d.num), num(std::int64_t(RefKind::pr)), pr_head}));
    return d;
  });
}

Result<std::vector<Discussion>> PgCatalog::list_discussions(std::int64_t repo) {
  HG_TRY(auto rows, run(std::string("SELECT ") + kColumns + " FROM discussions WHERE repo=$1 ORDER BY num DESC",
                        {num(repo)}));
  std::vector<Discussion> out;
  for (const auto& r : rows) out.push_back(discussion_row(r));
  return out;
}

Result<std::optional<Discussion>> PgCatalog::find_discussion(std::int64_t repo, int n) {
  HG_TRY(auto rows, run(std::string("SELECT ") + kColumns + " FROM discussions WHERE repo=$1 AND num=$2",
                        {num(repo), num(n)}));
  if (rows.empty()) return std::optional<Discussion>{};
  return std::optional<Discussion>(discussion_row(rows[0]));
}

Result<std::vector<DiscussionEvent>> PgCatalog::list_events(std::int64_t repo, int n) {
  HG_TRY(auto rows, run("SELECT id, type, author, time, data FROM discussion_events WHERE repo=$1 AND num=$2 "
                        "ORDER BY seq",
                        {num(repo), num(n)}));
  std::vector<DiscussionEvent> out;
  for (const auto& r : rows)
    out.push_back(DiscussionEvent{pg_text(r, 0), pg_text(r, 1), pg_text(r, 2), pg_i64(r, 3), pg_text(r, 4)});
  return out;
}

Result<void> PgCatalog::update_discussion(std::int64_t repo, const Discussion& d, const DiscussionEvent& ev) {
  return pool_->transaction([&](Connection& c) -> Result<void> {
    HG_TRY(auto rows, pg_query(c,
                               "UPDATE discussions SET title=$3, status=$4, merge_commit=$5 "
                               "WHERE repo=$1 AND num=$2 RETURNING 1",
                               {num(repo), num(d.num), d.title, d.status, d.merge_commit}));
    if (rows.empty()) return fail(Errc::not_found, "no discussion #" + std::to_string(d.num));
    if (!ev.id.empty()) HG_TRY_VOID(insert_event(c, repo, d.num, ev));
    return {};
  });
}

Result<void> PgCatalog::replace_event(std::int64_t repo, int n, const DiscussionEvent& ev) {
  HG_TRY(auto rows, run("UPDATE discussion_events SET data=$4 WHERE repo=$1 AND num=$2 AND id=$3 RETURNING 1",
                        {num(repo), num(n), ev.id, ev.data}));
  if (rows.empty()) return fail(Errc::not_found, "no event " + ev.id + " in discussion #" + std::to_string(n));
  return {};
}

}  // namespace hubgate::repo::detail
