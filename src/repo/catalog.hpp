// repo::Catalog: the metadata database of hosted repositories — repositories, refs, commits and
// their snapshots. Two implementations run the same tests: `open_sqlite_catalog`, the embedded
// one of single-node mode (SQLite, WAL, one connection serialised by a mutex), and
// `open_pg_catalog`, cluster mode's (PostgreSQL through a `db::Pool`, shared by every node; the
// schema is db migration 10, applied by `db::migrate` before opening). Both cache snapshots in
// memory by commit id since they are immutable.
//
// Revisions (`resolve`): "HEAD" = the default branch "main"; "refs/heads/X" = branch X;
// "refs/tags/X" = tag X; a branch, tag or "refs/pr/N" name; a full 40-hex commit id of this
// repository; or a unique hex prefix of 7+ characters. Branch names win over tags.
//
// Commits (`commit`) are atomic: inside one write transaction the branch head is read (and, in
// PostgreSQL, locked against other nodes), compared with `expected_parent` (Errc::conflict when
// different), the new snapshot is built and stored,
// and the ref moved. A commit to a branch that does not exist starts it from the default
// branch's head. With `create_pr` the commit goes to a new ref "refs/pr/N" instead, and an open
// pull request N (a discussion) is recorded with it; a commit to "refs/pr/N" adds a `commit`
// event to that pull request. With `root` the commit has no parent (super-squash): its ops must
// list every file.
//
// Management: refs are created (Errc::already_exists unless `overwrite`) and deleted
// (Errc::not_found); `history` walks parents from a commit, newest first; `move_repo` renames a
// repository and remembers the old id (`find_moved` answers it until a repository takes that name
// again or the repository is deleted); `delete_repo` removes every row of a repository (refs,
// commits, snapshots, discussions, access requests, moved names): nothing references its content
// afterwards. Discussions and pull requests share one counter per repository, from 1.
//
// Statistics: `count_download` adds one download on a day (unix day number); a repository's
// `downloads` are the sum over the 30 days up to today, `downloads_all_time` every download.
// Likes are one row per (repository, user); `likes` is their count. Both move with a renamed
// repository (they belong to its key) and go with a deleted one.
//
// Content references: `repo_blobs` lists the sha256 digests of every file of every commit of a
// repository, `blob_referenced` says whether any commit of any repository still names one
// (used to release a deleted repository's blobs).
// Thread-safety: all methods are thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "repo/edit.hpp"
#include "repo/model.hpp"

namespace hubgate::db {
class Pool;
}

namespace hubgate::repo {

enum class RefKind { branch = 0, tag = 1, pr = 2 };  // persisted: do not renumber

struct Ref {
  std::string name;  // "main", "v1.0", "refs/pr/3"
  RefKind kind = RefKind::branch;
  std::string commit;
  std::string message;  // tags: the annotation ("" = none)
};

struct RepoRecord {
  std::int64_t key = 0;  // database key
  RepoId id;
  bool is_private = false;
  std::int64_t created = 0;  // unix seconds
  std::string gated;         // "" (not gated), "auto" or "manual"
  std::int64_t downloads = 0;           // counted downloads of the last 30 days (the Hub's `downloads`)
  std::int64_t downloads_all_time = 0;  // every counted download (`downloadsAllTime`)
  std::int64_t likes = 0;
  // Filled by list_repos only: the default branch's head and its commit time (0 when none).
  std::string sha;
  std::int64_t last_modified = 0;
};

struct CommitPage {
  std::vector<Commit> commits;  // newest first
  std::int64_t total = 0;       // commits reachable from the start commit
};

// A user's access request to a gated repository. status: "pending", "accepted", "rejected".
struct AccessRequest {
  std::string user;
  std::string status;
  std::int64_t time = 0;
  std::string reason;  // rejection reason
  std::string fields;  // JSON object text of the gate form's answers ("" = none)
};

// A discussion or pull request. status: "open", "closed", "merged", "draft".
struct Discussion {
  int num = 0;
  std::string title;
  std::string status = "open";
  bool is_pr = false;
  std::string author;        // user name ("" = unknown)
  std::int64_t created = 0;  // unix seconds
  std::string base;          // PRs: the target ref, "refs/heads/main"
  std::string start_commit;  // PRs: the target's head when the PR was opened (merge base)
  std::string merge_commit;  // PRs: the commit the merge made on `base`
};

// One event of a discussion; `data` is a JSON object text interpreted by the hub.
struct DiscussionEvent {
  std::string id;    // 24 lowercase hex
  std::string type;  // "comment", "status-change", "commit", "title-change"
  std::string author;
  std::int64_t time = 0;
  std::string data;
};

struct Like {
  std::string user;
  std::int64_t time = 0;
};

struct LikedRepo {
  RepoRecord repo;  // key, id, is_private
  std::int64_t time = 0;
};

struct NewCommit {
  std::string branch = "main";
  std::optional<std::string> expected_parent;
  std::vector<FileOp> ops;
  CommitMeta meta;
  bool create_pr = false;
  bool root = false;          // no parent: `ops` are the whole tree (super-squash)
  std::string pr_author;      // user name recorded on the pull request (create_pr)
};

struct CommitResult {
  std::string commit;
  int pr_number = 0;  // when create_pr
};

class Catalog {
 public:
  virtual ~Catalog() = default;
  // Errc::already_exists when present.
  virtual Result<RepoRecord> create_repo(const RepoId& id, bool is_private, std::int64_t now) = 0;
  virtual Result<std::optional<RepoRecord>> find_repo(const RepoId& id) = 0;
  virtual Result<std::vector<Ref>> list_refs(std::int64_t repo) = 0;
  // Commit id for a revision, or nullopt.
  virtual Result<std::optional<std::string>> resolve(std::int64_t repo, std::string_view rev) = 0;
  // Errc::not_found for an unknown commit.
  virtual Result<std::shared_ptr<const Snapshot>> snapshot(std::int64_t repo, const std::string& commit) = 0;
  virtual Result<CommitResult> commit(std::int64_t repo, const NewCommit& c) = 0;
  // Creates or moves a tag (used by tests and future APIs).
  virtual Result<void> set_ref(std::int64_t repo, const Ref& ref) = 0;

