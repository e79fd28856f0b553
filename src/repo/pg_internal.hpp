// Private to src/repo/: the PostgreSQL catalog class, shared by pg_catalog.cpp (core:
// repositories, refs, commits, snapshots), pg_manage.cpp (ref management, history, listing,
// settings, move, delete, access requests), pg_stats.cpp (download counts, likes, content
// references) and pg_discussions.cpp. Schema: db migrations 10 and 14
// (src/db/db.cpp), the same tables as the SQLite catalog (access_requests.user is `user_name`).
#pragma once

#include "db/pool.hpp"
#include "repo/catalog_common.hpp"

namespace hubgate::repo::detail {

using db::Connection;
using db::Row;

inline std::string pg_text(const Row& r, std::size_t i) { return r.at(i).value_or(""); }
inline std::int64_t pg_i64(const Row& r, std::size_t i) {
  const auto& v = r.at(i);
  return v ? std::stoll(*v) : 0;
}
inline std::string num(std::int64_t v) { return std::to_string(v); }

// A repository's downloads of the last 30 days (the select-list expression; `r` = repos).
inline constexpr const char* kPgRecentDownloads =
    "(SELECT COALESCE(SUM(d.n), 0) FROM download_days d WHERE d.repo=r.key AND "
    "d.day > CAST(EXTRACT(EPOCH FROM now()) AS BIGINT) / 86400 - 30)";

// Runs one statement on `c`, errors as db::sql_error.
inline Result<std::vector<Row>> pg_query(Connection& c, const std::string& sql, const std::vector<std::string>& params) {
  auto r = c.query(sql, params);
  if (!r) return fail(db::sql_error(r.error()));
  return r;
}

class PgCatalog final : public Catalog {
 public:
  explicit PgCatalog(std::shared_ptr<db::Pool> pool) : pool_(std::move(pool)) {}

  Result<RepoRecord> create_repo(const RepoId& id, bool is_private, std::int64_t now) override;
  Result<std::optional<RepoRecord>> find_repo(const RepoId& id) override;
  Result<std::vector<Ref>> list_refs(std::int64_t repo) override;
  Result<std::optional<std::string>> resolve(std::int64_t repo, std::string_view rev) override;
  Result<std::shared_ptr<const Snapshot>> snapshot(std::int64_t repo, const std::string& commit) override;
  Result<CommitResult> commit(std::int64_t repo, const NewCommit& c) override;
  Result<void> set_ref(std::int64_t repo, const Ref& ref) override;
  // pg_manage.cpp
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
  // pg_stats.cpp
  Result<void> count_download(std::int64_t repo, std::int64_t day) override;
  Result<bool> set_like(std::int64_t repo, const std::string& user, bool like, std::int64_t now) override;
  Result<std::vector<Like>> list_likers(std::int64_t repo) override;
  Result<std::vector<LikedRepo>> list_liked(const std::string& user) override;
  Result<std::vector<std::string>> repo_blobs(std::int64_t repo) override;
  Result<bool> blob_referenced(const std::string& sha256) override;
  // pg_discussions.cpp
  Result<Discussion> create_discussion(std::int64_t repo, Discussion d, const DiscussionEvent& first,
                                       const std::string& pr_head) override;
  Result<std::vector<Discussion>> list_discussions(std::int64_t repo) override;
  Result<std::optional<Discussion>> find_discussion(std::int64_t repo, int num) override;
  Result<std::vector<DiscussionEvent>> list_events(std::int64_t repo, int num) override;
  Result<void> update_discussion(std::int64_t repo, const Discussion& d, const DiscussionEvent& ev) override;
  Result<void> replace_event(std::int64_t repo, int num, const DiscussionEvent& ev) override;

 private:
  // One statement on a leased connection.
  Result<std::vector<Row>> run(const std::string& sql, const std::vector<std::string>& params);
  Result<std::optional<std::string>> ref_on(Connection& c, std::int64_t repo, std::string_view name, int kind);
  Result<std::shared_ptr<const Snapshot>> snapshot_on(Connection& c, std::int64_t repo, const std::string& commit);
  // `made`: the new snapshot, cached by the caller once the transaction committed.
  Result<CommitResult> commit_on(Connection& c, std::int64_t repo, const NewCommit& nc,
                                 std::shared_ptr<const Snapshot>& made);
  Result<void> store_snapshot(Connection& c, std::int64_t repo, const Snapshot& snap);
  // pg_discussions.cpp (inside a transaction that holds the repository row's lock)
  static Result<int> next_discussion_num(Connection& c, std::int64_t repo);
  static Result<void> insert_discussion(Connection& c, std::int64_t repo, const Discussion& d);
  static Result<void> insert_event(Connection& c, std::int64_t repo, int num, const DiscussionEvent& ev);
  static Result<void> lock_repo(Connection& c, std::int64_t repo);

  std::shared_ptr<db::Pool> pool_;
  SnapshotCache cache_;
};

}  // namespace hubgate::repo::detail
