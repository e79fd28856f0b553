// repo::Catalog: the metadata database of hosted repositories — repositories, refs, commits and
// their snapshots. The interface is what a server database (PostgreSQL) would implement later;
// `open_sqlite_catalog` is the embedded implementation (SQLite, WAL, one connection serialised by
// a mutex; snapshots cached in memory by commit id since they are immutable).
//
// Revisions (`resolve`): "HEAD" = the default branch "main"; "refs/heads/X" = branch X;
// "refs/tags/X" = tag X; a branch, tag or "refs/pr/N" name; a full 40-hex commit id of this
// repository; or a unique hex prefix of 7+ characters. Branch names win over tags.
//
// Commits (`commit`) are atomic: inside one write transaction the branch head is read, compared
// with `expected_parent` (Errc::conflict when different), the new snapshot is built and stored,
// and the ref moved. A commit to a branch that does not exist starts it from the default
// branch's head. With `create_pr` the commit goes to a new ref "refs/pr/N" instead.
// Thread-safety: all methods are thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "repo/edit.hpp"
#include "repo/model.hpp"

namespace hubgate::repo {

enum class RefKind { branch = 0, tag = 1, pr = 2 };  // persisted: do not renumber

struct Ref {
  std::string name;  // "main", "v1.0", "refs/pr/3"
  RefKind kind = RefKind::branch;
  std::string commit;
};

struct RepoRecord {
  std::int64_t key = 0;  // database key
  RepoId id;
  bool is_private = false;
  std::int64_t created = 0;  // unix seconds
};

struct NewCommit {
  std::string branch = "main";
  std::optional<std::string> expected_parent;
  std::vector<FileOp> ops;
  CommitMeta meta;
  bool create_pr = false;
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
};

// `path` may be ":memory:" for tests.
Result<std::unique_ptr<Catalog>> open_sqlite_catalog(const std::string& path);

}  // namespace hubgate::repo