  // ---- management (sqlite_manage.cpp) ----
  // Errc::already_exists when a ref of that name and kind exists and !overwrite.
  virtual Result<void> create_ref(std::int64_t repo, const Ref& ref, bool overwrite) = 0;
  // Errc::not_found when there is no ref of that name and kind.
  virtual Result<void> delete_ref(std::int64_t repo, std::string_view name, RefKind kind) = 0;
  virtual Result<CommitPage> history(std::int64_t repo, const std::string& commit, std::int64_t offset,
                                     std::int64_t limit) = 0;
  // Every repository (of `type` when given), with sha/last_modified filled.
  virtual Result<std::vector<RepoRecord>> list_repos(std::optional<RepoType> type) = 0;
  virtual Result<void> update_repo(std::int64_t repo, std::optional<bool> is_private,
                                   std::optional<std::string> gated) = 0;
  // Errc::already_exists when `to` exists.
  virtual Result<void> move_repo(std::int64_t repo, const RepoId& to) = 0;
  // The current id of a repository once called `old` (nullopt when none).
  virtual Result<std::optional<RepoId>> find_moved(const RepoId& old) = 0;
  virtual Result<void> delete_repo(std::int64_t repo) = 0;
  virtual Result<void> put_access(std::int64_t repo, const AccessRequest& a) = 0;
  virtual Result<std::optional<AccessRequest>> find_access(std::int64_t repo, std::string_view user) = 0;
  virtual Result<std::vector<AccessRequest>> list_access(std::int64_t repo, std::string_view status) = 0;

  // ---- statistics and content references (sqlite_stats.cpp) ----
  virtual Result<void> count_download(std::int64_t repo, std::int64_t day) = 0;
  // Adds or removes `user`'s like; true when that changed something.
  virtual Result<bool> set_like(std::int64_t repo, const std::string& user, bool like, std::int64_t now) = 0;
  virtual Result<std::vector<Like>> list_likers(std::int64_t repo) = 0;                // oldest first
  virtual Result<std::vector<LikedRepo>> list_liked(const std::string& user) = 0;      // newest first
  virtual Result<std::vector<std::string>> repo_blobs(std::int64_t repo) = 0;
  virtual Result<bool> blob_referenced(const std::string& sha256) = 0;

  // ---- discussions (sqlite_discussions.cpp) ----
  // Allocates the number; a PR (d.is_pr) gets "refs/pr/N" at `pr_head`. `first` (a comment) is
  // stored as its first event. Returns the discussion with `num` set.
  virtual Result<Discussion> create_discussion(std::int64_t repo, Discussion d, const DiscussionEvent& first,
                                               const std::string& pr_head) = 0;
  virtual Result<std::vector<Discussion>> list_discussions(std::int64_t repo) = 0;  // newest first
  virtual Result<std::optional<Discussion>> find_discussion(std::int64_t repo, int num) = 0;
  virtual Result<std::vector<DiscussionEvent>> list_events(std::int64_t repo, int num) = 0;  // oldest first
  // Stores the discussion's title/status/merge_commit and appends `ev` when its id is not empty.
  virtual Result<void> update_discussion(std::int64_t repo, const Discussion& d, const DiscussionEvent& ev) = 0;
  // Replaces an existing event (edit, hide); Errc::not_found when absent.
  virtual Result<void> replace_event(std::int64_t repo, int num, const DiscussionEvent& ev) = 0;
};

// `path` may be ":memory:" for tests.
Result<std::unique_ptr<Catalog>> open_sqlite_catalog(const std::string& path);
// The schema must be current (db::migrate). Database unreachable: Errc::unavailable.
Result<std::unique_ptr<Catalog>> open_pg_catalog(std::shared_ptr<db::Pool> pool);

}  // namespace hubgate::repo
